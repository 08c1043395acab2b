//! The notifier's part of the journal (SPEC §7; tables in `v3_notify.sql`): the requests it has seen
//! waiting, one reply key per (request, recipient), and every mail it sends, at most one per
//! (request, recipient, kind).
//!
//! The same rule as for messages: the intent is recorded before the side effect. A mail row,
//! with the Message-ID it will carry, is written (`pending`) before its first send attempt
//! ([`Journal::plan_notifications`], [`Journal::close_request`], [`Journal::plan_reminders`]),
//! each attempt is counted first ([`Journal::begin_mail`]), and only then does the mail go out;
//! a `pending` row after a crash is sent again with the same Message-ID, so a crash inside the
//! send costs at most one duplicate that the recipient's client shows as the same message. The
//! `UNIQUE (request_id, recipient, kind)` constraint makes every planning step idempotent, so
//! a poll repeated after a crash plans nothing twice.
//!
//! Lookups for the decision (which notification a reply answers) are read-only and work on a
//! journal opened with [`Journal::open_read_only`] (`parse`, `run --dry-run`).
//!
//! Here: the notifier's data as the rest of the bridge sees it (kinds and states of mail, a
//! tracked request, a mail, a reference a reply may carry). `plan`: tracking requests and
//! queueing their notifications, reminders and follow-ups; `send`: the mails to send and each
//! attempt's outcome; `replies`: which notification a reply answers, and whose reply rejected a
//! request.

use std::time::SystemTime;

use super::{Journal, JournalError, NOW};

mod plan;
mod replies;
mod send;

#[cfg(test)]
mod tests;

crate::model::names! {
    /// The kinds of mail the notifier sends.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum MailKind {
        /// The announcement of a request waiting for approval.
        Notification = "notification",
        /// The request left `needsApproval`: what became of it.
        Followup = "followup",
        /// The request expires soon and the recipient has not answered.
        Reminder = "reminder",
    }
}

impl MailKind {
    /// The first part of the Message-ID's left side.
    fn id_prefix(self) -> &'static str {
        match self {
            MailKind::Notification => "notify",
            MailKind::Followup => "followup",
            MailKind::Reminder => "reminder",
        }
    }
}

/// The Message-ID (without `<>`) of the mail of `kind` carrying `key`: `notify.KEY@domain`,
/// `followup.KEY@domain`, `reminder.KEY@domain`. Fixed by the key, so a resend is the same mail.
pub fn mail_message_id(kind: MailKind, key: &str, domain: &str) -> String {
    format!("{}.{key}@{domain}", kind.id_prefix())
}

crate::model::names! {
    /// Where a mail stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum MailState {
        /// Planned (and maybe attempted): to be sent.
        Pending = "pending",
        Sent = "sent",
        /// The SMTP server refused it for good (5xx).
        Undeliverable = "undeliverable",
        /// Not sent, never will be: the request was decided or expired first.
        Dropped = "dropped",
    }
}

/// A request the notifier has seen waiting for approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedRequest {
    /// Lower-cased.
    pub request_id: String,
    /// The status last seen.
    pub status: String,
    /// The request as last listed (JSON), for the mails.
    pub details_json: String,
    /// `expirationDateTime` in the journal's timestamp form ([`timestamp`]).
    pub expires_at: Option<String>,
    pub first_seen_at: String,
    /// Set when it was seen out of `needsApproval`.
    pub closed_at: Option<String>,
}

/// A recipient to announce a request to, with a fresh key used only if they have none yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecipient {
    /// Lower-cased address.
    pub address: String,
    pub name: Option<String>,
    pub fresh_key: String,
}

/// One mail of the notifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub id: i64,
    pub reply_key: String,
    pub request_id: String,
    pub recipient: String,
    pub recipient_name: Option<String>,
    pub kind: MailKind,
    /// Without `<>`.
    pub message_id: String,
    pub state: MailState,
    pub attempts: u32,
    pub created_at: String,
    pub done_at: Option<String>,
    pub last_error: Option<String>,
    /// The Message-ID of the notification this mail follows up (threading); `None` for the
    /// notification itself.
    pub notification_message_id: Option<String>,
}

/// What [`Journal::close_request`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Closed {
    /// The request was open until now (false: it was closed already; nothing changed).
    pub closed: bool,
    /// Follow-ups queued.
    pub followups: usize,
    /// Pending notifications and reminders dropped (all of them).
    pub dropped: usize,
    /// Of those, reminders.
    pub dropped_reminders: usize,
}

/// `t` in the journal's timestamp form (ISO 8601 UTC with milliseconds, as SQLite's `NOW`
/// writes), so stored times compare as text.
pub fn timestamp(t: SystemTime) -> String {
    let ms = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i128,
        Err(e) => -(e.duration().as_millis() as i128),
    };
    let nanos = ms * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(dt) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            dt.month() as u8,
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

/// What a reply may carry to name a notification: a Message-ID (from `In-Reply-To` or
/// `References`) or a reply key (from a plus-address or the footer reference).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reference {
    MessageId(String),
    Key(String),
}

/// A notification the bridge sent (SPEC §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The reply key of its (request, recipient).
    pub reply_key: String,
    /// The notification's Message-ID, without `<>`.
    pub message_id: String,
    pub request_id: String,
    pub recipient: String,
    pub sent_at: String,
}

const MAIL_COLUMNS: &str = "m.id, m.reply_key, m.request_id, m.recipient, k.recipient_name, m.kind,
     m.message_id, m.state, m.attempts, m.created_at, m.done_at, m.last_error,
     (SELECT n.message_id FROM notify_mails n
       WHERE n.reply_key = m.reply_key AND n.kind = 'notification' AND m.kind <> 'notification')";

fn read_mail(r: &rusqlite::Row<'_>) -> rusqlite::Result<Mail> {
    let kind: String = r.get(5)?;
    let state: String = r.get(7)?;
    Ok(Mail {
        id: r.get(0)?,
        reply_key: r.get(1)?,
        request_id: r.get(2)?,
        recipient: r.get(3)?,
        recipient_name: r.get(4)?,
        kind: MailKind::parse(&kind)
            .ok_or_else(|| super::row::corrupt(format!("kind {kind:?}")))?,
        message_id: r.get(6)?,
        state: MailState::parse(&state)
            .ok_or_else(|| super::row::corrupt(format!("mail state {state:?}")))?,
        attempts: r.get(8)?,
        created_at: r.get(9)?,
        done_at: r.get(10)?,
        last_error: r.get(11)?,
        notification_message_id: r.get(12)?,
    })
}
