//! A message's journal [`Row`] and how it is read back from the `messages` table: every column
//! (`SELECT *`) by name, each stored name parsed into the model's types, anything not understood
//! reported as [`JournalError::Corrupt`]. The lookups that return rows live here too.

use rusqlite::{Connection, OptionalExtension};

use super::{Journal, JournalError};
use crate::model::{
    Decided, GraphOutcome, MsgKey, ReplyResult, State, StepError, Verdict, bare_message_id,
};

/// One message's journal row. Timestamps are ISO 8601 UTC strings written by SQLite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: i64,
    pub key: MsgKey,
    /// The Message-ID header, without `<>`.
    pub message_id: Option<String>,
    pub state: State,
    pub received_at: String,
    pub updated_at: String,
    pub fetch_attempts: u32,
    pub decided: Option<Decided>,
    pub decided_at: Option<String>,
    pub graph_attempts: u32,
    pub graph_started_at: Option<String>,
    pub graph_outcome: Option<GraphOutcome>,
    pub graph_done_at: Option<String>,
    /// Fixed by the first [`Journal::begin_reply`], without `<>`.
    pub reply_message_id: Option<String>,
    pub reply_attempts: u32,
    pub reply_started_at: Option<String>,
    pub reply_result: Option<ReplyResult>,
    pub reply_done_at: Option<String>,
    pub target_folder: Option<String>,
    pub file_attempts: u32,
    pub filed_at: Option<String>,
    pub last_error: Option<StepError>,
    /// A permanent error was recorded: the pipeline files the message to the failed folder.
    pub gave_up: bool,
}

impl Row {
    pub fn verdict(&self) -> Option<Verdict> {
        self.decided.as_ref().map(|d| d.verdict)
    }

    /// How often work on this message failed (`imap.poison_attempts` counts these): fetches
    /// that failed, readings begun that never got a decision (a crash included), panics after.
    /// `fetch_attempts` also counts the reading that succeeded, once a row is decided.
    pub fn failures(&self) -> u32 {
        if self.state == State::Received {
            self.fetch_attempts
        } else {
            self.fetch_attempts.saturating_sub(1)
        }
    }
}

pub(super) const COLUMNS: &str = "*";

impl Journal {
    /// The row for `key`, if any.
    pub fn get(&self, key: &MsgKey) -> Result<Option<Row>, JournalError> {
        get_row(&self.lock(), key)
    }

    /// Every row not yet filed, oldest first: the work left after a restart.
    pub fn unfinished(&self) -> Result<Vec<Row>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM messages WHERE state <> 'filed' ORDER BY id"
        ))?;
        let rows = stmt.query_map([], read_row)?;
        collect(rows)
    }

    /// Rows whose Message-ID header is `message_id` (the same mail seen again, e.g. moved back
    /// into the inbox by hand), oldest first.
    pub fn find_by_message_id(&self, message_id: &str) -> Result<Vec<Row>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM messages WHERE message_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([bare_message_id(message_id)], read_row)?;
        collect(rows)
    }

    /// How many answers went (or are going) to `approver` in the last `secs` seconds: replies
    /// begun in that time, less those not sent (refused for good, or withheld).
    pub fn answers_since(&self, approver: &str, secs: u64) -> Result<u32, JournalError> {
        Ok(self.lock().query_row(
            "SELECT COUNT(*) FROM messages
             WHERE approver = ?1 AND reply_started_at IS NOT NULL
               AND reply_started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2)
               AND (reply_result IS NULL OR reply_result = 'sent')",
            rusqlite::params![approver, format!("-{secs} seconds")],
            |r| r.get(0),
        )?)
    }
}

/// The row for `key`, if any, read on `conn` (inside a transaction when the caller holds one).
pub(super) fn get_row(conn: &Connection, key: &MsgKey) -> Result<Option<Row>, JournalError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM messages
                 WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3"
            ),
            rusqlite::params![key.mailbox, key.uidvalidity, key.uid],
            read_row,
        )
        .optional()?)
}

fn collect(rows: impl Iterator<Item = rusqlite::Result<Row>>) -> Result<Vec<Row>, JournalError> {
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A stored value this build does not understand, as the error a row reader returns.
pub(super) fn corrupt(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(JournalError::Corrupt(what)),
    )
}

