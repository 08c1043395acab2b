//! Reading a message in a process of its own, with a CPU-time and memory budget: whatever the
//! bytes do to the parsers (a panic, an allocation that cannot be served, a path that is slow
//! beyond reason), they do it to that process, never to the service.
//!
//! Why a process and not a thread: a thread cannot be stopped when it runs too long, and when an
//! allocation fails Rust aborts the whole process (there is no stable way to turn that into an
//! error). A child process has limits the kernel enforces (`RLIMIT_CPU`: SIGXCPU at the budget;
//! `RLIMIT_DATA`: allocations beyond the budget fail and the child aborts), its crash is an exit
//! status, and its own accounting says what one message cost (CPU time, peak memory).
//!
//! The child is this same program (`/proc/self/exe`, which still names the running binary after
//! a package upgrade replaced the file) run as `reject-bridge read-worker`: it reads the raw
//! message on stdin, runs [`message::read`] inside a panic boundary, and writes one JSON object
//! ([`WorkerOutput`]) on stdout. It has no configuration and no secrets: only the message's bytes.
//! The service sets the child's limits (with `prlimit`) before it writes the first byte, so they
//! apply to every step of the reading.
//!
//! Deciding (SPEC §3) is cheap and runs in the service, on the blocking pool inside a panic
//! boundary: it needs the journal (which notification a reply answers) and works on what the
//! reader returned, which is bounded by the message's size.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::ReadBudget;
use crate::message::{self, Reply};

/// The hidden subcommand that runs [`worker_main`].
pub const WORKER_COMMAND: &str = "read-worker";

/// Exit code of a worker whose reading panicked (its output holds the panic's message).
const EXIT_PANIC: u8 = 70;

/// How long a child may take in wall-clock time, as a multiple of its CPU budget (a loaded
/// machine is slow; a child blocked on nothing at all is stuck).
const WALL_PER_CPU: u32 = 4;
/// …and at least this long.
const MIN_WALL: Duration = Duration::from_secs(30);

/// At most this much of a failing child's stderr is kept (for the reason).
const MAX_STDERR: usize = 16 * 1024;

/// What the worker writes on stdout.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerOutput {
    pub reply: Option<Reply>,
    /// Why there is no reply (a panic's message).
    pub error: Option<String>,
    /// CPU time the worker used, in milliseconds.
    pub cpu_ms: u64,
    /// The worker's peak resident memory, in KiB (`VmHWM`).
    pub peak_kib: u64,
}

/// A message read by a worker, and what it cost.
#[derive(Clone, Debug)]
pub struct ReadOutcome {
    pub reply: Reply,
    pub cpu: Duration,
    pub peak_kib: u64,
}

/// Why a message could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The reading failed because of the message (a crash, a budget exceeded): it counts against
    /// the message (`imap.poison_attempts`).
    #[error("reading the message failed: {0}")]
    Failed(String),
    /// No worker could be started or talked to (the machine's problem, not the message's): the
    /// message waits for the next pass without a strike.
    #[error(
        "no reading process could be run: {0}; check that the machine allows new processes and that the binary is intact"
    )]
    Unavailable(String),
}

/// Starts readers: the program and arguments of the worker, and its budget.
#[derive(Clone, Debug)]
pub struct Reader {
    program: PathBuf,
    args: Vec<String>,
    budget: ReadBudget,
}

impl Reader {
    /// Readers that run this program as `read-worker` with `budget`.
    pub fn new(budget: ReadBudget) -> Reader {
        let program = PathBuf::from("/proc/self/exe");
        let program = if program.exists() {
            program
        } else {
            std::env::current_exe().unwrap_or_else(|_| PathBuf::from("reject-bridge"))
        };
        Reader::with_program(program, vec![WORKER_COMMAND.to_string()], budget)
    }

    /// Readers that run `program args…` (tests point this at the built binary, or at a program
    /// that misbehaves on purpose).
    pub fn with_program(program: PathBuf, args: Vec<String>, budget: ReadBudget) -> Reader {
        Reader {
            program,
            args,
            budget,
        }
    }

    pub fn budget(&self) -> ReadBudget {
        self.budget
    }

