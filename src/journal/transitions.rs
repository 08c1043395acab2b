//! The forward moves of a message's row (see the diagram in the module doc of `journal`):
//! `receive` makes it, each `begin_*` records the intent before a side effect, each `record_*`
//! its outcome, and filed rows are pruned after a while. Every move is one guarded `UPDATE`
//! ([`update`]): it applies only when the row is in a state it may leave that way, else the row
//! is reported missing or in the wrong state.

use rusqlite::Connection;
use rusqlite::named_params;
use rusqlite::types::ToSql;
use sha2::{Digest, Sha256};

use super::row::get_row;
use super::{Journal, JournalError, NOW, Row, atomic};
use crate::model::{Decided, GraphOutcome, MsgKey, ReplyResult, State, Verdict, bare_message_id};

impl Journal {
    /// Records a message seen in the mailbox: inserts a `received` row, or returns the existing
    /// row unchanged when the key is already known.
    pub fn receive(&self, key: &MsgKey, message_id: Option<&str>) -> Result<Row, JournalError> {
        let conn = self.lock();
        conn.execute(
            &format!(
                "INSERT INTO messages (mailbox, uidvalidity, uid, message_id, received_at, updated_at)
                 VALUES (:mailbox, :uidvalidity, :uid, :message_id, {NOW}, {NOW})
                 ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING"
            ),
            named_params! {
                ":mailbox": key.mailbox,
                ":uidvalidity": key.uidvalidity,
                ":uid": key.uid,
                ":message_id": message_id.map(bare_message_id),
            },
        )?;
        get_row(&conn, key)?.ok_or_else(|| JournalError::NotFound(key.clone()))
    }

    /// Sets the row's Message-ID when it has none yet (its row was made before the message
    /// could be fetched).
    pub fn set_message_id(&self, key: &MsgKey, message_id: &str) -> Result<(), JournalError> {
        self.lock().execute(
            "UPDATE messages SET message_id = ?4
             WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3 AND message_id IS NULL",
            rusqlite::params![
                key.mailbox,
                key.uidvalidity,
                key.uid,
                bare_message_id(message_id)
            ],
        )?;
        Ok(())
    }

    /// `received → decided`.
    pub fn record_decision(&self, key: &MsgKey, d: &Decided) -> Result<(), JournalError> {
        let refs = serde_json::to_string(&d.references)
            .map_err(|e| JournalError::Corrupt(e.to_string()))?;
        self.transition(
            key,
            "record a decision",
            &[State::Received],
            Some(State::Decided),
            &format!(
                "decision = :decision, reason = :reason, request_id = :request_id,
                 approver = :approver, justification = :justification,
                 graph_justification = :graph_justification,
                 justification_truncated = :truncated, subject = :subject,
                 references_json = :refs, decided_at = {NOW}"
            ),
            named_params! {
                ":decision": d.verdict.as_str(),
                ":reason": d.reason,
                ":request_id": d.request_id,
                ":approver": d.approver,
                ":justification": d.justification,
                ":graph_justification": d.graph_justification,
                ":truncated": d.truncated,
                ":subject": d.subject,
                ":refs": refs,
            },
        )
    }

    /// `decided (reject) | awaiting_signin | graph_pending → graph_pending`, Graph attempts + 1: call it before
    /// every Graph call that could reject. Returns the attempt number (1 for the first).
    pub fn begin_graph(&self, key: &MsgKey) -> Result<u32, JournalError> {
        let conn = self.lock();
        let row = get_row(&conn, key)?.ok_or_else(|| JournalError::NotFound(key.clone()))?;
        let ok = match row.state {
            State::Decided => row.verdict() == Some(Verdict::Reject),
            State::AwaitingSignin | State::AwaitingLink | State::GraphPending => true,
            _ => false,
        };
        if !ok {
            return Err(JournalError::WrongState {
                key: key.clone(),
                state: row.state,
                action: "begin a Graph call (only a decided reject can)",
            });
        }
        update(
            &conn,
            key,
            &[
                State::Decided,
                State::AwaitingSignin,
                State::AwaitingLink,
                State::GraphPending,
            ],
            Some(State::GraphPending),
            &format!(
                "graph_attempts = graph_attempts + 1,
                 graph_started_at = COALESCE(graph_started_at, {NOW})"
            ),
            &[],
        )?;
        Ok(row.graph_attempts + 1)
    }

