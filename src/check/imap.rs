//! The `imap` line: DNS, connect, TLS, login (password or XOAUTH2), `imap.mailbox` exists, which
//! filing folders exist and which the service would create, IDLE / MOVE / UIDPLUS. Changes
//! nothing (EXAMINE, LIST).

use super::graph::mail_token;
use super::{network_cause, resolve, tls_label, yes_no};
use crate::config::{Config, MailAuth};
use crate::graph::GraphClient;
use crate::imap::{ImapError, ImapSession, Login};

pub(super) async fn check_imap(
    config: &Config,
    graph: Option<&GraphClient>,
) -> Result<String, String> {
    let imap = &config.imap;
    resolve(&imap.host, imap.port, "imap.host").await?;
    let (token, method) = match imap.auth {
        MailAuth::Password => (None, "password"),
        MailAuth::Xoauth2 => (Some(mail_token(graph, &imap.oauth_scope).await?), "XOAUTH2"),
    };
    let login = match &token {
        Some(token) => Login::Xoauth2 { token },
        None => Login::Password(&imap.password),
    };
    let mut mb = ImapSession::connect_with(imap, login)
        .await
        .map_err(|e| imap_words(config, &e))?;
    let result = imap_details(config, &mut mb).await;
    mb.logout().await;
    let details = result.map_err(|e| imap_words(config, &e))??;
    Ok(format!(
        "connected to {}:{} ({}), logged in as {} ({method}), {details}",
        imap.host,
        imap.port,
        tls_label(imap.tls),
        imap.username
    ))
}

/// After login: the mailbox, the folders, the capabilities. The inner `Err` is a finding (the
/// mailbox is missing), the outer one a protocol failure.
async fn imap_details(
    config: &Config,
    mb: &mut ImapSession,
) -> Result<Result<String, String>, ImapError> {
    let imap = &config.imap;
    let Some(count) = mb.examine(&imap.mailbox).await? else {
        return Ok(Err(format!(
            "logged in as {}, but the mailbox {:?} does not exist (check imap.mailbox)",
            imap.username, imap.mailbox
        )));
    };
    let folders = [
        imap.processed_mailbox.as_str(),
        imap.ignored_mailbox.as_str(),
        imap.failed_mailbox.as_str(),
    ];
    let missing = mb.missing_folders(&folders).await?;
    let folders_text = if missing.is_empty() {
        format!("folders {} exist", folders.join(", "))
    } else {
        let present: Vec<&str> = folders
            .iter()
            .copied()
            .filter(|f| !missing.iter().any(|m| m == f))
            .collect();
        let mut t = String::new();
        if !present.is_empty() {
            t.push_str(&format!("folders {} exist, ", present.join(", ")));
        }
        t.push_str(&format!(
            "{} would be created at the first run",
            missing.join(", ")
        ));
        t
    };
    let caps = mb.capabilities();
    let idle = if caps.idle {
        "yes".to_string()
    } else {
        format!(
            "no (the service polls every {}s)",
            imap.poll_interval.as_secs()
        )
    };
    Ok(Ok(format!(
        "mailbox {} holds {count} message(s), {folders_text}, IDLE {idle}, MOVE {}, UIDPLUS {}",
        imap.mailbox,
        yes_no(caps.move_),
        yes_no(caps.uidplus),
    )))
}

fn imap_words(config: &Config, e: &ImapError) -> String {
    let imap = &config.imap;
    let (host, port) = (imap.host.as_str(), imap.port);
    match e {
        ImapError::Connect { reason, .. } => network_cause(reason, host, port)
            .unwrap_or_else(|| format!("cannot connect to {host}:{port}: {reason}")),
        ImapError::Tls(t) => t.to_string(),
        ImapError::Auth { user, reason } => match (imap.auth, server_text(reason)) {
            (MailAuth::Password, said) => format!(
                "wrong password: login as {user} refused (check imap.username and imap.password; the server said: {said})"
            ),
            (MailAuth::Xoauth2, said) => format!(
                "login as {user} with an OAuth token refused (check that the app has IMAP.AccessAsApp, its service principal is registered in Exchange and has Add-MailboxPermission on {user}, and imap.oauth_scope; the server said: {said})"
            ),
        },
        ImapError::Timeout { step, after } => match *step {
            "connect" => format!(
                "timeout: no connection to {host}:{port} after {}s (host unreachable, or a firewall drops the packets?)",
                after.as_secs()
            ),
            "greeting" | "TLS handshake" | "STARTTLS" => format!(
                "timeout: {host}:{port} accepted the connection but did not answer during {step} after {}s (check imap.port and imap.tls)",
                after.as_secs()
            ),
            _ => format!("timeout: {step} took more than {}s", after.as_secs()),
        },
        ImapError::Connection { step, reason } => network_cause(reason, host, port)
            .unwrap_or_else(|| format!("connection lost during {step}: {reason}")),
        other => other.to_string(),
    }
}

/// The server's own words from an async-imap NO/BAD text (`code: None, info: Some("…")`).
pub(super) fn server_text(reason: &str) -> &str {
    reason
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map(|(inner, _)| inner)
        .unwrap_or(reason)
}