/// Reads one row of `SELECT *` from `messages`.
pub(super) fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let state: String = r.get("state")?;
    let state = State::parse(&state).ok_or_else(|| corrupt(format!("state {state:?}")))?;
    let decided = read_decided(r)?;
    let graph_outcome = read_graph_outcome(r)?;
    let reply_result = read_reply_result(r)?;
    let last_error = read_last_error(r)?;
    Ok(Row {
        id: r.get("id")?,
        key: MsgKey {
            mailbox: r.get("mailbox")?,
            uidvalidity: r.get("uidvalidity")?,
            uid: r.get("uid")?,
        },
        message_id: r.get("message_id")?,
        state,
        received_at: r.get("received_at")?,
        updated_at: r.get("updated_at")?,
        fetch_attempts: r.get("fetch_attempts")?,
        decided,
        decided_at: r.get("decided_at")?,
        graph_attempts: r.get("graph_attempts")?,
        graph_started_at: r.get("graph_started_at")?,
        graph_outcome,
        graph_done_at: r.get("graph_done_at")?,
        reply_message_id: r.get("reply_message_id")?,
        reply_attempts: r.get("reply_attempts")?,
        reply_started_at: r.get("reply_started_at")?,
        reply_result,
        reply_done_at: r.get("reply_done_at")?,
        target_folder: r.get("target_folder")?,
        file_attempts: r.get("file_attempts")?,
        filed_at: r.get("filed_at")?,
        last_error,
        gave_up: r.get("gave_up")?,
    })
}

/// The decision, when one was recorded (`decision` is set).
fn read_decided(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Decided>> {
    let Some(v) = r.get::<_, Option<String>>("decision")? else {
        return Ok(None);
    };
    let verdict = Verdict::parse(&v).ok_or_else(|| corrupt(format!("decision {v:?}")))?;
    let refs: Option<String> = r.get("references_json")?;
    let references = match refs {
        None => Vec::new(),
        Some(j) => {
            serde_json::from_str(&j).map_err(|e| corrupt(format!("references_json: {e}")))?
        }
    };
    Ok(Some(Decided {
        verdict,
        reason: r.get::<_, Option<String>>("reason")?.unwrap_or_default(),
        request_id: r.get("request_id")?,
        approver: r.get("approver")?,
        justification: r.get("justification")?,
        graph_justification: r.get("graph_justification")?,
        truncated: r.get("justification_truncated")?,
        subject: r.get("subject")?,
        references,
    }))
}

/// Graph's outcome, when one was recorded, with its status or error.
fn read_graph_outcome(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<GraphOutcome>> {
    let text = |column: &str| -> rusqlite::Result<String> {
        Ok(r.get::<_, Option<String>>(column)?.unwrap_or_default())
    };
    Ok(
        match r.get::<_, Option<String>>("graph_outcome")?.as_deref() {
            None => None,
            Some("rejected") => Some(GraphOutcome::Rejected),
            Some("already_decided") => Some(GraphOutcome::AlreadyDecided {
                status: text("graph_status")?,
            }),
            Some("not_found") => Some(GraphOutcome::NotFound),
            Some("failed") => Some(GraphOutcome::Failed {
                message: text("graph_error")?,
            }),
            Some("forbidden") => Some(GraphOutcome::Forbidden {
                message: text("graph_error")?,
            }),
            Some(other) => return Err(corrupt(format!("graph_outcome {other:?}"))),
        },
    )
}

/// How the reply's send went, when it is known.
fn read_reply_result(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<ReplyResult>> {
    Ok(
        match r.get::<_, Option<String>>("reply_result")?.as_deref() {
            None => None,
            Some("sent") => Some(ReplyResult::Sent),
            Some("undeliverable") => Some(ReplyResult::Undeliverable {
                error: r
                    .get::<_, Option<String>>("reply_error")?
                    .unwrap_or_default(),
            }),
            Some(other) => return Err(corrupt(format!("reply_result {other:?}"))),
        },
    )
}

/// The last error recorded, with its step and time.
fn read_last_error(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<StepError>> {
    let Some(error) = r.get::<_, Option<String>>("last_error")? else {
        return Ok(None);
    };
    Ok(Some(StepError {
        step: r
            .get::<_, Option<String>>("last_error_step")?
            .unwrap_or_default(),
        error,
        at: r
            .get::<_, Option<String>>("last_error_at")?
            .unwrap_or_default(),
    }))
}
