//! The durable journal: an embedded SQLite file at `state.path` (SPEC §5 "Durability"). This is the
//! only file that writes SQL; everything else sees plain Rust data ([`Row`], [`MsgKey`], ...).
//!
//! One row per message, keyed by where it was seen ([`MsgKey`]: mailbox, UIDVALIDITY, UID), never by
//! the server's flags (mail_room lost mail that way). A row only moves forward:
//!
//! ```text
//! received → decided → graph_pending → graph_done → reply_pending → reply_done → filed
//!               │  └──────(refuse)──────────────────────┘                          ▲
//!               └───────(ignore)───────────────────────────────────────────────────┘
//! ```
//! (a message that cannot be read, or that was given up on, may be filed from any state).
//!
//! Each side effect is preceded by a recorded intent: [`Journal::begin_graph`] bumps the Graph
//! attempts before the POST, [`Journal::begin_reply`] fixes the reply's Message-ID and bumps the
//! reply attempts before the SMTP send, [`Journal::begin_file`] records the target folder before the
//! MOVE. After a crash, a row found in `graph_pending` means "a POST may have gone out: check the
//! request's status before any retry"; in `reply_pending` it means "the reply may have gone out:
//! resend with the same Message-ID" (at most one extra confirmation, SPEC §5).
//!
//! Durability: WAL with `synchronous = FULL`, so every committed statement survives a crash or a
//! power cut; each method is one statement or one transaction. The schema is versioned with
//! `PRAGMA user_version`; [`MIGRATIONS`] lists the steps and only the missing ones run on open.
//!
//! The notifier's requests, reply keys and mails (SPEC §7) live in their own tables, with their
//! queries in the child module `notify` (`journal/notify.rs`); the same rules hold there.
//!
//! Concurrency: `rusqlite::Connection` is `Send` but not `Sync`, so [`Journal`] keeps it behind a
//! mutex and has plain blocking methods (each a few milliseconds, fsync included). Async code shares
//! an `Arc<Journal>` and calls [`Journal::call`], which runs a closure on the journal's writer
//! thread, grouped with the calls made at the same time into one transaction (`writer`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, OptionalExtension, named_params};
use sha2::{Digest, Sha256};

use crate::model::{
    Decided, GraphOutcome, MsgKey, ReplyResult, State, Step, StepError, Verdict, bare_message_id,
};

mod notify;
mod writer;

pub(crate) use writer::atomic;

pub use notify::{
    Closed, Mail, MailKind, MailState, NewRecipient, Reference, TrackedRequest, mail_message_id,
    timestamp,
};

/// Schema migrations, in order; `PRAGMA user_version` = how many have been applied.
/// Append only: a released migration is never edited.
pub const MIGRATIONS: &[&str] = &[
    include_str!("schema.sql"),
    include_str!("journal/v2_signins.sql"),
    // 3: the notifier's requests, reply keys and mails (SPEC §7).
    include_str!("journal/v3_notify.sql"),
];

mod links;
mod signins;
pub use links::Link;
pub use signins::{Alert, StoredSignIn};

/// How long a statement waits for another connection's lock (e.g. `parse` reading while `run`
/// writes) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's clock, ISO 8601 in UTC with milliseconds: every timestamp in the journal.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

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

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "cannot open the journal {path}: {source}; check state.path and that its folder is writable"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the journal {path} has schema version {found}, newer than this reject-bridge knows ({supported}); run the newer version or restore a backup"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: usize,
    },
    #[error(
        "the journal {path} has schema version {found}, expected {supported}; run `reject-bridge run` once to upgrade it"
    )]
    NotMigrated {
        path: PathBuf,
        found: i64,
        supported: usize,
    },
    #[error("journal: no row for message {0}")]
    NotFound(MsgKey),
    #[error("journal: message {key} is {state}, it cannot {action} (a row only moves forward)")]
    WrongState {
        key: MsgKey,
        state: State,
        action: &'static str,
    },
    #[error("journal: stored data is not understood ({0}); was the file edited by hand?")]
    Corrupt(String),
    #[error("journal: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("journal: the blocking task failed: {0}")]
    Task(String),
}

