//! `kill -9` in the middle of a group commit (`src/journal/writer.rs`): the calls written in the
//! unfinished group are all undone, and none of their callers was answered, so no side effect
//! followed any of them; the calls committed before the group stay.
//!
//! The process killed is this test binary run again as a child (`RB_GROUP_CHILD` names its
//! journal): it commits one call, then queues a group of calls behind a call that holds the
//! writer, and one call of the group never returns; the parent kills it there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reject_bridge::journal::Journal;
use reject_bridge::model::MsgKey;

fn key(uid: u32) -> MsgKey {
    MsgKey::new("INBOX", 1, uid)
}

/// The child's part (does nothing unless run as the child).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_child() {
    let Ok(path) = std::env::var("RB_GROUP_CHILD") else {
        return;
    };
    let j = Arc::new(Journal::open(std::path::Path::new(&path)).unwrap());
    j.call(|j| j.receive(&key(1), Some("<committed@x.test>")))
        .await
        .unwrap();
    println!("committed");
    // Hold the writer so that the next calls form one group.
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let holder = {
        let j = j.clone();
        tokio::spawn(async move {
            j.call(move |_| {
                wait.recv().unwrap();
                Ok(())
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut group = Vec::new();
    for uid in 2..=4 {
        let j = j.clone();
        group.push(tokio::spawn(async move {
            let row = j.call(move |j| j.receive(&key(uid), None)).await;
            println!("answered {uid}: {row:?}");
        }));
    }
    {
        let j = j.clone();
        group.push(tokio::spawn(async move {
            let _ = j
                .call(move |j| {
                    j.receive(&key(5), None)?;
                    j.begin_read(&key(1))?;
                    println!("in the group");
                    std::thread::sleep(Duration::from_secs(3600));
                    Ok(())
                })
                .await;
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    go.send(()).unwrap();
    holder.await.unwrap().unwrap();
    for g in group {
        let _ = g.await;
    }
}

#[test]
fn kill_9_during_a_group_commit_undoes_the_whole_group_and_answers_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "group_commit_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RB_GROUP_CHILD", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.ends_with("in the group") {
            break;
        }
    }
    assert!(
        seen.iter().any(|l| l.ends_with("in the group")),
        "the child never reached its group: {seen:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    for line in lines {
        seen.push(line.unwrap());
    }
    assert!(seen.iter().any(|l| l.ends_with("committed")), "{seen:?}");
    assert!(
        !seen.iter().any(|l| l.contains("answered")),
        "a call of the unfinished group was answered before its commit: {seen:?}"
    );

    let j = Journal::open(&path).unwrap();
    let first = j
        .get(&key(1))
        .unwrap()
        .expect("the call committed before the group stays");
    assert_eq!(first.fetch_attempts, 0, "the group's begin_read is undone");
    for uid in 2..=5 {
        assert!(
            j.get(&key(uid)).unwrap().is_none(),
            "row {uid} of the unfinished group"
        );
    }
}
