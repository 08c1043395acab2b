//! The notifier's part of the journal (SPEC §7; tables in `notify.sql`): the requests it has seen
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

use std::fmt;
use std::time::SystemTime;

use rusqlite::{OptionalExtension, named_params};

use super::{Journal, JournalError, NOW, Notification};
use crate::model::bare_message_id;

/// The kinds of mail the notifier sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MailKind {
    /// The announcement of a request waiting for approval.
    Notification,
    /// The request left `needsApproval`: what became of it.
    Followup,
    /// The request expires soon and the recipient has not answered.
    Reminder,
}

impl MailKind {
    pub const ALL: [MailKind; 3] = [
        MailKind::Notification,
        MailKind::Followup,
        MailKind::Reminder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Notification => "notification",
            MailKind::Followup => "followup",
            MailKind::Reminder => "reminder",
        }
    }

    pub fn parse(s: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The first part of the Message-ID's left side.
    fn id_prefix(self) -> &'static str {
        match self {
            MailKind::Notification => "notify",
            MailKind::Followup => "followup",
            MailKind::Reminder => "reminder",
        }
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Message-ID (without `<>`) of the mail of `kind` carrying `key`: `notify.KEY@domain`,
/// `followup.KEY@domain`, `reminder.KEY@domain`. Fixed by the key, so a resend is the same mail.
pub fn mail_message_id(kind: MailKind, key: &str, domain: &str) -> String {
    format!("{}.{key}@{domain}", kind.id_prefix())
}

/// Where a mail stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MailState {
    /// Planned (and maybe attempted): to be sent.
    Pending,
    Sent,
    /// The SMTP server refused it for good (5xx).
    Undeliverable,
    /// Not sent, never will be: the request was decided or expired first.
    Dropped,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Pending => "pending",
            MailState::Sent => "sent",
            MailState::Undeliverable => "undeliverable",
            MailState::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<MailState> {
        [
            MailState::Pending,
            MailState::Sent,
            MailState::Undeliverable,
            MailState::Dropped,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
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

fn read_tracked(r: &rusqlite::Row<'_>) -> rusqlite::Result<TrackedRequest> {
    Ok(TrackedRequest {
        request_id: r.get(0)?,
        status: r.get(1)?,
        details_json: r.get(2)?,
        expires_at: r.get(3)?,
        first_seen_at: r.get(4)?,
        closed_at: r.get(5)?,
    })
}

const TRACKED_COLUMNS: &str =
    "request_id, status, details_json, expires_at, first_seen_at, closed_at";

/// What a reply may carry to name a notification: a Message-ID (from `In-Reply-To` or
/// `References`) or a reply key (from a plus-address or the footer reference).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reference {
    MessageId(String),
    Key(String),
}

impl Journal {
    /// Starts tracking request `request_id`, seen in `needsApproval`, or refreshes what is known
    /// of it while it is open (writing only when something changed: every poll calls this for
    /// every waiting request). Returns true when it was not tracked before.
    pub fn track_open(
        &self,
        request_id: &str,
        details_json: &str,
        expires_at: Option<&str>,
    ) -> Result<bool, JournalError> {
        let conn = self.lock();
        let known: bool = conn
            .query_row(
                "SELECT 1 FROM notify_requests WHERE request_id = lower(?1)",
                [request_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        conn.execute(
            &format!(
                "INSERT INTO notify_requests
                     (request_id, status, details_json, expires_at, first_seen_at, updated_at)
                 VALUES (lower(:id), 'needsApproval', :details, :expires, {NOW}, {NOW})
                 ON CONFLICT (request_id) DO UPDATE
                     SET details_json = excluded.details_json,
                         expires_at = excluded.expires_at,
                         updated_at = excluded.updated_at
                     WHERE closed_at IS NULL
                       AND (details_json IS NOT excluded.details_json
                            OR expires_at IS NOT excluded.expires_at)"
            ),
            named_params! {":id": request_id, ":details": details_json, ":expires": expires_at},
        )?;
        Ok(!known)
    }

    /// The tracked request `request_id`, open or closed.
    pub fn tracked_request(
        &self,
        request_id: &str,
    ) -> Result<Option<TrackedRequest>, JournalError> {
        Ok(self
            .lock()
            .query_row(
                &format!(
                    "SELECT {TRACKED_COLUMNS} FROM notify_requests WHERE request_id = lower(?1)"
                ),
                [request_id],
                read_tracked,
            )
            .optional()?)
    }

    /// Every tracked request still open (not seen out of `needsApproval`), oldest first.
    pub fn open_requests(&self) -> Result<Vec<TrackedRequest>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {TRACKED_COLUMNS} FROM notify_requests WHERE closed_at IS NULL
             ORDER BY first_seen_at, request_id"
        ))?;
        let rows = stmt.query_map([], read_tracked)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Request `request_id` left `needsApproval` (now `status`; `details_json` what Graph says of
    /// it, when it said anything). In one transaction: the request is closed, its pending
    /// notifications and reminders are dropped, and with `followups` one follow-up is queued for
    /// every recipient whose notification went out, except one whose own reply rejected it (or
    /// is being turned into a rejection): their confirmation says it already. Closing a closed
    /// request changes nothing.
    pub fn close_request(
        &self,
        request_id: &str,
        status: &str,
        details_json: Option<&str>,
        followups: bool,
        domain: &str,
    ) -> Result<Closed, JournalError> {
        let mut conn = self.lock();
        let tx = super::atomic(&mut conn)?;
        let closed = tx.execute(
            &format!(
                "UPDATE notify_requests
                 SET status = :status, details_json = coalesce(:details, details_json),
                     closed_at = {NOW}, updated_at = {NOW}
                 WHERE request_id = lower(:id) AND closed_at IS NULL"
            ),
            named_params! {":id": request_id, ":status": status, ":details": details_json},
        )?;
        if closed == 0 {
            return Ok(Closed::default());
        }
        let dropped_reminders: i64 = tx.query_row(
            "SELECT count(*) FROM notify_mails
             WHERE request_id = lower(?1) AND state = 'pending' AND kind = 'reminder'",
            [request_id],
            |r| r.get(0),
        )?;
        let dropped_reminders = usize::try_from(dropped_reminders).unwrap_or(0);
        let dropped = tx.execute(
            &format!(
                "UPDATE notify_mails
                 SET state = 'dropped', done_at = {NOW},
                     last_error = 'the request was ' || :status || ' before this mail went out'
                 WHERE request_id = lower(:id) AND state = 'pending' AND kind <> 'followup'"
            ),
            named_params! {":id": request_id, ":status": status},
        )?;
        let mut queued = 0;
        if followups {
            let told: Vec<(String, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT n.reply_key, n.recipient FROM notify_mails n
                     WHERE n.request_id = lower(?1) AND n.kind = 'notification'
                       AND n.state = 'sent'
                       AND NOT EXISTS (
                           SELECT 1 FROM messages msg
                           WHERE msg.request_id = n.request_id AND msg.approver = n.recipient
                             AND msg.decision = 'reject'
                             AND (msg.graph_outcome IS NULL OR msg.graph_outcome = 'rejected'))
                     ORDER BY n.id",
                )?;
                stmt.query_map([request_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?
            };
            for (key, recipient) in told {
                queued += insert_mail(
                    &tx,
                    &key,
                    request_id,
                    &recipient,
                    MailKind::Followup,
                    domain,
                )?;
            }
        }
        tx.commit()?;
        Ok(Closed {
            closed: true,
            followups: queued,
            dropped,
            dropped_reminders,
        })
    }

    /// Queues the notification of request `request_id` for each of `recipients` that has none
    /// yet, giving a recipient without a reply key for this request the `fresh_key` offered.
    /// Only while the request is tracked and open ([`Journal::track_open`]). One transaction;
    /// returns how many were queued.
    pub fn plan_notifications(
        &self,
        request_id: &str,
        recipients: &[NewRecipient],
        domain: &str,
    ) -> Result<usize, JournalError> {
        let mut conn = self.lock();
        let tx = super::atomic(&mut conn)?;
        let open = tx
            .query_row(
                "SELECT 1 FROM notify_requests WHERE request_id = lower(?1) AND closed_at IS NULL",
                [request_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !open {
            return Ok(0);
        }
        let mut queued = 0;
        for r in recipients {
            tx.execute(
                &format!(
                    "INSERT INTO reply_keys (reply_key, request_id, recipient, recipient_name, created_at)
                     VALUES (lower(:key), lower(:id), lower(:to), :name, {NOW})
                     ON CONFLICT DO NOTHING"
                ),
                named_params! {
                    ":key": r.fresh_key, ":id": request_id, ":to": r.address, ":name": r.name,
                },
            )?;
            let key: String = tx.query_row(
                "SELECT reply_key FROM reply_keys WHERE request_id = lower(?1) AND recipient = lower(?2)",
                [request_id, r.address.as_str()],
                |row| row.get(0),
            )?;
            queued += insert_mail(
                &tx,
                &key,
                request_id,
                &r.address,
                MailKind::Notification,
                domain,
            )?;
        }
        tx.commit()?;
        Ok(queued)
    }

    /// Queues a reminder about request `request_id` for every recipient whose notification went
    /// out before `told_before` (a [`timestamp`]) and who has not answered it (no reply of theirs
    /// about this request was decided as a rejection or a refusal). Returns how many.
    pub fn plan_reminders(
        &self,
        request_id: &str,
        told_before: &str,
        domain: &str,
    ) -> Result<usize, JournalError> {
        let mut conn = self.lock();
        let tx = super::atomic(&mut conn)?;
        let due: Vec<(String, String)> = {
            let mut stmt = tx.prepare(
                "SELECT n.reply_key, n.recipient FROM notify_mails n
                 JOIN notify_requests q ON q.request_id = n.request_id AND q.closed_at IS NULL
                 WHERE n.request_id = lower(?1) AND n.kind = 'notification' AND n.state = 'sent'
                   AND n.done_at < ?2
                   AND NOT EXISTS (
                       SELECT 1 FROM messages msg
                       WHERE msg.request_id = n.request_id AND msg.approver = n.recipient
                         AND msg.decision IN ('reject', 'refuse'))
                 ORDER BY n.id",
            )?;
            stmt.query_map([request_id, told_before], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut queued = 0;
        for (key, recipient) in due {
            queued += insert_mail(
                &tx,
                &key,
                request_id,
                &recipient,
                MailKind::Reminder,
                domain,
            )?;
        }
        tx.commit()?;
        Ok(queued)
    }

    /// Every mail still to send, oldest first.
    pub fn pending_mails(&self) -> Result<Vec<Mail>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {MAIL_COLUMNS} FROM notify_mails m
             JOIN reply_keys k ON k.reply_key = m.reply_key
             WHERE m.state = 'pending' ORDER BY m.id"
        ))?;
        let rows = stmt.query_map([], read_mail)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every mail about request `request_id`, in the order they were planned.
    pub fn mails_for(&self, request_id: &str) -> Result<Vec<Mail>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {MAIL_COLUMNS} FROM notify_mails m
             JOIN reply_keys k ON k.reply_key = m.reply_key
             WHERE m.request_id = lower(?1) ORDER BY m.id"
        ))?;
        let rows = stmt.query_map([request_id], read_mail)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Counts an attempt to send mail `id` before it is made; returns the attempt's number.
    pub fn begin_mail(&self, id: i64) -> Result<u32, JournalError> {
        let conn = self.lock();
        let n = conn.execute(
            &format!(
                "UPDATE notify_mails SET attempts = attempts + 1, started_at = {NOW}
                 WHERE id = ?1 AND state = 'pending'"
            ),
            [id],
        )?;
        if n == 0 {
            return Err(JournalError::Corrupt(format!(
                "notifier mail {id} is not pending"
            )));
        }
        Ok(conn.query_row(
            "SELECT attempts FROM notify_mails WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?)
    }

    /// Mail `id` is done: `Sent`, `Undeliverable` (with the SMTP answer) or `Dropped` (with why).
    /// A mail that is done already stays as it is.
    pub fn finish_mail(
        &self,
        id: i64,
        state: MailState,
        note: Option<&str>,
    ) -> Result<(), JournalError> {
        if state == MailState::Pending {
            return Err(JournalError::Corrupt(
                "a mail cannot be finished as pending".into(),
            ));
        }
        self.lock().execute(
            &format!(
                "UPDATE notify_mails
                 SET state = :state, done_at = {NOW}, last_error = coalesce(:note, last_error)
                 WHERE id = :id AND state = 'pending'"
            ),
            named_params! {":id": id, ":state": state.as_str(), ":note": note},
        )?;
        Ok(())
    }

    /// A transient failure sending mail `id`: recorded; the mail stays pending.
    pub fn mail_error(&self, id: i64, error: &str) -> Result<(), JournalError> {
        self.lock().execute(
            "UPDATE notify_mails SET last_error = ?2 WHERE id = ?1",
            rusqlite::params![id, error],
        )?;
        Ok(())
    }

    /// The approver whose reply rejected request `request_id` through the bridge, if one did.
    pub fn rejected_by_reply(&self, request_id: &str) -> Result<Option<String>, JournalError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT approver FROM messages
                 WHERE request_id = lower(?1) AND graph_outcome = 'rejected'
                 ORDER BY id LIMIT 1",
                [request_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// The notification named by the first of `refs` that names one; with `sender`, one whose
    /// key was issued to `sender` (any case) is preferred to one issued to someone else.
    pub fn notification_named(
        &self,
        refs: &[Reference],
        sender: Option<&str>,
    ) -> Result<Option<Notification>, JournalError> {
        let conn = self.lock();
        let mut by_id = conn.prepare("SELECT reply_key FROM notify_mails WHERE message_id = ?1")?;
        let mut by_key = conn.prepare(
            "SELECT k.reply_key, k.request_id, k.recipient,
                    n.message_id, coalesce(n.done_at, n.created_at, k.created_at)
             FROM reply_keys k
             LEFT JOIN notify_mails n ON n.reply_key = k.reply_key AND n.kind = 'notification'
             WHERE k.reply_key = ?1",
        )?;
        let mut first: Option<Notification> = None;
        for r in refs {
            let key = match r {
                Reference::Key(k) => Some(k.to_lowercase()),
                Reference::MessageId(id) => by_id
                    .query_row([bare_message_id(id)], |row| row.get::<_, String>(0))
                    .optional()?,
            };
            let Some(key) = key else { continue };
            let found = by_key
                .query_row([&key], |row| {
                    Ok(Notification {
                        reply_key: row.get(0)?,
                        request_id: row.get(1)?,
                        recipient: row.get(2)?,
                        message_id: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        sent_at: row.get(4)?,
                    })
                })
                .optional()?;
            let Some(n) = found else { continue };
            match sender {
                Some(s) if n.recipient.eq_ignore_ascii_case(s) => return Ok(Some(n)),
                Some(_) => {
                    first.get_or_insert(n);
                }
                None => return Ok(Some(n)),
            }
        }
        Ok(first)
    }

    /// The first of `message_ids` (a reply's In-Reply-To then References, with or without `<>`)
    /// that names a mail of the notifier; with `sender`, only one sent to that address.
    pub fn notification_for(
        &self,
        message_ids: &[&str],
        sender: Option<&str>,
    ) -> Result<Option<Notification>, JournalError> {
        let refs: Vec<Reference> = message_ids
            .iter()
            .map(|id| Reference::MessageId(id.to_string()))
            .collect();
        Ok(self
            .notification_named(&refs, sender)?
            .filter(|n| sender.is_none_or(|s| n.recipient.eq_ignore_ascii_case(s))))
    }

    /// Records a notification sent with Message-ID `message_id` about `request_id` to
    /// `recipient` by something other than this notifier (or imported from an older journal),
    /// so replies to it are recognised. Returns false (and changes nothing) when that
    /// Message-ID is already recorded.
    pub fn record_notification(
        &self,
        message_id: &str,
        request_id: &str,
        recipient: &str,
    ) -> Result<bool, JournalError> {
        let mid = bare_message_id(message_id);
        let mut conn = self.lock();
        let tx = super::atomic(&mut conn)?;
        let known = tx
            .query_row(
                "SELECT 1 FROM notify_mails WHERE message_id = ?1",
                [&mid],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if known {
            return Ok(false);
        }
        let key = format!("ext.{mid}");
        tx.execute(
            &format!(
                "INSERT INTO reply_keys (reply_key, request_id, recipient, created_at)
                 VALUES (lower(:key), lower(:id), lower(:to), {NOW})"
            ),
            named_params! {":key": key, ":id": request_id, ":to": recipient},
        )?;
        let n = tx.execute(
            &format!(
                "INSERT INTO notify_mails (reply_key, request_id, recipient, kind, message_id,
                                           state, created_at, done_at)
                 VALUES (lower(:key), lower(:id), lower(:to), 'notification', :mid, 'sent',
                         {NOW}, {NOW})
                 ON CONFLICT DO NOTHING"
            ),
            named_params! {":key": key, ":id": request_id, ":to": recipient, ":mid": mid},
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Whether a notification about `request_id` went out to `recipient`.
    pub fn notified(&self, request_id: &str, recipient: &str) -> Result<bool, JournalError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT 1 FROM notify_mails
                 WHERE request_id = lower(?1) AND recipient = lower(?2)
                   AND kind = 'notification' AND state = 'sent' LIMIT 1",
                [request_id, recipient],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

/// Queues the mail of `kind` for `recipient` under `key` unless they have one of that kind.
fn insert_mail(
    tx: &rusqlite::Connection,
    key: &str,
    request_id: &str,
    recipient: &str,
    kind: MailKind,
    domain: &str,
) -> Result<usize, JournalError> {
    Ok(tx.execute(
        &format!(
            "INSERT INTO notify_mails (reply_key, request_id, recipient, kind, message_id, created_at)
             VALUES (:key, lower(:id), lower(:to), :kind, :mid, {NOW})
             ON CONFLICT DO NOTHING"
        ),
        named_params! {
            ":key": key,
            ":id": request_id,
            ":to": recipient,
            ":kind": kind.as_str(),
            ":mid": mail_message_id(kind, key, domain),
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Decided, GraphOutcome, MsgKey, Verdict};

    const R: &str = "0F8E6C1A-1B2C-4D5E-8F90-A1B2C3D4E5F6";
    const D: &str = "bridge.test";

    fn rcpt(address: &str, key: &str) -> NewRecipient {
        NewRecipient {
            address: address.into(),
            name: Some(address.split('@').next().unwrap().into()),
            fresh_key: key.into(),
        }
    }

    /// A journal tracking request R, with a notification planned for each of `who` (first
    /// names at example.test; each key is the name's first letter four times).
    fn planned(who: &[&str]) -> Journal {
        let j = Journal::open_in_memory().unwrap();
        j.track_open(R, "{}", None).unwrap();
        let recipients: Vec<NewRecipient> = who
            .iter()
            .map(|n| rcpt(&format!("{n}@example.test"), &n[..1].repeat(4)))
            .collect();
        j.plan_notifications(R, &recipients, D).unwrap();
        j
    }

    fn send_all(j: &Journal) -> Vec<Mail> {
        let pending = j.pending_mails().unwrap();
        for m in &pending {
            j.begin_mail(m.id).unwrap();
            j.finish_mail(m.id, MailState::Sent, None).unwrap();
        }
        pending
    }

    fn answer(j: &Journal, uid: u32, from: &str, verdict: Verdict, outcome: Option<GraphOutcome>) {
        let k = MsgKey::new("INBOX", 1, uid);
        j.receive(&k, None).unwrap();
        j.record_decision(
            &k,
            &Decided {
                verdict,
                reason: "ok".into(),
                request_id: Some(R.to_lowercase()),
                approver: Some(from.into()),
                justification: None,
                graph_justification: Some("x".into()),
                truncated: false,
                subject: None,
                references: Vec::new(),
            },
        )
        .unwrap();
        if let Some(o) = outcome {
            j.begin_graph(&k).unwrap();
            j.record_graph(&k, &o).unwrap();
        }
    }

    #[test]
    fn planning_is_idempotent_and_keys_are_per_request_and_recipient() {
        let j = Journal::open_in_memory().unwrap();
        assert!(
            j.track_open(R, "{}", Some("2030-01-01T00:00:00.000Z"))
                .unwrap()
        );
        assert!(!j.track_open(R, "{\"x\":1}", None).unwrap());
        let updated = j.tracked_request(R).unwrap().unwrap();
        assert_eq!(updated.expires_at, None);
        assert!(!j.track_open(R, "{\"x\":1}", None).unwrap());
        assert_eq!(j.lock().changes(), 0, "unchanged: nothing written");
        let both = [
            rcpt("Ann@example.test", "aaaa"),
            rcpt("bob@example.test", "bbbb"),
        ];
        assert_eq!(j.plan_notifications(R, &both, D).unwrap(), 2);
        // Again, with other fresh keys offered: nothing new, the first keys stay.
        let again = [
            rcpt("ann@example.test", "cccc"),
            rcpt("bob@example.test", "dddd"),
        ];
        assert_eq!(j.plan_notifications(R, &again, D).unwrap(), 0);
        let mails = j.pending_mails().unwrap();
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[0].recipient, "ann@example.test");
        assert_eq!(mails[0].reply_key, "aaaa");
        assert_eq!(mails[0].message_id, "notify.aaaa@bridge.test");
        assert_eq!(mails[0].request_id, R.to_lowercase());
        assert_eq!(mails[0].recipient_name.as_deref(), Some("Ann"));
        assert_eq!(mails[0].notification_message_id, None);
        assert_eq!(
            j.tracked_request(R).unwrap().unwrap().details_json,
            "{\"x\":1}"
        );
    }

    #[test]
    fn attempts_are_counted_before_sending_and_finished_mails_stay_finished() {
        let j = planned(&["ann"]);
        let m = j.pending_mails().unwrap().remove(0);
        assert_eq!(j.begin_mail(m.id).unwrap(), 1);
        j.mail_error(m.id, "451 try later").unwrap();
        // A crash here: the mail is still pending, with its Message-ID.
        let again = j.pending_mails().unwrap().remove(0);
        assert_eq!(again.message_id, m.message_id);
        assert_eq!(again.attempts, 1);
        assert_eq!(again.last_error.as_deref(), Some("451 try later"));
        assert_eq!(j.begin_mail(m.id).unwrap(), 2);
        j.finish_mail(m.id, MailState::Sent, None).unwrap();
        j.finish_mail(m.id, MailState::Dropped, Some("late"))
            .unwrap();
        let done = j.mails_for(R).unwrap().remove(0);
        assert_eq!(done.state, MailState::Sent);
        assert!(
            j.begin_mail(m.id).is_err(),
            "a sent mail is not attempted again"
        );
        assert!(j.notified(R, "ANN@example.test").unwrap());
    }

    #[test]
    fn closing_drops_what_is_pending_and_follows_up_those_told_once() {
        let j = planned(&["ann", "bob", "cy"]);
        // Ann and Bob were told; Cy's notification is still pending.
        for m in j.pending_mails().unwrap().into_iter().take(2) {
            j.begin_mail(m.id).unwrap();
            j.finish_mail(m.id, MailState::Sent, None).unwrap();
        }
        // Ann rejected it by replying.
        answer(
            &j,
            1,
            "ann@example.test",
            Verdict::Reject,
            Some(GraphOutcome::Rejected),
        );
        assert_eq!(
            j.rejected_by_reply(R).unwrap().as_deref(),
            Some("ann@example.test")
        );
        let c = j
            .close_request(R, "rejected", Some("{\"status\":\"rejected\"}"), true, D)
            .unwrap();
        assert_eq!(
            c,
            Closed {
                closed: true,
                followups: 1,
                dropped: 1,
                dropped_reminders: 0,
            }
        );
        let pending = j.pending_mails().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].recipient, "bob@example.test");
        assert_eq!(pending[0].kind, MailKind::Followup);
        assert_eq!(pending[0].message_id, "followup.bbbb@bridge.test");
        assert_eq!(
            pending[0].notification_message_id.as_deref(),
            Some("notify.bbbb@bridge.test")
        );
        let cy = j
            .mails_for(R)
            .unwrap()
            .into_iter()
            .find(|m| m.recipient == "cy@example.test")
            .unwrap();
        assert_eq!(cy.state, MailState::Dropped);
        assert!(cy.last_error.unwrap().contains("rejected"));
        // Closing again, or listing it open again, changes nothing.
        assert_eq!(
            j.close_request(R, "rejected", None, true, D).unwrap(),
            Closed::default()
        );
        j.track_open(R, "{\"late\":1}", None).unwrap();
        let t = j.tracked_request(R).unwrap().unwrap();
        assert!(t.closed_at.is_some());
        assert_eq!(t.status, "rejected");
        assert!(j.open_requests().unwrap().is_empty());
        // A closed request is announced to nobody new.
        assert_eq!(
            j.plan_notifications(R, &[rcpt("dee@example.test", "dddd")], D)
                .unwrap(),
            0
        );
        assert_eq!(
            j.plan_notifications("untracked", &[rcpt("dee@example.test", "eeee")], D)
                .unwrap(),
            0
        );
    }

    #[test]
    fn no_followups_when_turned_off() {
        let j = planned(&["ann"]);
        send_all(&j);
        let c = j.close_request(R, "approved", None, false, D).unwrap();
        assert!(c.closed);
        assert_eq!(c.followups, 0);
        assert!(j.pending_mails().unwrap().is_empty());
    }

    #[test]
    fn reminders_go_to_those_told_in_time_who_have_not_answered() {
        let j = planned(&["ann", "bob", "cy"]);
        send_all(&j);
        // Bob answered (his reply was refused as an approval): he is not reminded.
        answer(&j, 1, "bob@example.test", Verdict::Refuse, None);
        let later = timestamp(SystemTime::now() + std::time::Duration::from_secs(60));
        let earlier = timestamp(SystemTime::now() - std::time::Duration::from_secs(3600));
        assert_eq!(
            j.plan_reminders(R, &earlier, D).unwrap(),
            0,
            "told too late"
        );
        assert_eq!(j.plan_reminders(R, &later, D).unwrap(), 2);
        assert_eq!(j.plan_reminders(R, &later, D).unwrap(), 0, "once");
        let to: Vec<String> = j
            .pending_mails()
            .unwrap()
            .into_iter()
            .map(|m| m.recipient)
            .collect();
        assert_eq!(to, ["ann@example.test", "cy@example.test"]);
        j.close_request(R, "expired", None, false, D).unwrap();
        assert!(
            j.pending_mails().unwrap().is_empty(),
            "reminders dropped on close"
        );
    }

    #[test]
    fn references_resolve_by_message_id_or_key_preferring_the_sender() {
        let j = planned(&["ann", "bob"]);
        send_all(&j);
        j.close_request(R, "approved", None, true, D).unwrap();
        let refs = [
            Reference::MessageId("<nobody@x.test>".into()),
            Reference::MessageId("<followup.aaaa@bridge.test>".into()),
            Reference::Key("BBBB".into()),
        ];
        let any = j.notification_named(&refs, None).unwrap().unwrap();
        assert_eq!(any.recipient, "ann@example.test", "the first named");
        assert_eq!(any.message_id, "notify.aaaa@bridge.test");
        assert_eq!(any.reply_key, "aaaa");
        let bob = j
            .notification_named(&refs, Some("Bob@Example.test"))
            .unwrap()
            .unwrap();
        assert_eq!(
            bob.recipient, "bob@example.test",
            "the sender's own key wins"
        );
        let other = j
            .notification_named(&refs, Some("cy@example.test"))
            .unwrap()
            .unwrap();
        assert_eq!(other.recipient, "ann@example.test", "else the first named");
        assert!(
            j.notification_named(&[Reference::Key("zzzz".into())], None)
                .unwrap()
                .is_none()
        );
        assert!(
            j.notification_for(&["followup.aaaa@bridge.test"], Some("cy@example.test"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn version_one_notifications_survive_the_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            tx.execute_batch(super::super::MIGRATIONS[0]).unwrap();
            tx.pragma_update(None, "user_version", 1).unwrap();
            tx.execute(
                "INSERT INTO notifications VALUES ('n1@b.test', ?1, 'ann@example.test', '2026-01-01T00:00:00.000Z')",
                [R.to_lowercase()],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let j = Journal::open(&path).unwrap();
        assert!(j.notified(R, "ann@example.test").unwrap());
        let n = j.notification_for(&["<n1@b.test>"], None).unwrap().unwrap();
        assert_eq!(n.request_id, R.to_lowercase());
    }

    #[test]
    fn timestamps_sort_like_sqlite_clock() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_709_210_096_789);
        assert_eq!(timestamp(t), "2024-02-29T12:34:56.789Z");
        let j = Journal::open_in_memory().unwrap();
        let sqlite_now: String = j
            .lock()
            .query_row(&format!("SELECT {NOW}"), [], |r| r.get(0))
            .unwrap();
        let before = timestamp(SystemTime::now() - std::time::Duration::from_secs(2));
        let after = timestamp(SystemTime::now() + std::time::Duration::from_secs(2));
        assert!(
            before < sqlite_now && sqlite_now < after,
            "{before} {sqlite_now} {after}"
        );
    }
}
