//! The journal's schema versions: [`MIGRATIONS`] in order, `PRAGMA user_version` = how many have
//! been applied. Opening for writing applies the missing ones in one transaction; opening for
//! reading only checks that none is missing, and neither accepts a file newer than this build.

use std::path::Path;

use rusqlite::Connection;

use super::JournalError;

/// Schema migrations, in order; `PRAGMA user_version` = how many have been applied.
/// Append only: a released migration is never edited.
pub const MIGRATIONS: &[&str] = &[
    include_str!("v1_schema.sql"),
    include_str!("v2_signins.sql"),
    // 3: the notifier's requests, reply keys and mails (SPEC §7).
    include_str!("v3_notify.sql"),
];

/// Applies the migrations `conn` lacks, in one transaction, each step logged; refuses a file
/// newer than this build.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), JournalError> {
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

/// Fails unless the file at `path`, open on `conn`, is at the current schema version (a
/// read-only open never migrates).
pub(super) fn require_current(conn: &Connection, path: &Path) -> Result<(), JournalError> {
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
    Ok(())
}
