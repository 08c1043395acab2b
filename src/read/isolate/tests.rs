//! Tests of reading through a worker process: crashes, the CPU and memory budgets enforced by the
//! kernel, a missing program, an answer that is not JSON, and panic messages.

use super::*;

fn budget(cpu: u64, mib: u64) -> ReadBudget {
    ReadBudget {
        cpu: Duration::from_secs(cpu),
        memory: mib * 1024 * 1024,
    }
}

/// Why reading through `sh -c script` with budget `b` failed (it must fail).
async fn failure(script: &str, b: ReadBudget) -> ReadError {
    Reader::with_program(
        PathBuf::from("/bin/sh"),
        vec!["-c".into(), script.into()],
        b,
    )
    .read(b"x")
    .await
    .unwrap_err()
}

// The scripts below first take the framed message "x": 8 bytes of length and 1 byte.
#[tokio::test]
async fn a_worker_that_crashes_is_a_failure_of_the_message() {
    let err = failure("head -c 9 >/dev/null; kill -SEGV $$", budget(5, 256)).await;
    assert!(
        matches!(&err, ReadError::Failed(m) if m.contains("signal 11")),
        "{err}"
    );
    let err = failure(
        "head -c 9 >/dev/null; echo 'boom at line 3' >&2; exit 3",
        budget(5, 256),
    )
    .await;
    assert_eq!(
        err,
        ReadError::Failed("the reading process exited with 3: boom at line 3".into())
    );
}

#[tokio::test]
async fn the_cpu_budget_is_enforced_by_the_kernel() {
    let err = failure("while :; do :; done", budget(1, 256)).await;
    assert!(
        matches!(&err, ReadError::Failed(m) if m.contains("CPU budget (1 s")),
        "{err}"
    );
}

#[tokio::test]
async fn the_memory_budget_is_enforced_by_the_kernel() {
    // `head -c` into a shell variable needs the memory; with 16 MiB it cannot have 64.
    let script = "head -c 9 >/dev/null; x=$(head -c 67108864 /dev/zero | tr '\\0' x); echo ${#x}";
    let err = failure(script, budget(5, 16)).await;
    assert!(
        matches!(&err, ReadError::Failed(m) if !m.contains("not understood")),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_program_is_not_the_messages_fault() {
    let r = Reader::with_program(PathBuf::from("/nonexistent/reader"), vec![], budget(5, 64));
    assert!(matches!(r.read(b"x").await, Err(ReadError::Unavailable(_))));
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_a_failure() {
    let err = failure("head -c 9 >/dev/null; echo nonsense", budget(5, 64)).await;
    assert!(
        matches!(&err, ReadError::Failed(m) if m.contains("not understood")),
        "{err}"
    );
}

#[test]
fn panic_messages_in_words() {
    let p = std::panic::catch_unwind(|| panic!("bad {}", 1)).unwrap_err();
    assert_eq!(crate::logging::panic_message(&*p), "bad 1");
    let p = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
    assert_eq!(
        crate::logging::panic_message(&*p),
        "a panic without a message"
    );
}
