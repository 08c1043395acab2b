//! The durable journal: an embedded SQLite file at `state.path` (SPEC §5 "Durability"). This module is
//! the only place that writes SQL; everything else sees plain Rust data ([`Row`], [`MsgKey`], ...).
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
//!
//! Where things are:
//! - here: [`Journal`], opening it (read-write, or read-only for `parse` and `--dry-run`),
//!   [`JournalError`], and [`Journal::call`], the way in for async code;
//! - `row`: a message's [`Row`] and how it is read back, with the lookups that return rows;
//! - `transitions`: the forward moves of a row, each guarded by the state it must be in, and the
//!   reply's Message-ID;
//! - `failures`: reading attempts, recorded errors and giving up (what `imap.poison_attempts`
//!   counts);
//! - `migrate`: the schema's versions ([`MIGRATIONS`]) and bringing a file up to date;
//! - `writer`: the group-commit thread behind [`Journal::call`], and `atomic` transactions;
//! - `notify`, `signins`, `links`: the notifier's tables, the stored sign-ins and alerts, the
//!   linking links;
//! - `tests` (with `tests/`): what the tests share, among it the methods only tests call
//!   (`open_in_memory`, `schema_version`, ...), kept out of the product.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::model::{MsgKey, State};

mod failures;
mod links;
mod migrate;
mod notify;
mod row;
mod signins;
mod transitions;
mod writer;

#[cfg(test)]
mod tests;

pub(crate) use writer::atomic;

pub use links::Link;
pub use migrate::MIGRATIONS;
pub use notify::{
    Closed, Mail, MailKind, MailState, NewRecipient, Notification, Reference, TrackedRequest,
    mail_message_id, timestamp,
};
pub use row::Row;
pub use signins::StoredSignIn;

/// How long a statement waits for another connection's lock (e.g. `parse` reading while `run`
/// writes) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's clock, ISO 8601 in UTC with milliseconds: every timestamp in the journal.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

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
        migrate::require_current(&conn, path)?;
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
        migrate::migrate(&mut conn, &path)?;
        Ok(Journal {
            conn: Mutex::new(conn),
            path,
            writer: std::sync::OnceLock::new(),
        })
    }

    /// Runs `f` on the journal's writer thread, in a group commit with the calls made at the same
    /// time (see `writer`); resolves once its writes are on disk.
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
