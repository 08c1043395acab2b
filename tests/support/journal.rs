//! The bridge's journal file read directly with SQLite, for what a test checks and the bridge
//! itself never asks (the journal's own API holds only what the product uses).

use std::path::{Path, PathBuf};

use reject_bridge::journal::MailState;
use rusqlite::{Connection, OpenFlags};

/// Opens the journal at `path` for reading only, leaving no file behind: immutable when no
/// bridge has it open (no `-wal` file), else shared with that bridge.
fn open(path: &Path) -> Connection {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let conn = if wal.exists() {
        Connection::open_with_flags(path, flags)
    } else {
        let uri = format!("file:{}?immutable=1", path.display());
        Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
    };
    conn.unwrap_or_else(|e| panic!("cannot open the journal {}: {e}", path.display()))
}

/// The states of the notifier's mails about `request_id`, in the order they were planned.
pub fn mail_states(journal: &Path, request_id: &str) -> Vec<MailState> {
    let conn = open(journal);
    let mut stmt = conn
        .prepare(
            "SELECT m.state FROM notify_mails m
             JOIN reply_keys k ON k.reply_key = m.reply_key
             WHERE m.request_id = lower(?1) ORDER BY m.id",
        )
        .unwrap();
    stmt.query_map([request_id], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|state| {
            let state = state.unwrap();
            MailState::parse(&state).unwrap_or_else(|| panic!("mail state {state:?}"))
        })
        .collect()
}
