//! Mail to the ops team (`[alerts] to`) when the service needs a person: today, a lost
//! delegated sign-in (SPEC §4). One mail per kind per day while the cause lasts, counted in the
//! journal so a restart does not mail again; the cause's end (`login`) clears it.
//!
//! The mail says what happened, what waits, and the exact command that fixes it. It carries
//! `Auto-Submitted: auto-generated`, so no well-behaved system answers it. Without `[alerts] to`
//! the same words go to the log only.

use std::sync::Arc;

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};

use crate::config::Config;
use crate::journal::Journal;
use crate::reply::smtp::{SendError, Sender};

/// At most one mail per alert kind in this period while its cause lasts.
pub const ALERT_PERIOD_SECS: u64 = 24 * 3600;

/// One alert: its kind (the journal's key), a subject and a body in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
}

/// The alert of a lost sign-in: what happened, what waits, the command that fixes it.
pub fn signin_lost(config: &Config, reason: &str, waiting: u64) -> Alert {
    let command = crate::graph::signin::login_command(config);
    Alert {
        kind: crate::graph::signin::ALERT_SIGNIN_LOST,
        subject: "reject-bridge: the Graph sign-in is lost; rejections wait".into(),
        body: format!(
            "reject-bridge cannot make decisions in Intune: the delegated sign-in {reason}.\n\n\
             Replies that reject a request wait in the mailbox, unanswered and unfiled \
             ({waiting} waiting now); nothing is lost.\n\n\
             To fix it, sign the service account in again on the bridge's host:\n\n    {command}\n\n\
             and complete the sign-in in a browser. The waiting replies then go on by themselves, \
             each checking the request's status first.\n\n\
             This mail is sent at most once a day while the sign-in stays lost.\n"
        ),
    }
}

/// Raises `alert` in the journal and mails it to `[alerts] to` when one is due. Errors are
/// logged, never returned: an alert must not stop the work it reports on.
pub async fn raise(config: &Config, journal: &Arc<Journal>, sender: &Sender, alert: Alert) {
    // Several messages in flight may raise the same alert at once: one of them mails it (the
    // journal says "due" until the mail is recorded as sent).
    let Some(_sending) = Sending::claim(alert.kind) else {
        return;
    };
    let (kind, detail) = (alert.kind, alert.body.clone());
    let due = journal
        .call(move |j| j.raise_alert(kind, &detail, ALERT_PERIOD_SECS))
        .await;
    match due {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, kind = alert.kind, "cannot record an alert");
            return;
        }
    }
    tracing::error!(kind = alert.kind, subject = %alert.subject, "alert: {}", alert.body.lines().next().unwrap_or(""));
    if config.alerts.to.is_empty() {
        tracing::warn!(
            kind = alert.kind,
            "no [alerts] to configured: this alert goes to the log only"
        );
        let _ = journal.call(move |j| j.alert_sent(kind)).await;
        return;
    }
    let msg = match compose(config, &alert) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "cannot compose the alert mail");
            return;
        }
    };
    match sender.send(&msg).await {
        Ok(()) => {
            tracing::info!(kind = alert.kind, to = ?config.alerts.to, "alert mailed");
            let _ = journal.call(move |j| j.alert_sent(kind)).await;
        }
        Err(SendError::Transient(e) | SendError::Permanent(e) | SendError::Refused(e)) => {
            // Not recorded as sent: the next occurrence tries again.
            tracing::warn!(kind = alert.kind, error = %e, "the alert mail was not sent");
        }
    }
}

/// An alert kind being raised in this process; released when dropped.
struct Sending(&'static str);

static SENDING: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

impl Sending {
    fn claim(kind: &'static str) -> Option<Sending> {
        let mut sending = SENDING.lock().unwrap_or_else(|e| e.into_inner());
        if sending.contains(&kind) {
            return None;
        }
        sending.push(kind);
        Some(Sending(kind))
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        SENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k| *k != self.0);
    }
}

fn compose(config: &Config, alert: &Alert) -> Result<Message, String> {
    let domain = crate::config::message_id_domain(&config.smtp.from);
    let mut builder = Message::builder()
        .from(config.smtp.from.clone())
        .subject(alert.subject.clone())
        .message_id(Some(format!("<alert-{}@{domain}>", uuid::Uuid::new_v4())))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .header(ContentType::TEXT_PLAIN);
    for to in &config.alerts.to {
        builder = builder.to(to.parse().map_err(|e| format!("alerts.to {to}: {e}"))?);
    }
    builder.body(alert.body.clone()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signin_alert_says_what_waits_and_the_exact_command() {
        let text = "[imap]\nhost = \"127.0.0.1\"\nusername = \"b@x.test\"\n[smtp]\nhost = \"127.0.0.1\"\nfrom = \"Bridge <b@x.test>\"\n[graph]\ntenant_id = \"t\"\nclient_id = \"c\"\nauth = \"delegated\"\n[approvers]\nallowed = [\"@x.test\"]\nrequire_authentication = false\n[alerts]\nto = [\"Ops@X.test\"]\n";
        let config = Config::from_parts(
            std::path::Path::new("/etc/rb/config.toml"),
            text,
            std::path::Path::new("/etc/rb"),
            [],
        )
        .unwrap();
        let a = signin_lost(
            &config,
            "of svc@x.test was refused by Entra ID: invalid_grant",
            3,
        );
        assert!(
            a.body
                .contains("reject-bridge login --config /etc/rb/config.toml")
        );
        assert!(a.body.contains("3 waiting"));
        assert!(a.body.contains("invalid_grant"));
        let msg = String::from_utf8(compose(&config, &a).unwrap().formatted()).unwrap();
        assert!(msg.contains("To: ops@x.test"), "{msg}");
        assert!(msg.contains("Auto-Submitted: auto-generated"));
    }
}
