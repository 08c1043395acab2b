//! What runs inside a worker process (`reject-bridge read-worker`): the loop that reads each
//! framed message inside a panic boundary and answers with its [`WorkerOutput`], and the
//! measures of what one message cost (CPU time, peak memory).

use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use super::{EXIT_PANIC, WorkerOutput};
use crate::read::incoming;

/// `reject-bridge read-worker`: reads messages on stdin, each as its length (8 bytes,
/// big-endian) and its bytes, and answers each with one line of JSON ([`WorkerOutput`]) on
/// stdout. Exits 0 at the end of its input; `EXIT_PANIC` after answering with a panic's message
/// (a reading that panicked may have left anything behind); 1 when stdin or stdout fail. Logs
/// nothing (there is no subscriber).
pub fn worker_main() -> ExitCode {
    // A panic's message goes to the service in the output, not to stderr with a backtrace.
    std::panic::set_hook(Box::new(|_| {}));
    let mut stdin = std::io::stdin().lock();
    loop {
        let mut len = [0u8; 8];
        match stdin.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return ExitCode::SUCCESS,
            Err(_) => return ExitCode::from(1),
        }
        let mut raw = Vec::new();
        let len = u64::from_be_bytes(len);
        match (&mut stdin).take(len).read_to_end(&mut raw) {
            Ok(n) if n as u64 == len => {}
            _ => return ExitCode::from(1),
        }
        reset_peak();
        let resident = status_kib("VmRSS:");
        let before = cpu_time();
        let result = std::panic::catch_unwind(|| incoming::read(&raw));
        drop(raw);
        // What the reading added at its peak: the code and data a kept worker already holds
        // (from earlier messages) is not this message's.
        let peak = peak_kib().saturating_sub(resident);
        let panicked = result.is_err();
        let (reply, error) = match result {
            Ok(reply) => (Some(reply), None),
            Err(panic) => (
                None,
                Some(format!(
                    "reading it panicked: {}",
                    crate::logging::panic_message(&panic)
                )),
            ),
        };
        let total = cpu_time();
        let output = WorkerOutput {
            reply,
            error,
            cpu_ms: total.saturating_sub(before).as_millis() as u64,
            total_cpu_ms: total.as_millis() as u64,
            peak_kib: peak,
        };
        let mut stdout = std::io::stdout().lock();
        let written = serde_json::to_writer(&mut stdout, &output).is_ok()
            && stdout.write_all(b"\n").is_ok()
            && stdout.flush().is_ok();
        if !written {
            return ExitCode::from(1);
        }
        // What this message needed is not held while the worker waits for the next one.
        drop(output);
        crate::malloc::release_free_memory();
        if panicked {
            return ExitCode::from(EXIT_PANIC);
        }
    }
}

/// Resets this process's peak resident memory (`VmHWM`), so that it measures the next message
/// alone (best effort: `/proc/self/clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", b"5");
}

/// CPU time this process has used.
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// This process's peak resident memory (`VmHWM` of `/proc/self/status`), in KiB; 0 when unknown.
pub fn peak_kib() -> u64 {
    status_kib("VmHWM:")
}

/// A `kB` field of `/proc/self/status` (`VmHWM:`, `VmRSS:`); 0 when unknown.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
