//! The reading process of `src/read/isolate.rs` with the real binary (`reject-bridge read-worker`):
//! it reads what `incoming::read` reads, reports what the reading cost, and a message that needs
//! more than the memory budget is a failure of that message, never of the caller.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use reject_bridge::config::ReadBudget;
use reject_bridge::read::incoming;
use reject_bridge::read::isolate::{ReadError, Reader};
use support::hostile::{self, SHAPES};

fn reader(budget: ReadBudget) -> Reader {
    Reader::with_program(
        PathBuf::from(env!("CARGO_BIN_EXE_reject-bridge")),
        vec!["read-worker".into()],
        budget,
    )
}

fn default_budget() -> ReadBudget {
    ReadBudget {
        cpu: Duration::from_secs(10),
        memory: 512 * 1024 * 1024,
    }
}

#[tokio::test]
async fn the_worker_reads_what_the_library_reads_and_says_what_it_cost() {
    let raw = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reject_outlook.eml"),
    )
    .unwrap();
    let read = reader(default_budget()).read(&raw).await.unwrap();
    let local = incoming::read(&raw);
    assert_eq!(read.reply.new_text, local.new_text);
    assert_eq!(read.reply.from, local.from);
    assert_eq!(read.reply.subject, local.subject);
    assert!(read.peak_kib > 0, "the worker reports its peak memory");
}

#[tokio::test]
async fn a_message_beyond_the_memory_budget_fails_alone() {
    let shape = hostile::shape("many_request_ids");
    let raw = hostile::message(
        &shape,
        100_000,
        "alice@example.test",
        "b@example.test",
        true,
    );
    let tight = ReadBudget {
        cpu: Duration::from_secs(10),
        memory: 16 * 1024 * 1024,
    };
    let err = reader(tight).read(raw.as_bytes()).await.unwrap_err();
    assert!(
        matches!(&err, ReadError::Failed(m) if m.contains("memory budget (16 MiB")),
        "{err}"
    );
    // The same message with the default budget is read.
    assert!(reader(default_budget()).read(raw.as_bytes()).await.is_ok());
}

#[tokio::test]
async fn every_hostile_shape_is_read_within_the_default_budget() {
    for shape in SHAPES {
        let raw = hostile::message(
            shape,
            shape.large,
            "alice@example.test",
            "b@example.test",
            true,
        );
        let read = reader(default_budget())
            .read(raw.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", shape.name));
        assert_eq!(read.reply.malformed, None, "{}", shape.name);
        assert!(read.cpu < default_budget().cpu, "{}", shape.name);
    }
}

#[tokio::test]
async fn the_start_self_test_reads_a_tiny_message_or_says_why_not() {
    reader(default_budget()).self_test().await.unwrap();
    let broken = Reader::with_program(
        PathBuf::from("/nonexistent/reject-bridge"),
        vec!["read-worker".into()],
        default_budget(),
    );
    assert!(matches!(
        broken.self_test().await,
        Err(ReadError::Unavailable(_))
    ));
}

/// The processes, children of this test process, whose command line holds `name`.
fn children_named(name: &str) -> Vec<i32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let after = stat.rsplit_once(") ").map(|(_, a)| a).unwrap_or("");
        let ppid = after.split_whitespace().nth(1).unwrap_or("");
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == me && cmdline.windows(name.len()).any(|w| w == name.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_worker_reads_message_after_message_and_one_that_died_idle_is_replaced() {
    // The binary under a name of its own, to tell its workers from other tests'.
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("idle-death-worker");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_reject-bridge"), &program).unwrap();
    let r = Reader::with_program(program, vec!["read-worker".into()], default_budget());
    let raw = fixture("reject_outlook.eml");
    for n in 1..=3 {
        let read = r.read(&raw).await.unwrap();
        assert_eq!(
            read.worker_reads, n,
            "the same worker reads the next message"
        );
    }
    // The kept worker dies while idle (as after an OOM kill): the next message is not blamed.
    let kept = children_named("idle-death-worker");
    assert_eq!(kept.len(), 1, "one worker kept: {kept:?}");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(kept[0]).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let read = r.read(&raw).await.unwrap();
    assert_eq!(read.worker_reads, 1, "read by a new worker");
}

#[tokio::test(flavor = "current_thread")]
async fn a_hostile_message_after_good_ones_fails_alone_and_its_worker_is_not_kept() {
    let tight = ReadBudget {
        cpu: Duration::from_secs(10),
        memory: 16 * 1024 * 1024,
    };
    let r = reader(tight);
    let good = fixture("reject_outlook.eml");
    r.read(&good).await.unwrap();
    let shape = hostile::shape("many_request_ids");
    let hostile = hostile::message(
        &shape,
        100_000,
        "alice@example.test",
        "b@example.test",
        true,
    );
    let err = r.read(hostile.as_bytes()).await.unwrap_err();
    assert!(
        matches!(&err, ReadError::Failed(m) if m.contains("memory budget (16 MiB")),
        "{err}"
    );
    let read = r.read(&good).await.unwrap();
    assert_eq!(read.worker_reads, 1, "the failed worker was not kept");
}
