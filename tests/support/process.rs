//! `reject-bridge` as a long-running process for the daemon and notifier tests: started with
//! `RUST_LOG=info` and its log appended to a file (so a test can read it, and a restart after a
//! kill adds to it), stdin and stdout closed; and waiting for what it should do, failing with
//! the end of that log.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `reject-bridge ARGS --config CONFIG`, its stderr appended to `log`.
pub fn spawn_bridge(args: &[&str], config: &Path, log: &Path) -> Child {
    let err = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open the bridge's log file");
    Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("start reject-bridge")
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Waits up to `limit` for `cond` (checked every 50 ms), failing with the end of `log`.
pub async fn wait_for(
    what: &str,
    log: &Path,
    limit: Duration,
    mut cond: impl AsyncFnMut() -> bool,
) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    panic!(
        "{what}: not within {limit:?}; bridge log:\n{}",
        tail(&text, 60)
    );
}

/// Polls `f` every 250 ms until it gives `Some`, for at most `secs`; `None` when it never did
/// (the caller says what was expected).
pub async fn poll<T, F, Fut>(secs: u64, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
