//! How often work on a message failed, and when to stop: reading attempts counted before the
//! reading starts (a reading that takes the process down still counts), the last error of any
//! step, and the give-up mark that sends a message to the failed folder. [`Row::failures`] reads
//! the count back; `imap.poison_attempts` is its limit.
//!
//! [`Row::failures`]: super::Row::failures

use rusqlite::named_params;

use super::row::get_row;
use super::transitions::update;
use super::{Journal, JournalError, NOW};
use crate::model::{MsgKey, State, Step};

impl Journal {
    /// Records a failure of `step` (the state does not change). `permanent`: no retry will help,
    /// the row is marked [`Row::gave_up`] (it stays so). `Step::Fetch` and `Step::Panic` failures
    /// also count as fetch attempts; the other steps count theirs in `begin_*`. `error` must hold
    /// no secret.
    ///
    /// [`Row::gave_up`]: super::Row::gave_up
    pub fn record_error(
        &self,
        key: &MsgKey,
        step: Step,
        error: &str,
        permanent: bool,
    ) -> Result<(), JournalError> {
        let fetch = if matches!(step, Step::Fetch | Step::Panic) {
            1
        } else {
            0
        };
        let conn = self.lock();
        let n = conn.execute(
            &format!(
                "UPDATE messages SET last_error = :error, last_error_step = :step,
                   last_error_at = {NOW}, updated_at = {NOW},
                   gave_up = MAX(gave_up, :permanent), fetch_attempts = fetch_attempts + :fetch
                 WHERE mailbox = :mailbox AND uidvalidity = :uidvalidity AND uid = :uid"
            ),
            named_params! {
                ":error": error,
                ":step": step.as_str(),
                ":permanent": permanent,
                ":fetch": fetch,
                ":mailbox": key.mailbox,
                ":uidvalidity": key.uidvalidity,
                ":uid": key.uid,
            },
        )?;
        if n == 0 {
            return Err(JournalError::NotFound(key.clone()));
        }
        Ok(())
    }

    /// `received`: one more attempt at reading the message, recorded before the reading starts,
    /// so that a reading that takes the process down still counts. Returns the attempts so far.
    pub fn begin_read(&self, key: &MsgKey) -> Result<u32, JournalError> {
        let conn = self.lock();
        update(
            &conn,
            key,
            &[State::Received],
            None,
            "fetch_attempts = fetch_attempts + 1",
            &[],
        )?;
        let row = get_row(&conn, key)?.ok_or_else(|| JournalError::NotFound(key.clone()))?;
        Ok(row.fetch_attempts)
    }

    /// Marks the row given up on (the pipeline files it to the failed folder); the state does
    /// not change.
    pub fn mark_gave_up(&self, key: &MsgKey) -> Result<(), JournalError> {
        let n = self.lock().execute(
            &format!(
                "UPDATE messages SET gave_up = 1, updated_at = {NOW}
                 WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3"
            ),
            rusqlite::params![key.mailbox, key.uidvalidity, key.uid],
        )?;
        if n == 0 {
            return Err(JournalError::NotFound(key.clone()));
        }
        Ok(())
    }
}
