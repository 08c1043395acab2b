//! The journal's tests: what they share (a key, a decision, the methods only tests call), the
//! rows' tests in `tests/rows.rs` (every transition, the guards that keep a row moving forward,
//! what is recorded on the way) and the opening's in `tests/open.rs` (reopening, crashing,
//! migrating, read-only).

use rusqlite::{OptionalExtension, named_params};

use super::row::{COLUMNS, read_row};
use super::*;
use crate::model::{Decided, GraphOutcome, ReplyResult, Step, Verdict};

mod open;
mod rows;

/// What only tests ask of the journal.
impl Journal {
    /// A journal that lives in memory only (tests, and nothing else).
    pub(crate) fn open_in_memory() -> Result<Journal, JournalError> {
        Journal::setup(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    /// The schema version of the open file.
    fn schema_version(&self) -> Result<i64, JournalError> {
        Ok(self
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The earliest row, other than `except`, whose message got `request_id` rejected by us:
    /// a later message about the same request must not reject it again.
    fn already_rejected(
        &self,
        request_id: &str,
        except: &MsgKey,
    ) -> Result<Option<Row>, JournalError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM messages
                     WHERE request_id = lower(:request_id) AND graph_outcome = 'rejected'
                       AND NOT (mailbox = :mailbox AND uidvalidity = :uidvalidity AND uid = :uid)
                     ORDER BY id LIMIT 1"
                ),
                named_params! {
                    ":request_id": request_id,
                    ":mailbox": except.mailbox,
                    ":uidvalidity": except.uidvalidity,
                    ":uid": except.uid,
                },
                read_row,
            )
            .optional()?)
    }
}

fn key(uid: u32) -> MsgKey {
    MsgKey::new("INBOX", 7, uid)
}

fn decided(verdict: Verdict, reason: &str) -> Decided {
    Decided {
        verdict,
        reason: reason.into(),
        request_id: Some("0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6".into()),
        approver: Some("alice@example.test".into()),
        justification: Some("Not during business hours".into()),
        graph_justification: Some(
            "Not during business hours (rejected by alice@example.test via email)".into(),
        ),
        truncated: false,
        subject: Some("Re: Request 0f8e6c1a".into()),
        references: vec!["a@x.test".into(), "b@x.test".into()],
    }
}

fn state(j: &Journal, k: &MsgKey) -> State {
    j.get(k).unwrap().unwrap().state
}
