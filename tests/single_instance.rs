//! Only one bridge per journal (issue 12): while a `run` daemon holds the journal, a second `run`
//! exits 2 naming the holder's pid and touches nothing; a dry run still works beside it; after
//! the daemon is gone (even by SIGKILL) the journal is free again.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::world::World;

#[tokio::test]
async fn a_second_run_on_the_same_journal_exits_2_naming_the_holder() {
    let w = World::new("single").await;
    let mut daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .arg("run")
        .arg("--config")
        .arg(&w.config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the daemon");
    let pid = daemon.id().expect("a pid");
    let lock = reject_bridge::lock::JournalLock::path_for(&w.state);
    let start = Instant::now();
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != pid.to_string() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the daemon never took the journal's lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

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

    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
    let out = w.run(&["--once"]).await;
    assert_eq!(
        out.code,
        Some(0),
        "the lock went with the killed daemon: {}",
        out.stderr
    );
}
