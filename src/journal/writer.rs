//! Group commit: every [`Journal::call`] of the service runs on one thread of the journal's own,
//! and the calls that arrive while a group is being written are written together, in one
//! transaction with one fsync. Each call runs inside a savepoint of its own, so its error undoes
//! its own statements and nothing else; its result is handed back only after the group's COMMIT
//! is on disk. So "the intent is durable before the side effect" holds exactly as with one commit
//! per call, and several messages in flight share the cost of a sync.
//!
//! The connection is used by this thread only while a group is open; the service reaches the
//! journal through [`Journal::call`] alone (commands like `approvers` open their own connection
//! and take SQLite's lock between groups).
//!
//! [`atomic`] is the transaction of a method that writes several statements: a transaction of
//! its own when none is open (tests, commands), a savepoint inside a group.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc;

use rusqlite::Connection;

use super::{Journal, JournalError};

/// At most this many calls are written in one group.
const MAX_GROUP: usize = 128;

/// What a call hands back after the group's commit: its result, or the commit's failure.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// One call: runs on the writer thread; says whether it succeeded (its savepoint is kept) and
/// how to hand back its result.
pub(super) type Task = Box<dyn FnOnce(&Journal) -> (bool, Finish) + Send>;

/// The writer thread's end of the queue, started on the first call.
pub(super) fn start() -> mpsc::Sender<(Arc<Journal>, Task)> {
    let (tx, rx) = mpsc::channel::<(Arc<Journal>, Task)>();
    std::thread::Builder::new()
        .name("journal".into())
        .spawn(move || {
            // Ends when every sender is gone (the journal was dropped).
            while let Ok(first) = rx.recv() {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(next) => group.push(next),
                        Err(_) => break,
                    }
                }
                write_group(group);
            }
        })
        .expect("the journal's writer thread could not be started");
    tx
}

/// Runs `group` in one transaction and hands each call its result after the commit. When no
/// transaction can be begun (another process holds SQLite's lock beyond the busy timeout), each
/// call runs on its own, as without grouping.
fn write_group(group: Vec<(Arc<Journal>, Task)>) {
    let journal = group[0].0.clone();
    let grouped = journal.lock().execute_batch("BEGIN IMMEDIATE").is_ok();
    let mut finishes = Vec::with_capacity(group.len());
    for (_, task) in group {
        if grouped {
            let _ = journal.lock().execute_batch("SAVEPOINT call");
        }
        let (ok, finish) = task(&journal);
        if grouped {
            let end = if ok {
                "RELEASE call"
            } else {
                "ROLLBACK TO call; RELEASE call"
            };
            let _ = journal.lock().execute_batch(end);
        }
        finishes.push(finish);
    }
    let committed = if grouped {
        let conn = journal.lock();
        conn.execute_batch("COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            format!("the commit failed: {e}")
        })
    } else {
        Ok(())
    };
    for finish in finishes {
        finish(committed.clone());
    }
}

/// Makes the task of one call: runs `f` inside a panic boundary; its result goes to `reply`.
pub(super) fn task<F, T>(f: F, reply: tokio::sync::oneshot::Sender<Result<T, JournalError>>) -> Task
where
    F: FnOnce(&Journal) -> Result<T, JournalError> + Send + 'static,
    T: Send + 'static,
{
    Box::new(move |journal: &Journal| {
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| f(journal))).unwrap_or_else(|panic| {
                Err(JournalError::Task(crate::logging::panic_message(&*panic)))
            });
        let ok = result.is_ok();
        let finish: Finish = Box::new(move |committed| {
            let _ = reply.send(match committed {
                Ok(()) => result,
                Err(why) => Err(JournalError::Task(why)),
            });
        });
        (ok, finish)
    })
}

/// The transaction of a method with several statements: its own (BEGIN IMMEDIATE) when none is
/// open, else a savepoint inside the open one (a group). Dropped without [`Atomic::commit`], it
/// rolls back.
pub(crate) enum Atomic<'c> {
    Own(rusqlite::Transaction<'c>),
    Nested(rusqlite::Savepoint<'c>),
}

impl std::ops::Deref for Atomic<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Atomic::Own(t) => t,
            Atomic::Nested(s) => s,
        }
    }
}

impl Atomic<'_> {
    pub(crate) fn commit(self) -> rusqlite::Result<()> {
        match self {
            Atomic::Own(t) => t.commit(),
            Atomic::Nested(s) => s.commit(),
        }
    }
}

/// See [`Atomic`].
pub(crate) fn atomic(conn: &mut Connection) -> rusqlite::Result<Atomic<'_>> {
    if conn.is_autocommit() {
        conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map(Atomic::Own)
    } else {
        conn.savepoint().map(Atomic::Nested)
    }
}

#[cfg(test)]
mod tests;
