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
//! a package upgrade replaced the file) run as `reject-bridge read-worker`: it reads messages on
//! stdin (each framed by its length), runs [`incoming::read`] inside a panic boundary, and answers
//! each with one line of JSON ([`WorkerOutput`]) on stdout. It has no configuration and no
//! secrets: only the messages' bytes. The service sets the child's limits (with `prlimit`) before
//! it writes the first byte of each message, so they apply to every step of the reading: the
//! memory limit for the worker's life, the CPU limit moved to "used so far + one budget".
//!
//! A worker that read a message well is kept for the next (starting one costs about as much CPU
//! as reading a typical reply), up to [`MESSAGES_PER_WORKER`] messages; one that failed in any
//! way is killed and never reused.
//!
//! Deciding (SPEC §3) is cheap and runs in the service, on the blocking pool inside a panic
//! boundary: it needs the journal (which notification a reply answers) and works on what the
//! reader returned, which is bounded by the message's size.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::config::ReadBudget;
use crate::read::incoming::{self, Incoming};

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
    pub reply: Option<Incoming>,
    /// Why there is no reply (a panic's message).
    pub error: Option<String>,
    /// CPU time the reading of this message used, in milliseconds.
    pub cpu_ms: u64,
    /// CPU time the worker has used in all, in milliseconds.
    #[serde(default)]
    pub total_cpu_ms: u64,
    /// How much the worker's resident memory grew while reading this message, at its peak, in
    /// KiB (`VmHWM` over `VmRSS` at the start).
    pub peak_kib: u64,
}

/// A message read by a worker, and what it cost.
#[derive(Clone, Debug)]
pub struct ReadOutcome {
    pub reply: Incoming,
    pub cpu: Duration,
    pub peak_kib: u64,
    /// How many messages the worker that read this one has read, this one included.
    pub worker_reads: u32,
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

/// Starts readers: the program and arguments of the worker, and its budget. Workers are kept
/// between messages ([`Reader::start`] takes a kept one when there is one); clones share them.
#[derive(Clone, Debug)]
pub struct Reader {
    program: PathBuf,
    args: Vec<String>,
    budget: ReadBudget,
    kept: Arc<Mutex<Vec<Worker>>>,
    /// One permit per worker that may run at once ([`workers`]).
    slots: Arc<tokio::sync::Semaphore>,
}

/// How many workers may read at once: one per CPU (reading is CPU work), at most four.
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

/// A worker that read a message well is kept for the next one, up to this many messages.
const MESSAGES_PER_WORKER: u32 = 256;
/// An idle worker is kept for at most this long.
const KEEP_IDLE: Duration = Duration::from_secs(120);

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
            kept: Default::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(workers())),
        }
    }

    pub fn budget(&self) -> ReadBudget {
        self.budget
    }

    /// A worker waiting for a message: a kept one, else a new one with its limits set. Starting
    /// first and reading after lets the caller record the attempt in between, only once a
    /// worker really is there.
    pub async fn start(&self) -> Result<Job, ReadError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ReadError::Unavailable(e.to_string()))?;
        let worker = match self.take_kept() {
            Some(w) => w,
            None => self.spawn()?,
        };
        Ok(Job {
            worker,
            reader: self.clone(),
            _slot: slot,
        })
    }

    fn take_kept(&self) -> Option<Worker> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(mut w) = kept.pop() {
            if w.idle_since.elapsed() < KEEP_IDLE && matches!(w.child.try_wait(), Ok(None)) {
                return Some(w);
            }
        }
        None
    }

    fn keep(&self, worker: Worker) {
        if worker.messages >= MESSAGES_PER_WORKER {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|w| w.idle_since.elapsed() < KEEP_IDLE);
        if kept.len() < workers() {
            kept.push(worker);
        }
    }

    /// A new worker with its memory limit set and its CPU limit at one budget.
    fn spawn(&self) -> Result<Worker, ReadError> {
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
struct Worker {
    child: tokio::process::Child,
    pid: rustix::process::Pid,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::BufReader<tokio::process::ChildStdout>,
    stderr: tokio::process::ChildStderr,
    /// Messages it has read.
    messages: u32,
    /// CPU time it had used after its last message (as it said).
    cpu_used: Duration,
    idle_since: Instant,
}

impl Worker {
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
    async fn exchange(&mut self, raw: &[u8], budget: ReadBudget) -> Result<ReadOutcome, Broken> {
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
enum Broken {
    /// Because of the message (or a worker that died before it: see [`Job::read`]).
    Message(String),
    /// Not because of the message.
    Unavailable(String),
}

/// A worker, waiting for its message.
pub struct Job {
    worker: Worker,
    reader: Reader,
    /// Held while the worker reads (see [`workers`]).
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Job {
    /// Hands `raw` to the worker and waits for its answer, at most a few times its CPU budget.
    /// A worker that read a message before and fails on this one may have died in between (an
    /// OOM kill of an idle process): the message is read once more by a new worker, and only
    /// that worker's failure counts against it.
    pub async fn read(mut self, raw: &[u8]) -> Result<ReadOutcome, ReadError> {
        let budget = self.reader.budget;
        let kept = self.worker.messages > 0;
        match self.worker.exchange(raw, budget).await {
            Ok(outcome) => {
                self.reader.keep(self.worker);
                Ok(outcome)
            }
            Err(Broken::Unavailable(e)) => Err(ReadError::Unavailable(e)),
            Err(Broken::Message(_)) if kept => {
                drop(self.worker);
                let mut fresh = self.reader.spawn()?;
                match fresh.exchange(raw, budget).await {
                    Ok(outcome) => {
                        self.reader.keep(fresh);
                        Ok(outcome)
                    }
                    Err(Broken::Message(e)) => Err(ReadError::Failed(e)),
                    Err(Broken::Unavailable(e)) => Err(ReadError::Unavailable(e)),
                }
            }
            Err(Broken::Message(e)) => Err(ReadError::Failed(e)),
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

/// `reject-bridge read-worker`: reads messages on stdin, each as its length (8 bytes,
/// big-endian) and its bytes, and answers each with one line of JSON ([`WorkerOutput`]) on
/// stdout. Exits 0 at the end of its input; [`EXIT_PANIC`] after answering with a panic's message
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
        let script =
            "head -c 9 >/dev/null; x=$(head -c 67108864 /dev/zero | tr '\\0' x); echo ${#x}";
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
}
