//! Only one bridge per journal (issue 12): while a `run` daemon holds the journal, a second `run`
//! exits 2 naming the holder's pid and touches nothing; a dry run still works beside it; after
//! the daemon is gone (even by SIGKILL) the journal is free again.

mod support;

use support::process::{poll, spawn_bridge};
use support::world::World;

#[tokio::test]
async fn a_second_run_on_the_same_journal_exits_2_naming_the_holder() {
    let w = World::new("single").await;
    let mut daemon = spawn_bridge(&["run"], &w.config, &w.dir.path().join("daemon.log"));
    let pid = daemon.id();
    let lock = reject_bridge::lock::JournalLock::path_for(&w.state);
    let holder = || std::fs::read_to_string(&lock).unwrap_or_default();
    poll(30, || async {
        (holder().trim() == pid.to_string()).then_some(())
    })
    .await
    .expect("the daemon takes the journal's lock");

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {}", out.stderr));
    assert!(line.contains(&format!("pid {pid}")), "{line}");
    assert!(line.contains(&w.state.display().to_string()), "{line}");

    // A dry run writes nothing and is welcome beside it.
    let out = w.run(&["--dry-run"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let out = w.run(&["--once"]).await;
    assert_eq!(
        out.code,
        Some(0),
        "the lock went with the killed daemon: {}",
        out.stderr
    );
}
