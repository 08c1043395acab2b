//! What a reply refers to: the notification it answers, named by a Message-ID or a reply key,
//! and the approver whose reply rejected a request. The lookups are read-only, so they work on a
//! journal opened with [`Journal::open_read_only`].

use rusqlite::OptionalExtension;

use super::{Journal, JournalError, Notification, Reference};
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
}
