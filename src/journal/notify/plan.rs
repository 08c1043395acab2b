//! The notifier's planning (SPEC §7): requests tracked while they wait for approval and closed
//! when they leave `needsApproval`, and the mails queued for them: a notification per recipient,
//! a reminder before expiry for those who have not answered, a follow-up once it is decided.
//! Each mail is a `pending` row with its Message-ID before any attempt to send it; the
//! `UNIQUE (request_id, recipient, kind)` constraint makes every step idempotent.

use rusqlite::{OptionalExtension, named_params};

use super::{
    Closed, Journal, JournalError, MailKind, NOW, NewRecipient, TrackedRequest, mail_message_id,
};
use crate::journal::atomic;

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
        let tx = atomic(&mut conn)?;
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
        let tx = atomic(&mut conn)?;
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
    /// out before `told_before` (a [`timestamp`](super::timestamp)) and who has not answered it (no reply of theirs
    /// about this request was decided as a rejection or a refusal). Returns how many.
    pub fn plan_reminders(
        &self,
        request_id: &str,
        told_before: &str,
        domain: &str,
    ) -> Result<usize, JournalError> {
        let mut conn = self.lock();
        let tx = atomic(&mut conn)?;
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