    /// Starts a worker with its limits set; it waits for the message on stdin. Starting first
    /// and reading after lets the caller record the attempt in between, only once a worker
    /// really is there.
    pub async fn start(&self) -> Result<Job, ReadError> {
        let mut child = tokio::process::Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG")
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ReadError::Unavailable(format!("{}: {e}", self.program.display())))?;
        let Some(pid) = child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        else {
            return Err(ReadError::Unavailable(
                "the reading process ended before it could be limited".into(),
            ));
        };
        if let Err(e) = limit(pid, self.budget) {
            let _ = child.start_kill();
            return Err(ReadError::Unavailable(format!(
                "cannot set the reading process's limits: {e}"
            )));
        }
        Ok(Job {
            child,
            budget: self.budget,
        })
    }

    /// Reads a tiny message through a worker: at start, so that a machine where workers cannot
    /// run or be limited (a sandbox that forbids `prlimit`, a missing binary) is said at once
    /// rather than leaving every message unread.
    pub async fn self_test(&self) -> Result<(), ReadError> {
        let read = self
            .read(b"From: self-test@example.test\r\nSubject: self-test\r\n\r\nself-test\r\n")
            .await?;
        if read.reply.new_text == "self-test" {
            Ok(())
        } else {
            Err(ReadError::Unavailable(format!(
                "the reading process read {:?} for \"self-test\"",
                read.reply.new_text
            )))
        }
    }

    /// [`Reader::start`] then [`Job::read`].
    pub async fn read(&self, raw: &[u8]) -> Result<ReadOutcome, ReadError> {
        self.start().await?.read(raw).await
    }
}

/// The CPU and memory limits of the child `pid`; no core file.
fn limit(pid: rustix::process::Pid, budget: ReadBudget) -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, prlimit};
    let cpu = budget.cpu.as_secs().max(1);
    // SIGXCPU at the budget; SIGKILL a second later if that signal is ignored.
    prlimit(
        Some(pid),
        Resource::Cpu,
        Rlimit {
            current: Some(cpu),
            maximum: Some(cpu + 1),
        },
    )?;
    prlimit(
        Some(pid),
        Resource::Data,
        Rlimit {
            current: Some(budget.memory),
            maximum: Some(budget.memory),
        },
    )?;
    prlimit(
        Some(pid),
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    Ok(())
}

/// A started worker, waiting for its message.
pub struct Job {
    child: tokio::process::Child,
    budget: ReadBudget,
}

impl Job {
    /// Hands `raw` to the worker and waits for its answer, at most a few times its CPU budget.
    pub async fn read(mut self, raw: &[u8]) -> Result<ReadOutcome, ReadError> {
        let wall = (self.budget.cpu * WALL_PER_CPU).max(MIN_WALL);
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) = (
            self.child.stdin.take(),
            self.child.stdout.take(),
            self.child.stderr.take(),
        ) else {
            return Err(ReadError::Unavailable(
                "the reading process has no pipes".into(),
            ));
        };
        // The output is bounded: the reader returns at most a small multiple of its input.
        let max_out = raw.len() as u64 * 8 + 16 * 1024 * 1024;
        let talk = async {
            // A worker that dies while reading its input closes the pipe: its status says why.
            let _ = stdin.write_all(raw).await;
            drop(stdin);
            let mut out = Vec::new();
            let mut err = Vec::new();
            let mut out_pipe = (&mut stdout).take(max_out);
            let mut err_pipe = (&mut stderr).take(MAX_STDERR as u64);
            let (o, e) = tokio::join!(
                out_pipe.read_to_end(&mut out),
                err_pipe.read_to_end(&mut err),
            );
            let status = self.child.wait().await;
            (o.and(e).and(status), out, err)
        };
        let (status, out, err) = match tokio::time::timeout(wall, talk).await {
            Ok((Ok(status), out, err)) => (status, out, err),
            Ok((Err(e), _, _)) => {
                return Err(ReadError::Unavailable(format!(
                    "talking to the reading process failed: {e}"
                )));
            }
            Err(_) => {
                let _ = self.child.start_kill();
                let _ = self.child.wait().await;
                return Err(ReadError::Failed(format!(
                    "reading it took longer than {} s",
                    wall.as_secs()
                )));
            }
        };
        let stderr = String::from_utf8_lossy(&err);
        if !status.success() {
            return Err(ReadError::Failed(failure(
                status,
                &stderr,
                &out,
                self.budget,
            )));
        }
        let output: WorkerOutput = serde_json::from_slice(&out).map_err(|e| {
            ReadError::Failed(format!(
                "the reading process's answer is not understood: {e}"
            ))
        })?;
        match output.reply {
            Some(reply) => Ok(ReadOutcome {
                reply,
                cpu: Duration::from_millis(output.cpu_ms),
                peak_kib: output.peak_kib,
            }),
            None => Err(ReadError::Failed(
                output
                    .error
                    .unwrap_or_else(|| "no reply and no error".into()),
            )),
        }
    }
}

