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
//! stdin (each framed by its length), runs [`crate::read::incoming::read`] inside a panic boundary, and answers
//! each with one line of JSON ([`WorkerOutput`]) on stdout. It has no configuration and no
//! secrets: only the messages' bytes. The service sets the child's limits (with `prlimit`) before
//! it writes the first byte of each message, so they apply to every step of the reading: the
//! memory limit for the worker's life, the CPU limit moved to "used so far + one budget".
//!
//! A worker that read a message well is kept for the next (starting one costs about as much CPU
//! as reading a typical reply), up to `MESSAGES_PER_WORKER` messages; one that failed in any
//! way is killed and never reused.
//!
//! Deciding (SPEC §3) is cheap and runs in the service, on the blocking pool inside a panic
//! boundary: it needs the journal (which notification a reply answers) and works on what the
//! reader returned, which is bounded by the message's size.
//!
//! Here: the [`Reader`] (kept workers, one slot per CPU) and the [`Job`] of one message;
//! `worker.rs` drives one worker process from the service's side (limits, the exchange, the
//! failure in words); `child.rs` is what runs inside it ([`worker_main`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::ReadBudget;
use crate::read::incoming::Incoming;

mod child;
mod worker;

pub use child::{peak_kib, worker_main};
use worker::{Broken, Worker};

/// The hidden subcommand that runs [`worker_main`].
pub const WORKER_COMMAND: &str = "read-worker";

/// Exit code of a worker whose reading panicked (its output holds the panic's message).
const EXIT_PANIC: u8 = 70;

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
        Worker::spawn(&self.program, &self.args, self.budget)
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

#[cfg(test)]
mod tests;
