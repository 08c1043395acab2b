//! Only one bridge per journal: `run` holds an exclusive lock on `STATE.lock` (beside the journal
//! at `state.path`) for as long as it runs. Two services on one journal could both decide the
//! same message and both POST its reject; the second one now says which process holds the lock
//! and exits 2 before touching anything.
//!
//! The lock is the kernel's (`flock` through `File::try_lock`): it goes with the process, so a
//! crash or `kill -9` never leaves a stale lock behind, and the file itself (which holds the
//! holder's pid, for the message) may stay. `parse`, `check` and `run --dry-run` write nothing and
//! take no lock; `login`/`logout` change only the sign-in and may run beside the service.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct JournalLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another reject-bridge{} is running on the journal {journal}: stop it first (only one service may use a journal; its lock is {lock})",
        holder.as_deref().map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Held {
        holder: Option<String>,
        journal: PathBuf,
        lock: PathBuf,
    },
    #[error(
        "cannot lock the journal {journal} ({lock}): {source}; check that its folder is writable"
    )]
    Io {
        journal: PathBuf,
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl JournalLock {
    /// The lock file of the journal at `journal`.
    pub fn path_for(journal: &Path) -> PathBuf {
        let mut name = journal.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock of the journal at `journal`, or says who holds it.
    pub fn acquire(journal: &Path) -> Result<JournalLock, LockError> {
        let lock = Self::path_for(journal);
        let io = |source| LockError::Io {
            journal: journal.to_path_buf(),
            lock: lock.clone(),
            source,
        };
        if let Some(parent) = lock.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = text.trim().parse::<u32>().ok().map(|pid| pid.to_string());
                return Err(LockError::Held {
                    holder,
                    journal: journal.to_path_buf(),
                    lock,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Ours now: say who holds it.
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(JournalLock {
            _file: file,
            path: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("state").join("bridge.db");
        let held = JournalLock::acquire(&journal).unwrap();
        assert_eq!(held.path(), dir.path().join("state/bridge.db.lock"));
        let err = JournalLock::acquire(&journal).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, LockError::Held { holder: Some(p), .. } if *p == std::process::id().to_string()),
            "{text}"
        );
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(held);
        // Released with its holder; the file may stay.
        let again = JournalLock::acquire(&journal).unwrap();
        drop(again);
    }
}
