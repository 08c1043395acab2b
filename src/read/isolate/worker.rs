//! One worker process as the service drives it: started with its limits set (`prlimit`), handed
//! a message and its answer read within a wall-clock bound, and, when it gives no whole answer,
//! the reason said in words (a crash, the CPU or memory budget, a panic's message).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use super::{EXIT_PANIC, MESSAGES_PER_WORKER, ReadError, ReadOutcome, WorkerOutput};
use crate::config::ReadBudget;

/// How long a child may take in wall-clock time, as a multiple of its CPU budget (a loaded
/// machine is slow; a child blocked on nothing at all is stuck).
const WALL_PER_CPU: u32 = 4;
/// …and at least this long.
const MIN_WALL: Duration = Duration::from_secs(30);

/// At most this much of a failing child's stderr is kept (for the reason).
const MAX_STDERR: usize = 16 * 1024;

/// The memory limit of the worker `pid` (for its whole life), its first CPU limit, no core file.
fn limit(pid: rustix::process::Pid, budget: ReadBudget) -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, prlimit};
    let cpu = budget.cpu.as_secs().max(1);
    // SIGXCPU at the soft limit, moved before each message (see `Worker::limit_cpu`); the hard
    // limit (SIGKILL) covers every message a worker may read.
    prlimit(
        Some(pid),
        Resource::Cpu,
        Rlimit {
            current: Some(cpu),
            maximum: Some(hard_cpu(budget)),
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

/// The hard CPU limit of a worker (SIGKILL): enough for every message it may read. It is set at
/// spawn and never raised (that would need a privilege).
fn hard_cpu(budget: ReadBudget) -> u64 {
    (budget.cpu.as_secs().max(1) + 1) * u64::from(MESSAGES_PER_WORKER + 1)
}

/// A running worker process and its pipes.
#[derive(Debug)]
pub(super) struct Worker {
    pub(super) child: tokio::process::Child,
    pub(super) pid: rustix::process::Pid,
    pub(super) stdin: tokio::process::ChildStdin,
    pub(super) stdout: tokio::io::BufReader<tokio::process::ChildStdout>,
    pub(super) stderr: tokio::process::ChildStderr,
    /// Messages it has read.
    pub(super) messages: u32,
    /// CPU time it had used after its last message (as it said).
    pub(super) cpu_used: Duration,
    pub(super) idle_since: Instant,
}

impl Worker {
    /// A new worker with its memory limit set and its CPU limit at one budget.
    pub(super) fn spawn(
        program: &Path,
        args: &[String],
        budget: ReadBudget,
    ) -> Result<Worker, ReadError> {
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG")
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ReadError::Unavailable(format!("{}: {e}", program.display())))?;
        let Some(pid) = child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        else {
            return Err(ReadError::Unavailable(
                "the reading process ended before it could be limited".into(),
            ));
        };
        if let Err(e) = limit(pid, budget) {
            let _ = child.start_kill();
            return Err(ReadError::Unavailable(format!(
                "cannot set the reading process's limits: {e}"
            )));
        }
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ReadError::Unavailable(
                "the reading process has no pipes".into(),
            ));
        };
        Ok(Worker {
            child,
            pid,
            stdin,
            stdout: tokio::io::BufReader::new(stdout),
            stderr,
            messages: 0,
            cpu_used: Duration::ZERO,
            idle_since: Instant::now(),
        })
    }

    /// SIGXCPU once this message has used its budget: the soft limit is what the worker used
    /// so far plus the budget (whole seconds, rounded up).
    fn limit_cpu(&self, budget: ReadBudget) -> std::io::Result<()> {
        use rustix::process::{Resource, Rlimit, prlimit};
        let used = self.cpu_used.as_secs() + u64::from(self.cpu_used.subsec_nanos() > 0);
        prlimit(
            Some(self.pid),
            Resource::Cpu,
            Rlimit {
                current: Some(used + budget.cpu.as_secs().max(1)),
                maximum: Some(hard_cpu(budget)),
            },
        )?;
        Ok(())
    }

    /// Hands `raw` to the worker (its length, 8 bytes big-endian, then the bytes) and reads its
    /// answer (one line of JSON), at most a few times the CPU budget.
    pub(super) async fn exchange(
        &mut self,
        raw: &[u8],
        budget: ReadBudget,
    ) -> Result<ReadOutcome, Broken> {
        if let Err(e) = self.limit_cpu(budget) {
            return Err(Broken::Unavailable(format!(
                "cannot set the reading process's limits: {e}"
            )));
        }
        let wall = (budget.cpu * WALL_PER_CPU).max(MIN_WALL);
        // The output is bounded: the reader returns at most a small multiple of its input.
        let max_out = raw.len() as u64 * 8 + 16 * 1024 * 1024;
        let (stdin, stdout) = (&mut self.stdin, &mut self.stdout);
        let talk = async {
            // A worker that dies while reading its input closes the pipe: its status says why.
            let sent = async {
                stdin.write_all(&(raw.len() as u64).to_be_bytes()).await?;
                stdin.write_all(raw).await?;
                stdin.flush().await
            }
            .await;
            let mut line = Vec::new();
            let read = stdout.take(max_out).read_until(b'\n', &mut line).await;
            (sent.and(read.map(|_| ())), line)
        };
        let line = match tokio::time::timeout(wall, talk).await {
            Err(_) => {
                let _ = self.child.start_kill();
                let _ = self.child.wait().await;
                return Err(Broken::Message(format!(
                    "reading it took longer than {} s",
                    wall.as_secs()
                )));
            }
            Ok((Ok(()), line)) if line.ends_with(b"\n") => line,
            // No whole answer: the worker died (or wrote without end); its status says why.
            Ok((_, line)) => return Err(self.died(&line, budget).await),
        };
        let output: WorkerOutput = serde_json::from_slice(&line).map_err(|e| {
            Broken::Message(format!(
                "the reading process's answer is not understood: {e}"
            ))
        })?;
        self.messages += 1;
        self.cpu_used = Duration::from_millis(output.total_cpu_ms);
        self.idle_since = Instant::now();
        match output.reply {
            Some(reply) => Ok(ReadOutcome {
                reply,
                cpu: Duration::from_millis(output.cpu_ms),
                peak_kib: output.peak_kib,
                worker_reads: self.messages,
            }),
            None => Err(Broken::Message(
                output
                    .error
                    .unwrap_or_else(|| "no reply and no error".into()),
            )),
        }
    }

    /// Why the worker gave no whole answer: its exit status and the end of its stderr.
    async fn died(&mut self, stdout: &[u8], budget: ReadBudget) -> Broken {
        let status = match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => {
                return Broken::Unavailable(format!("talking to the reading process failed: {e}"));
            }
            Err(_) => {
                let _ = self.child.start_kill();
                match self.child.wait().await {
                    Ok(status) => status,
                    Err(e) => {
                        return Broken::Unavailable(format!(
                            "talking to the reading process failed: {e}"
                        ));
                    }
                }
            }
        };
        let mut err = Vec::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            (&mut self.stderr)
                .take(MAX_STDERR as u64)
                .read_to_end(&mut err),
        )
        .await;
        if status.success() {
            return Broken::Message("the reading process ended without an answer".into());
        }
        Broken::Message(failure(
            status,
            &String::from_utf8_lossy(&err),
            stdout,
            budget,
        ))
    }
}

/// How an exchange with a worker failed.
pub(super) enum Broken {
    /// Because of the message (or a worker that died before it: see [`super::Job::read`]).
    Message(String),
    /// Not because of the message.
    Unavailable(String),
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