/// Why a worker that did not exit 0 failed, in words.
fn failure(
    status: std::process::ExitStatus,
    stderr: &str,
    stdout: &[u8],
    budget: ReadBudget,
) -> String {
    use std::os::unix::process::ExitStatusExt;
    let last_line = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| one_line(l, 200))
        .unwrap_or_default();
    if status.code() == Some(i32::from(EXIT_PANIC))
        && let Ok(out) = serde_json::from_slice::<WorkerOutput>(stdout)
        && let Some(error) = out.error
    {
        return error;
    }
    let mib = budget.memory / (1024 * 1024);
    match status.signal() {
        Some(rustix_signal::XCPU) | Some(rustix_signal::KILL) => format!(
            "reading it used more than its CPU budget ({} s, imap.read_cpu_secs)",
            budget.cpu.as_secs()
        ),
        Some(rustix_signal::ABRT) if stderr.contains("memory allocation") => format!(
            "reading it needed more than its memory budget ({mib} MiB, imap.read_memory_mib)"
        ),
        Some(rustix_signal::SEGV) if stderr.contains("overflowed its stack") => {
            "reading it overflowed the stack (nesting too deep)".into()
        }
        Some(sig) => format!(
            "the reading process was stopped by signal {sig}{}",
            if last_line.is_empty() {
                String::new()
            } else {
                format!(": {last_line}")
            }
        ),
        None => format!(
            "the reading process exited with {}{}",
            status.code().unwrap_or(-1),
            if last_line.is_empty() {
                String::new()
            } else {
                format!(": {last_line}")
            }
        ),
    }
}

/// Signal numbers on Linux (the worker runs there; `/proc/self/exe` says as much).
mod rustix_signal {
    pub const KILL: i32 = 9;
    pub const ABRT: i32 = 6;
    pub const SEGV: i32 = 11;
    pub const XCPU: i32 = 24;
}

fn one_line(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

/// `reject-bridge read-worker`: reads one raw message on stdin, writes a [`WorkerOutput`] on
/// stdout. Exit 0 with a reply; [`EXIT_PANIC`] with the panic's message; 1 when stdin or stdout
/// fail. Logs nothing (there is no subscriber).
pub fn worker_main() -> ExitCode {
    let mut raw = Vec::new();
    if std::io::stdin().read_to_end(&mut raw).is_err() {
        return ExitCode::from(1);
    }
    // A panic's message goes to the service in the output, not to stderr with a backtrace.
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| message::read(&raw));
    let (reply, error, code) = match result {
        Ok(reply) => (Some(reply), None, ExitCode::SUCCESS),
        Err(panic) => (
            None,
            Some(format!("reading it panicked: {}", panic_message(&panic))),
            ExitCode::from(EXIT_PANIC),
        ),
    };
    let output = WorkerOutput {
        reply,
        error,
        cpu_ms: cpu_time().as_millis() as u64,
        peak_kib: peak_kib(),
    };
    let mut stdout = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut stdout, &output).is_ok() && stdout.flush().is_ok();
    if written { code } else { ExitCode::from(1) }
}

/// A panic payload in words (a `&str` or `String` message; anything else is unnamed).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    one_line(&text, 300)
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
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
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

    #[tokio::test]
    async fn a_worker_that_crashes_is_a_failure_of_the_message() {
        let err = failure("cat >/dev/null; kill -SEGV $$", budget(5, 256)).await;
        assert!(
            matches!(&err, ReadError::Failed(m) if m.contains("signal 11")),
            "{err}"
        );
        let err = failure(
            "cat >/dev/null; echo 'boom at line 3' >&2; exit 3",
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
        let script = "cat >/dev/null; x=$(head -c 67108864 /dev/zero | tr '\\0' x); echo ${#x}";
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
        let err = failure("cat >/dev/null; echo nonsense", budget(5, 64)).await;
        assert!(
            matches!(&err, ReadError::Failed(m) if m.contains("not understood")),
            "{err}"
        );
    }

    #[test]
    fn panic_messages_in_words() {
        let p = std::panic::catch_unwind(|| panic!("bad {}", 1)).unwrap_err();
        assert_eq!(panic_message(&*p), "bad 1");
        let p = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(panic_message(&*p), "a panic without a message");
    }
}