/// The journal. Cheap to share as `Arc<Journal>`; see the module doc for async use.
pub struct Journal {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// The queue of the group-commit writer ([`writer`]), started by the first [`Journal::call`].
    writer: std::sync::OnceLock<std::sync::mpsc::Sender<(Arc<Journal>, writer::Task)>>,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

const COLUMNS: &str = "*";

impl Journal {
    /// Opens (creating it and its parent folders if needed) the journal at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let open_err = |e: Box<dyn std::error::Error + Send + Sync>| JournalError::Open {
            path: path.to_path_buf(),
            source: e,
        };
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| open_err(Box::new(e)))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(Box::new(e)))?;
        Journal::setup(conn, path.to_path_buf()).map_err(|e| match e {
            JournalError::Sql(s) => open_err(Box::new(s)),
            other => other,
        })
    }

    /// A journal that lives in memory only (tests, and nothing else).
    pub fn open_in_memory() -> Result<Journal, JournalError> {
        Journal::setup(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    /// Opens an existing journal for reading only (the `parse` command): never creates, never
    /// migrates, never writes. Fails when the file is missing or not at the current schema.
    pub fn open_read_only(path: &Path) -> Result<Journal, JournalError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // A read-only connection to a WAL database creates the `-wal` and `-shm` files when they
        // are missing, and leaves them behind: a write that `parse` and `run --dry-run` must not
        // make (SPEC §2). No `-wal` file means no writer has the journal open and every commit is
        // in the main file, so it is opened immutable, which needs neither file. With a writer
        // around, its files are there and are shared.
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        let conn = match (wal.exists(), immutable_uri(path)) {
            (false, Some(uri)) => {
                Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
            }
            _ => Connection::open_with_flags(path, flags),
        }
        .map_err(|e| JournalError::Open {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found != MIGRATIONS.len() as i64 {
            return Err(if found > MIGRATIONS.len() as i64 {
                JournalError::TooNew {
                    path: path.to_path_buf(),
                    found,
                    supported: MIGRATIONS.len(),
                }
            } else {
                JournalError::NotMigrated {
                    path: path.to_path_buf(),
                    found,
                    supported: MIGRATIONS.len(),
                }
            });
        }
        Ok(Journal {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            writer: std::sync::OnceLock::new(),
        })
    }

    fn setup(mut conn: Connection, path: PathBuf) -> Result<Journal, JournalError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers never block the writer. An in-memory database answers "memory": fine.
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        // FULL: a commit is on disk before it returns, so a crash loses nothing committed.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrate(&mut conn, &path)?;
        Ok(Journal {
            conn: Mutex::new(conn),
            path,
            writer: std::sync::OnceLock::new(),
        })
    }

    /// The file it was opened from (`:memory:` for an in-memory journal).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64, JournalError> {
        Ok(self
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Runs `f` on the journal's writer thread, in a group commit with the calls made at the same
    /// time (see [`writer`]); resolves once its writes are on disk.
    pub async fn call<F, T>(self: &Arc<Self>, f: F) -> Result<T, JournalError>
    where
        F: FnOnce(&Journal) -> Result<T, JournalError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let queue = self.writer.get_or_init(writer::start);
        queue
            .send((Arc::clone(self), writer::task(f, reply)))
            .map_err(|_| JournalError::Task("the journal's writer thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| JournalError::Task("the journal's writer thread has stopped".into()))?
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere while holding the lock leaves SQLite consistent (autocommit or a
        // transaction that rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

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

    /// Records a failure of `step` (the state does not change). `permanent`: no retry will help,
    /// the row is marked [`Row::gave_up`] (it stays so). `Step::Fetch` and `Step::Panic` failures
    /// also count as fetch attempts; the other steps count theirs in `begin_*`. `error` must hold
    /// no secret.
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

    /// Deletes filed rows filed more than `days` days ago; returns how many. Unfinished rows are
    /// never pruned, however old.
    pub fn prune_filed(&self, days: u64) -> Result<usize, JournalError> {
        Ok(self.lock().execute(
            "DELETE FROM messages
             WHERE state = 'filed' AND filed_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
            [format!("-{days} days")],
        )?)
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

    /// The earliest row, other than `except`, whose message got `request_id` rejected by us:
    /// a later message about the same request must not reject it again.
    pub fn already_rejected(
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
fn update(
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

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), JournalError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > MIGRATIONS.len() as i64 {
        return Err(JournalError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tracing::info!(
            message = "journal migrated",
            path = %path.display(),
            version = i + 1
        );
    }
    tx.commit()?;
    Ok(())
}

fn get_row(conn: &Connection, key: &MsgKey) -> Result<Option<Row>, JournalError> {
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

fn corrupt(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(JournalError::Corrupt(what)),
    )
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let state: String = r.get("state")?;
    let state = State::parse(&state).ok_or_else(|| corrupt(format!("state {state:?}")))?;
    let decided = match r.get::<_, Option<String>>("decision")? {
        None => None,
        Some(v) => {
            let verdict = Verdict::parse(&v).ok_or_else(|| corrupt(format!("decision {v:?}")))?;
            let refs: Option<String> = r.get("references_json")?;
            let references = match refs {
                None => Vec::new(),
                Some(j) => serde_json::from_str(&j)
                    .map_err(|e| corrupt(format!("references_json: {e}")))?,
            };
            Some(Decided {
                verdict,
                reason: r.get::<_, Option<String>>("reason")?.unwrap_or_default(),
                request_id: r.get("request_id")?,
                approver: r.get("approver")?,
                justification: r.get("justification")?,
                graph_justification: r.get("graph_justification")?,
                truncated: r.get("justification_truncated")?,
                subject: r.get("subject")?,
                references,
            })
        }
    };
    let graph_outcome = match r.get::<_, Option<String>>("graph_outcome")?.as_deref() {
        None => None,
        Some("rejected") => Some(GraphOutcome::Rejected),
        Some("already_decided") => Some(GraphOutcome::AlreadyDecided {
            status: r
                .get::<_, Option<String>>("graph_status")?
                .unwrap_or_default(),
        }),
        Some("not_found") => Some(GraphOutcome::NotFound),
        Some("failed") => Some(GraphOutcome::Failed {
            message: r
                .get::<_, Option<String>>("graph_error")?
                .unwrap_or_default(),
        }),
        Some("forbidden") => Some(GraphOutcome::Forbidden {
            message: r
                .get::<_, Option<String>>("graph_error")?
                .unwrap_or_default(),
        }),
        Some(other) => return Err(corrupt(format!("graph_outcome {other:?}"))),
    };
    let reply_result = match r.get::<_, Option<String>>("reply_result")?.as_deref() {
        None => None,
        Some("sent") => Some(ReplyResult::Sent),
        Some("undeliverable") => Some(ReplyResult::Undeliverable {
            error: r
                .get::<_, Option<String>>("reply_error")?
                .unwrap_or_default(),
        }),
        Some(other) => return Err(corrupt(format!("reply_result {other:?}"))),
    };
    let last_error = match r.get::<_, Option<String>>("last_error")? {
        None => None,
        Some(error) => Some(StepError {
            step: r
                .get::<_, Option<String>>("last_error_step")?
                .unwrap_or_default(),
            error,
            at: r
                .get::<_, Option<String>>("last_error_at")?
                .unwrap_or_default(),
        }),
    };
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

/// `file:PATH?immutable=1` for SQLite, with the path percent-encoded; `None` when the path is not
/// UTF-8 (the caller then opens it the ordinary way).
fn immutable_uri(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    let mut uri = String::from("file:");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    Some(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn answers_are_counted_per_sender_in_the_window_and_old_rows_pruned() {
        let j = Journal::open_in_memory().unwrap();
        let d = decided(Verdict::Refuse, "looks_like_approval");
        for uid in 1..=3 {
            j.receive(&key(uid), None).unwrap();
            j.record_decision(&key(uid), &d).unwrap();
            j.begin_reply(&key(uid), "example.test").unwrap();
        }
        assert_eq!(j.answers_since("alice@example.test", 3600).unwrap(), 3);
        assert_eq!(j.answers_since("bob@example.test", 3600).unwrap(), 0);
        j.record_reply(&key(1), &ReplyResult::Sent).unwrap();
        j.record_reply(
            &key(2),
            &ReplyResult::Undeliverable {
                error: "withheld".into(),
            },
        )
        .unwrap();
        assert_eq!(j.answers_since("alice@example.test", 3600).unwrap(), 2);
        // Rows from long ago: out of the window, and pruned once filed.
        j.lock()
            .execute(
                "UPDATE messages SET reply_started_at = '2000-01-01T00:00:00.000Z', filed_at = '2000-01-01T00:00:00.000Z'",
                [],
            )
            .unwrap();
        assert_eq!(j.answers_since("alice@example.test", 3600).unwrap(), 0);
        j.record_filed(&key(1), "Processed").unwrap();
        j.lock()
            .execute(
                "UPDATE messages SET filed_at = '2000-01-01T00:00:00.000Z'",
                [],
            )
            .unwrap();
        assert_eq!(j.prune_filed(400).unwrap(), 1, "only the filed row");
        assert!(j.get(&key(1)).unwrap().is_none());
        assert!(j.get(&key(2)).unwrap().is_some(), "unfinished rows stay");
        assert_eq!(j.prune_filed(400).unwrap(), 0);
    }

    #[test]
    fn readings_are_counted_before_they_start() {
        let j = Journal::open_in_memory().unwrap();
        j.receive(&key(1), None).unwrap();
        assert_eq!(j.begin_read(&key(1)).unwrap(), 1);
        assert_eq!(j.begin_read(&key(1)).unwrap(), 2);
        assert_eq!(j.get(&key(1)).unwrap().unwrap().failures(), 2);
        j.set_message_id(&key(1), "<m@x>").unwrap();
        j.set_message_id(&key(1), "other@x").unwrap();
        assert_eq!(
            j.get(&key(1)).unwrap().unwrap().message_id.as_deref(),
            Some("m@x"),
            "set once"
        );
        j.record_decision(&key(1), &decided(Verdict::Ignore, "stale"))
            .unwrap();
        let row = j.get(&key(1)).unwrap().unwrap();
        assert_eq!(
            row.failures(),
            1,
            "the reading that succeeded is no failure"
        );
        assert!(
            j.begin_read(&key(1)).is_err(),
            "only a received row is read"
        );
        j.record_error(&key(1), Step::Panic, "panicked: x", false)
            .unwrap();
        assert_eq!(j.get(&key(1)).unwrap().unwrap().failures(), 2);
        j.mark_gave_up(&key(1)).unwrap();
        assert!(j.get(&key(1)).unwrap().unwrap().gave_up);
    }

    #[test]
    fn receive_inserts_once() {
        let j = Journal::open_in_memory().unwrap();
        let r1 = j.receive(&key(1), Some("<m1@x.test>")).unwrap();
        assert_eq!(r1.state, State::Received);
        assert_eq!(r1.message_id.as_deref(), Some("m1@x.test"));
        let r2 = j.receive(&key(1), Some("other@x.test")).unwrap();
        assert_eq!(r1, r2, "a known key is returned unchanged");
        let r3 = j.receive(&MsgKey::new("INBOX", 8, 1), None).unwrap();
        assert_ne!(r3.id, r1.id, "a new UIDVALIDITY is a new key");
        assert_eq!(j.unfinished().unwrap().len(), 2);
        assert!(j.get(&key(99)).unwrap().is_none());
    }

    #[test]
    fn reject_path_walks_every_state() {
        let j = Journal::open_in_memory().unwrap();
        let k = key(1);
        j.receive(&k, Some("m1@x.test")).unwrap();
        let d = decided(Verdict::Reject, "ok");
        j.record_decision(&k, &d).unwrap();
        let row = j.get(&k).unwrap().unwrap();
        assert_eq!(row.state, State::Decided);
        assert_eq!(row.decided.as_ref(), Some(&d));
        assert!(row.decided_at.is_some());

        assert_eq!(j.begin_graph(&k).unwrap(), 1);
        assert_eq!(state(&j, &k), State::GraphPending);
        assert_eq!(j.begin_graph(&k).unwrap(), 2, "a retry counts");
        j.record_graph(&k, &GraphOutcome::Rejected).unwrap();
        let row = j.get(&k).unwrap().unwrap();
        assert_eq!(row.state, State::GraphDone);
        assert_eq!(row.graph_outcome, Some(GraphOutcome::Rejected));
        assert_eq!(row.graph_attempts, 2);

        let id1 = j.begin_reply(&k, "example.test").unwrap();
        assert!(
            id1.starts_with("reply.") && id1.ends_with("@example.test"),
            "{id1}"
        );
        let id2 = j.begin_reply(&k, "other.test").unwrap();
        assert_eq!(
            id1, id2,
            "the reply's Message-ID is fixed by the first attempt"
        );
        let row = j.get(&k).unwrap().unwrap();
        assert_eq!(row.state, State::ReplyPending);
        assert_eq!(row.reply_attempts, 2);
        assert_eq!(row.reply_message_id.as_deref(), Some(id1.as_str()));

        j.record_reply(&k, &ReplyResult::Sent).unwrap();
        assert_eq!(state(&j, &k), State::ReplyDone);
        assert_eq!(j.begin_file(&k, "Processed").unwrap(), 1);
        assert_eq!(state(&j, &k), State::ReplyDone);
        j.record_filed(&k, "Processed").unwrap();
        let row = j.get(&k).unwrap().unwrap();
        assert_eq!(row.state, State::Filed);
        assert_eq!(row.target_folder.as_deref(), Some("Processed"));
        assert_eq!(row.reply_result, Some(ReplyResult::Sent));
        assert!(row.filed_at.is_some());
        assert!(j.unfinished().unwrap().is_empty());
    }

    #[test]
    fn graph_outcomes_round_trip() {
        let j = Journal::open_in_memory().unwrap();
        let outcomes = [
            GraphOutcome::Rejected,
            GraphOutcome::AlreadyDecided {
                status: "approved".into(),
            },
            GraphOutcome::NotFound,
            GraphOutcome::Failed {
                message: "503 for 600 s".into(),
            },
        ];
        for (i, o) in outcomes.iter().enumerate() {
            let k = key(i as u32 + 1);
            j.receive(&k, None).unwrap();
            j.record_decision(&k, &decided(Verdict::Reject, "ok"))
                .unwrap();
            j.begin_graph(&k).unwrap();
            j.record_graph(&k, o).unwrap();
            assert_eq!(j.get(&k).unwrap().unwrap().graph_outcome.as_ref(), Some(o));
        }
    }

    #[test]
    fn refusal_skips_graph_and_ignore_goes_straight_to_filed() {
        let j = Journal::open_in_memory().unwrap();
        let (r, i) = (key(1), key(2));
        j.receive(&r, None).unwrap();
        j.receive(&i, None).unwrap();
        j.record_decision(&r, &decided(Verdict::Refuse, "no_request_id"))
            .unwrap();
        j.record_decision(&i, &decided(Verdict::Ignore, "auto_submitted"))
            .unwrap();

        assert!(matches!(
            j.begin_graph(&r),
            Err(JournalError::WrongState { .. })
        ));
        assert!(matches!(
            j.begin_reply(&i, "x.test"),
            Err(JournalError::WrongState { .. })
        ));
        j.begin_reply(&r, "x.test").unwrap();
        j.record_reply(
            &r,
            &ReplyResult::Undeliverable {
                error: "550 no such user".into(),
            },
        )
        .unwrap();
        j.record_filed(&r, "Processed").unwrap();
        j.record_filed(&i, "Ignored").unwrap();
        let row = j.get(&r).unwrap().unwrap();
        assert_eq!(
            row.reply_result,
            Some(ReplyResult::Undeliverable {
                error: "550 no such user".into()
            })
        );
        assert_eq!(state(&j, &i), State::Filed);
    }

    #[test]
    fn rows_never_move_backwards() {
        let j = Journal::open_in_memory().unwrap();
        let k = key(1);
        assert!(matches!(
            j.record_decision(&k, &decided(Verdict::Reject, "ok")),
            Err(JournalError::NotFound(_))
        ));
        j.receive(&k, None).unwrap();
        assert!(j.begin_graph(&k).is_err(), "not decided yet");
        assert!(j.record_graph(&k, &GraphOutcome::Rejected).is_err());
        assert!(j.record_reply(&k, &ReplyResult::Sent).is_err());
        j.record_decision(&k, &decided(Verdict::Reject, "ok"))
            .unwrap();
        let again = j.record_decision(&k, &decided(Verdict::Refuse, "no_request_id"));
        match again {
            Err(e @ JournalError::WrongState { .. }) => {
                assert!(e.to_string().contains("decided"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            j.begin_reply(&k, "x.test").is_err(),
            "a reject needs Graph first"
        );
        j.begin_graph(&k).unwrap();
        j.record_graph(&k, &GraphOutcome::NotFound).unwrap();
        assert!(j.begin_graph(&k).is_err(), "no Graph call after an outcome");
        assert!(j.record_graph(&k, &GraphOutcome::Rejected).is_err());
        j.record_filed(&k, "Failed").unwrap();
        assert!(j.record_filed(&k, "Processed").is_err());
        assert!(j.begin_file(&k, "Processed").is_err());
        assert!(j.begin_reply(&k, "x.test").is_err());
        let row = j.get(&k).unwrap().unwrap();
        assert_eq!(row.target_folder.as_deref(), Some("Failed"));
        assert_eq!(row.decided.unwrap().verdict, Verdict::Reject);
    }

    #[test]
    fn errors_are_recorded_and_permanent_ones_stick() {
        let j = Journal::open_in_memory().unwrap();
        let k = key(1);
        j.receive(&k, None).unwrap();
        j.record_error(&k, Step::Fetch, "connection reset", false)
            .unwrap();
        j.record_error(&k, Step::Fetch, "connection reset", false)
            .unwrap();
        let row = j.get(&k).unwrap().unwrap();
        assert_eq!(row.fetch_attempts, 2);
        assert!(!row.gave_up);
        let e = row.last_error.unwrap();
        assert_eq!(
            (e.step.as_str(), e.error.as_str()),
            ("fetch", "connection reset")
        );

        j.record_error(&k, Step::Graph, "400 bad request", true)
            .unwrap();
        j.record_error(&k, Step::File, "NO [TRYCREATE]", false)
            .unwrap();
        let row = j.get(&k).unwrap().unwrap();
        assert!(row.gave_up, "a permanent error is not forgotten");
        assert_eq!(row.fetch_attempts, 2);
        assert_eq!(row.last_error.unwrap().step, "file");
        assert_eq!(row.state, State::Received);
        assert!(matches!(
            j.record_error(&key(9), Step::Reply, "x", false),
            Err(JournalError::NotFound(_))
        ));
    }

    #[test]
    fn already_rejected_finds_another_message_only() {
        let j = Journal::open_in_memory().unwrap();
        let (a, b) = (key(1), key(2));
        for k in [&a, &b] {
            j.receive(k, None).unwrap();
            j.record_decision(k, &decided(Verdict::Reject, "ok"))
                .unwrap();
        }
        let id = "0F8E6C1A-1B2C-4D5E-8F90-A1B2C3D4E5F6";
        assert!(j.already_rejected(id, &b).unwrap().is_none());
        j.begin_graph(&a).unwrap();
        assert!(
            j.already_rejected(id, &b).unwrap().is_none(),
            "pending is not rejected"
        );
        j.record_graph(&a, &GraphOutcome::Rejected).unwrap();
        let found = j.already_rejected(id, &b).unwrap().unwrap();
        assert_eq!(found.key, a);
        assert!(j.already_rejected(id, &a).unwrap().is_none(), "not itself");
        assert!(
            j.already_rejected("11111111-1b2c-4d5e-8f90-a1b2c3d4e5f6", &b)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn find_by_message_id_ignores_angles() {
        let j = Journal::open_in_memory().unwrap();
        j.receive(&key(1), Some("m@x.test")).unwrap();
        j.receive(&key(2), Some("<m@x.test>")).unwrap();
        j.receive(&key(3), Some("n@x.test")).unwrap();
        let rows = j.find_by_message_id("<m@x.test>").unwrap();
        assert_eq!(
            rows.iter().map(|r| r.key.uid).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn reply_ids_differ_per_row() {
        let j = Journal::open_in_memory().unwrap();
        let mut ids = Vec::new();
        for uid in 1..=3 {
            let k = key(uid);
            j.receive(&k, Some("same@x.test")).unwrap();
            j.record_decision(&k, &decided(Verdict::Refuse, "no_request_id"))
                .unwrap();
            ids.push(j.begin_reply(&k, "example.test").unwrap());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn notifications() {
        let j = Journal::open_in_memory().unwrap();
        let req = "0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
        assert!(
            j.record_notification("<n1@bridge.test>", req, "Alice@Example.test")
                .unwrap()
        );
        assert!(
            !j.record_notification("n1@bridge.test", req, "bob@example.test")
                .unwrap(),
            "a Message-ID is recorded once"
        );
        j.record_notification(
            "n2@bridge.test",
            "22222222-1b2c-4d5e-8f90-a1b2c3d4e5f6",
            "bob@example.test",
        )
        .unwrap();
        assert!(j.notified(req, "ALICE@example.test").unwrap());
        assert!(!j.notified(req, "bob@example.test").unwrap());

        let n = j
            .notification_for(
                &["<x@y.test>", "<n1@bridge.test>"],
                Some("alice@EXAMPLE.test"),
            )
            .unwrap()
            .unwrap();
        assert_eq!(n.request_id, req);
        assert_eq!(n.recipient, "alice@example.test");
        assert!(
            j.notification_for(&["n1@bridge.test"], Some("bob@example.test"))
                .unwrap()
                .is_none(),
            "sent to someone else"
        );
        let first = j
            .notification_for(&["n2@bridge.test", "n1@bridge.test"], None)
            .unwrap()
            .unwrap();
        assert_eq!(first.message_id, "n2@bridge.test", "the first named wins");
        assert!(j.notification_for(&[], None).unwrap().is_none());
    }

    #[test]
    fn reopening_keeps_everything_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state/journal.db");
        let k = key(1);
        let before = {
            let j = Journal::open(&path).unwrap();
            assert_eq!(j.schema_version().unwrap(), MIGRATIONS.len() as i64);
            j.receive(&k, Some("m@x.test")).unwrap();
            j.record_decision(&k, &decided(Verdict::Reject, "ok"))
                .unwrap();
            j.begin_graph(&k).unwrap();
            j.record_graph(&k, &GraphOutcome::Rejected).unwrap();
            j.record_notification("n@b.test", "r", "a@b.test").unwrap();
            j.get(&k).unwrap().unwrap()
        };
        for _ in 0..2 {
            let j = Journal::open(&path).unwrap();
            assert_eq!(j.schema_version().unwrap(), MIGRATIONS.len() as i64);
            assert_eq!(j.get(&k).unwrap().unwrap(), before);
            assert!(j.notified("r", "a@b.test").unwrap());
        }
        let ro = Journal::open_read_only(&path).unwrap();
        assert_eq!(ro.get(&k).unwrap().unwrap(), before);
        assert!(
            ro.receive(&key(2), None).is_err(),
            "a read-only journal refuses writes"
        );
        drop(ro);
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", path.display()));
            assert!(!side.exists(), "reading left {}", side.display());
        }
        // With a writer open, a reader sees its latest commits.
        let w = Journal::open(&path).unwrap();
        w.record_notification("n2@b.test", "r2", "a@b.test")
            .unwrap();
        let ro = Journal::open_read_only(&path).unwrap();
        assert!(ro.notified("r2", "a@b.test").unwrap());
    }

    #[test]
    fn read_only_open_writes_nothing_whatever_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a b#c?d%20é");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("j.db");
        Journal::open(&path)
            .unwrap()
            .record_notification("n@b.test", "r", "a@b.test")
            .unwrap();
        let ro = Journal::open_read_only(&path).unwrap();
        assert!(ro.notified("r", "a@b.test").unwrap());
        drop(ro);
        let names: Vec<String> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["j.db"]);
    }

    #[test]
    fn file_journal_is_wal_and_fully_synchronous() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.db")).unwrap();
        let conn = j.lock();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous = FULL");
    }

    #[test]
    fn a_crash_leaves_the_row_unfinished_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let (a, b) = (key(1), key(2));
        let j = Journal::open(&path).unwrap();
        j.receive(&a, None).unwrap();
        j.record_decision(&a, &decided(Verdict::Reject, "ok"))
            .unwrap();
        j.begin_graph(&a).unwrap(); // …and the process dies during the POST
        j.receive(&b, None).unwrap();
        j.record_decision(&b, &decided(Verdict::Refuse, "no_request_id"))
            .unwrap();
        let reply_id = j.begin_reply(&b, "example.test").unwrap(); // …or during the send
        std::mem::forget(j); // no orderly close: the connection is never shut

        let j = Journal::open(&path).unwrap();
        let rows = j.unfinished().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].state, rows[0].graph_attempts),
            (State::GraphPending, 1)
        );
        assert_eq!(rows[0].graph_outcome, None);
        assert_eq!(rows[1].state, State::ReplyPending);
        assert_eq!(rows[1].reply_message_id.as_deref(), Some(reply_id.as_str()));
        assert_eq!(
            j.begin_reply(&b, "example.test").unwrap(),
            reply_id,
            "the resend carries the same Message-ID"
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        drop(Journal::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let e = Journal::open(&path).unwrap_err();
        assert!(matches!(e, JournalError::TooNew { found: 99, .. }), "{e}");
        assert!(Journal::open_read_only(&path).is_err());
    }

    #[test]
    fn open_reports_an_unusable_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x").unwrap();
        let e = Journal::open(&file.join("journal.db")).unwrap_err();
        assert!(e.to_string().contains("state.path"), "{e}");
        assert!(Journal::open_read_only(&dir.path().join("missing.db")).is_err());
    }

    #[tokio::test]
    async fn call_runs_on_the_writer_thread() {
        let j = Arc::new(Journal::open_in_memory().unwrap());
        let row = j
            .call(|j| j.receive(&MsgKey::new("INBOX", 1, 5), Some("m@x.test")))
            .await
            .unwrap();
        assert_eq!(row.key.uid, 5);
        assert_eq!(j.unfinished().unwrap().len(), 1);
    }
}