    /// `graph_pending → graph_done` with Graph's outcome.
    pub fn record_graph(&self, key: &MsgKey, outcome: &GraphOutcome) -> Result<(), JournalError> {
        let (status, error) = match outcome {
            GraphOutcome::AlreadyDecided { status } => (Some(status.as_str()), None),
            GraphOutcome::Failed { message } | GraphOutcome::Forbidden { message } => {
                (None, Some(message.as_str()))
            }
            GraphOutcome::Rejected | GraphOutcome::NotFound => (None, None),
        };
        self.transition(
            key,
            "record a Graph outcome",
            &[State::GraphPending],
            Some(State::GraphDone),
            &format!(
                "graph_outcome = :outcome, graph_status = :status, graph_error = :error,
                 graph_done_at = {NOW}"
            ),
            named_params! {
                ":outcome": outcome.as_str(),
                ":status": status,
                ":error": error,
            },
        )
    }

    /// `decided (refuse) | graph_done | reply_pending → reply_pending`, reply attempts + 1: call it
    /// before every send. Returns the reply's Message-ID (without `<>`, on `domain`): derived from
    /// the row and fixed by the first call, so a resend after a crash carries the same one.
    pub fn begin_reply(&self, key: &MsgKey, domain: &str) -> Result<String, JournalError> {
        let mut conn = self.lock();
        let tx = atomic(&mut conn)?;
        let row = get_row(&tx, key)?.ok_or_else(|| JournalError::NotFound(key.clone()))?;
        let ok = match row.state {
            State::Decided => row.verdict() == Some(Verdict::Refuse),
            State::GraphDone | State::ReplyPending => true,
            _ => false,
        };
        if !ok {
            return Err(JournalError::WrongState {
                key: key.clone(),
                state: row.state,
                action: "begin a reply (only a refusal or a row with a Graph outcome can)",
            });
        }
        let reply_id = match &row.reply_message_id {
            Some(id) => id.clone(),
            None => derive_reply_id(&row, domain),
        };
        update(
            &tx,
            key,
            &[State::Decided, State::GraphDone, State::ReplyPending],
            Some(State::ReplyPending),
            &format!(
                "reply_attempts = reply_attempts + 1, reply_message_id = :reply_id,
                 reply_started_at = COALESCE(reply_started_at, {NOW})"
            ),
            named_params! { ":reply_id": reply_id },
        )?;
        tx.commit()?;
        Ok(reply_id)
    }

    /// `reply_pending → reply_done` with how the send went.
    pub fn record_reply(&self, key: &MsgKey, result: &ReplyResult) -> Result<(), JournalError> {
        let (name, error) = match result {
            ReplyResult::Sent => ("sent", None),
            ReplyResult::Undeliverable { error } => ("undeliverable", Some(error.as_str())),
        };
        self.transition(
            key,
            "record a reply",
            &[State::ReplyPending],
            Some(State::ReplyDone),
            &format!("reply_result = :result, reply_error = :error, reply_done_at = {NOW}"),
            named_params! { ":result": name, ":error": error },
        )
    }

    /// Records the intent to move the message to `folder` (file attempts + 1) before the MOVE, so
    /// that a row whose message has left the mailbox is known to have been filed there.
    /// Allowed in any state but `filed`; the state does not change.
    pub fn begin_file(&self, key: &MsgKey, folder: &str) -> Result<u32, JournalError> {
        let conn = self.lock();
        let row = get_row(&conn, key)?.ok_or_else(|| JournalError::NotFound(key.clone()))?;
        update(
            &conn,
            key,
            &NOT_FILED,
            None,
            "target_folder = :folder, file_attempts = file_attempts + 1",
            named_params! { ":folder": folder },
        )
        .map_err(|e| match e {
            JournalError::WrongState { key, state, .. } => JournalError::WrongState {
                key,
                state,
                action: "be filed again",
            },
            e => e,
        })?;
        Ok(row.file_attempts + 1)
    }

