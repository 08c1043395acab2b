//! What a reply refers to: the notification it answers, named by a Message-ID or a reply key,
//! and the approver whose reply rejected a request. The lookups are read-only, so they work on a
//! journal opened with [`Journal::open_read_only`].

use rusqlite::{OptionalExtension, named_params};

use super::{Journal, JournalError, NOW, Notification, Reference};
use crate::journal::atomic;
use crate::model::bare_message_id;

impl Journal {
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
        let tx = atomic(&mut conn)?;
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
