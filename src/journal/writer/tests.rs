//! Tests of the group commit: calls queued together commit together and a failing or panicking
//! call undoes only itself; a method with several statements nests inside an open transaction.

use super::*;
use crate::model::MsgKey;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_made_together_commit_together_and_a_failing_one_undoes_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let j = Arc::new(Journal::open(&dir.path().join("j.db")).unwrap());
    // The first call holds the writer until the others are queued: they form one group.
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let first = tokio::spawn({
        let j = j.clone();
        async move {
            j.call(move |_| {
                wait.recv().unwrap();
                Ok(())
            })
            .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let key = |uid| MsgKey::new("INBOX", 1, uid);
    let ok_a = tokio::spawn({
        let j = j.clone();
        async move { j.call(move |j| j.receive(&key(1), None)).await }
    });
    let failing = tokio::spawn({
        let j = j.clone();
        async move {
            j.call(move |j| {
                j.receive(&key(2), None)?;
                Err::<(), _>(JournalError::Task("this call fails".into()))
            })
            .await
        }
    });
    let panicking = tokio::spawn({
        let j = j.clone();
        async move {
            j.call(move |j| -> Result<(), JournalError> {
                j.receive(&key(3), None)?;
                panic!("a bug in a call")
            })
            .await
        }
    });
    let ok_b = tokio::spawn({
        let j = j.clone();
        async move { j.call(move |j| j.receive(&key(4), None)).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    go.send(()).unwrap();
    first.await.unwrap().unwrap();
    assert_eq!(ok_a.await.unwrap().unwrap().key, key(1));
    assert!(failing.await.unwrap().is_err());
    let panicked = panicking.await.unwrap().unwrap_err();
    assert!(
        panicked.to_string().contains("a bug in a call"),
        "{panicked}"
    );
    assert_eq!(ok_b.await.unwrap().unwrap().key, key(4));

    // What a fresh connection sees: the good calls, none of the failing ones' writes.
    drop(j);
    let again = Journal::open(&dir.path().join("j.db")).unwrap();
    // The spawned calls may reach the queue in either order: compare the rows, not their order.
    let mut uids: Vec<u32> = again
        .unfinished()
        .unwrap()
        .iter()
        .map(|r| r.key.uid)
        .collect();
    uids.sort();
    assert_eq!(uids, vec![1, 4]);
}

#[test]
fn a_method_with_several_statements_nests_inside_an_open_transaction() {
    let j = Journal::open_in_memory().unwrap();
    let mut conn = j.lock();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let tx = atomic(&mut conn).unwrap();
        assert!(matches!(tx, Atomic::Nested(_)));
        tx.commit().unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    let tx = atomic(&mut conn).unwrap();
    assert!(matches!(tx, Atomic::Own(_)));
}