    /// `* → filed` into `folder`: the row is finished. Normally from `reply_done` (replied),
    /// `decided` (ignored) or any state for a message given up on.
    pub fn record_filed(&self, key: &MsgKey, folder: &str) -> Result<(), JournalError> {
        self.transition(
            key,
            "be filed again",
            &NOT_FILED,
            Some(State::Filed),
            &format!("target_folder = :folder, filed_at = {NOW}"),
            named_params! { ":folder": folder },
        )
    }

    /// Deletes filed rows filed more than `days` days ago; returns how many. Unfinished rows are
    /// never pruned, however old.
    pub fn prune_filed(&self, days: u64) -> Result<usize, JournalError> {
        Ok(self.lock().execute(
            "DELETE FROM messages
             WHERE state = 'filed' AND filed_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
            [format!("-{days} days")],
        )?)
    }

    /// Runs one guarded transition: `set` applies only when the row is in one of `from`.
    fn transition(
        &self,
        key: &MsgKey,
        action: &'static str,
        from: &[State],
        to: Option<State>,
        set: &str,
        params: &[(&str, &dyn ToSql)],
    ) -> Result<(), JournalError> {
        let conn = self.lock();
        update(&conn, key, from, to, set, params).map_err(|e| match e {
            JournalError::WrongState { key, state, .. } => {
                JournalError::WrongState { key, state, action }
            }
            e => e,
        })
    }
}

/// Every state but `filed`: a row in any of them may still be filed.
const NOT_FILED: [State; 8] = [
    State::Received,
    State::Decided,
    State::AwaitingSignin,
    State::AwaitingLink,
    State::GraphPending,
    State::GraphDone,
    State::ReplyPending,
    State::ReplyDone,
];

/// `UPDATE … SET {set} [, state = to] WHERE key AND state IN from`; an untouched row becomes
/// `NotFound` or `WrongState`.
pub(super) fn update(
    conn: &Connection,
    key: &MsgKey,
    from: &[State],
    to: Option<State>,
    set: &str,
    params: &[(&str, &dyn ToSql)],
) -> Result<(), JournalError> {
    // Only our own constant state names are spliced into the SQL; values are bound.
    let from_list = from
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let state_set = to
        .map(|s| format!(", state = '{}'", s.as_str()))
        .unwrap_or_default();
    let sql = format!(
        "UPDATE messages SET {set}{state_set}, updated_at = {NOW}
         WHERE mailbox = :mailbox AND uidvalidity = :uidvalidity AND uid = :uid
           AND state IN ({from_list})"
    );
    let mut all: Vec<(&str, &dyn ToSql)> = params.to_vec();
    all.push((":mailbox", &key.mailbox));
    all.push((":uidvalidity", &key.uidvalidity));
    all.push((":uid", &key.uid));
    let n = conn.execute(&sql, all.as_slice())?;
    if n == 1 {
        return Ok(());
    }
    match get_row(conn, key)? {
        None => Err(JournalError::NotFound(key.clone())),
        Some(row) => Err(JournalError::WrongState {
            key: key.clone(),
            state: row.state,
            action: "move this way",
        }),
    }
}

/// The reply's Message-ID: a digest of the row's identity (key, original Message-ID, when it was
/// first seen, row id), so it is unique across journals and the same for every resend of this row.
fn derive_reply_id(row: &Row, domain: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        row.key.mailbox.as_str(),
        &row.key.uidvalidity.to_string(),
        &row.key.uid.to_string(),
        row.message_id.as_deref().unwrap_or(""),
        &row.received_at,
        &row.id.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("reply.{hex}@{domain}")
}
