//! The notifier's sending: the mails still to send, each attempt counted before it is made, and
//! how each mail ended (sent, undeliverable, dropped) or why an attempt failed.

use rusqlite::named_params;

use super::{Journal, JournalError, MAIL_COLUMNS, Mail, MailState, NOW, read_mail};

impl Journal {
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
}
