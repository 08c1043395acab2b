//! Tests of opening the journal: reopening keeps everything and migrates once, a read-only open
//! writes nothing, the file is WAL and fully synchronous, a crash leaves rows where they stopped,
//! a newer schema and an unusable path are refused, and [`Journal::call`] reaches the writer.

use super::*;

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
