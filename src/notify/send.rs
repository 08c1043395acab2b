//! Step 5 of a poll: the planned mails sent, oldest first, each recorded before and after; a
//! mail whose request no longer waits is dropped (follow-ups always go), and a deferral by the
//! SMTP server leaves the rest for the next poll.

use std::time::SystemTime;

use super::mail::{self, MailContext};
use super::{Notifier, NotifyError, PollReport, expired};
use crate::graph::RequestStatus;
use crate::journal::{Mail, MailKind, MailState, TrackedRequest};
use crate::reply::smtp::SendError;

impl Notifier {
    /// Step 5: sends the planned mails, oldest first, until one is deferred or `stop` says so.
    pub(super) async fn send_pending(
        &self,
        stop: &(dyn Fn() -> bool + Sync),
        report: &mut PollReport,
    ) -> Result<(), NotifyError> {
        let pending = self.j(|j| j.pending_mails()).await?;
        let total = pending.len();
        for (done, m) in pending.into_iter().enumerate() {
            if stop() {
                report.left += total - done;
                break;
            }
            if self.send_one(m, report).await? == Sent::Deferred {
                report.left += total - done;
                break;
            }
        }
        Ok(())
    }

    /// One planned mail: dropped when its request no longer waits (but for a follow-up),
    /// composed, sent, and its outcome recorded.
    async fn send_one(&self, m: Mail, report: &mut PollReport) -> Result<Sent, NotifyError> {
        let rid = m.request_id.clone();
        let tracked = self.j(move |j| j.tracked_request(&rid)).await?;
        let now = SystemTime::now();
        let request: RequestStatus = tracked
            .as_ref()
            .and_then(|t| serde_json::from_str(&t.details_json).ok())
            .unwrap_or_else(|| RequestStatus {
                id: m.request_id.clone(),
                ..RequestStatus::default()
            });
        let status = tracked
            .as_ref()
            .map(|t| t.status.clone())
            .unwrap_or_default();
        if let Some(why) = why_dropped(&m, tracked.as_ref(), &request, now) {
            tracing::info!(approval_request_id = %m.request_id, recipient = %m.recipient, kind = %m.kind, reason = %why, "notifier: mail dropped");
            self.j(move |j| j.finish_mail(m.id, MailState::Dropped, Some(&why)))
                .await?;
            crate::metrics::notifier_mail(m.kind.as_str(), "dropped");
            report.dropped += 1;
            return Ok(Sent::Done);
        }
        let rejected_by = if m.kind == MailKind::Followup {
            let rid = m.request_id.clone();
            self.j(move |j| j.rejected_by_reply(&rid)).await?
        } else {
            None
        };
        let ctx = MailContext::new(
            &m,
            &request,
            &status,
            rejected_by.as_deref(),
            &self.settings,
            now,
        );
        match mail::compose(&self.templates, &ctx, &self.settings, &m) {
            Ok(message) => self.deliver(m, &message, report).await,
            Err(e) => {
                let error = format!("could not compose the mail: {e}");
                tracing::warn!(approval_request_id = %m.request_id, recipient = %m.recipient, kind = %m.kind, %error, "notifier: mail undeliverable");
                self.j(move |j| j.finish_mail(m.id, MailState::Undeliverable, Some(&error)))
                    .await?;
                crate::metrics::notifier_mail(m.kind.as_str(), "undeliverable");
                report.undeliverable += 1;
                Ok(Sent::Done)
            }
        }
    }

    /// Sends one composed mail, the attempt recorded before and the outcome after.
    async fn deliver(
        &self,
        m: Mail,
        message: &lettre::Message,
        report: &mut PollReport,
    ) -> Result<Sent, NotifyError> {
        let attempt = self.j(move |j| j.begin_mail(m.id)).await?;
        match self.sender.send(message).await {
            Ok(()) => {
                self.j(move |j| j.finish_mail(m.id, MailState::Sent, None))
                    .await?;
                tracing::info!(
                    approval_request_id = %m.request_id,
                    recipient = %m.recipient,
                    kind = %m.kind,
                    message_id = %m.message_id,
                    attempt,
                    "notifier: mail sent"
                );
                crate::metrics::notifier_mail(m.kind.as_str(), "sent");
                report.sent += 1;
                Ok(Sent::Done)
            }
            Err(SendError::Permanent(e)) => {
                tracing::warn!(approval_request_id = %m.request_id, recipient = %m.recipient, kind = %m.kind, error = %e, "notifier: the SMTP server refused the mail for good");
                self.j(move |j| j.finish_mail(m.id, MailState::Undeliverable, Some(&e)))
                    .await?;
                crate::metrics::notifier_mail(m.kind.as_str(), "undeliverable");
                report.undeliverable += 1;
                Ok(Sent::Done)
            }
            Err(SendError::Transient(e) | SendError::Refused(e)) => {
                tracing::warn!(approval_request_id = %m.request_id, recipient = %m.recipient, kind = %m.kind, attempt, error = %e, "notifier: mail not sent; it is sent at a later poll");
                self.j(move |j| j.mail_error(m.id, &e)).await?;
                crate::metrics::notifier_mail(m.kind.as_str(), "deferred");
                Ok(Sent::Deferred)
            }
        }
    }
}

/// How one planned mail ended in this poll.
#[derive(Debug, PartialEq, Eq)]
enum Sent {
    /// Sent, dropped or undeliverable: the next one may go.
    Done,
    /// The SMTP server said not now: the rest wait for the next poll.
    Deferred,
}

/// Why a notification or reminder is not sent any more: its request is untracked, closed or
/// expired. Follow-ups are about closed requests, so they always go.
fn why_dropped(
    m: &Mail,
    tracked: Option<&TrackedRequest>,
    request: &RequestStatus,
    now: SystemTime,
) -> Option<String> {
    if m.kind == MailKind::Followup {
        return None;
    }
    match tracked {
        None => Some("the request is not tracked".to_string()),
        Some(t) if t.closed_at.is_some() => Some(format!("the request was {} first", t.status)),
        Some(_) if expired(request, now) => {
            Some("the request expired before this mail could go out".to_string())
        }
        Some(_) => None,
    }
}
