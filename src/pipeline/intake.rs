//! The first steps of a message, where it is most dangerous: fetching it, giving it a journal row,
//! reading and deciding it. One message's trouble here never reaches the service or the others:
//!
//! - The journal row exists before the message is read, and each reading is counted in it before
//!   it starts ([`Journal::begin_read`]), so even a reading that takes a process down counts.
//! - Reading runs in a process of its own with a CPU and memory budget ([`crate::read::isolate`]);
//!   deciding runs on the blocking pool inside a panic boundary. Neither runs on the async
//!   runtime that keeps the IMAP session, the timers and the health endpoint going.
//! - A message whose fetch or reading failed `imap.poison_attempts` times (a crash, a budget
//!   exceeded, an error from the server for that message alone) is filed to the failed folder
//!   with the reason in the journal and one alert; it is never retried for ever, and the
//!   messages behind it are taken in the same pass.
//! - [`Bridge::guarded`] is the boundary of one message's steps: an error is logged and leaves the
//!   message for the next pass; a panic is counted against the message. Neither reaches the
//!   other messages (the steps never touch the IMAP session: fetching and filing are the pass's).

use std::panic::AssertUnwindSafe;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::FutureExt;

use super::{Bridge, Handled, Next, PassError, log_decision, receive_or_carry, to_decided};
use crate::decide::{self, Decision};
use crate::imap::{Fetched, ImapError};
use crate::journal::Row;
use crate::model::{MsgKey, State, Step};
use crate::read::incoming::{self, Incoming};
use crate::read::isolate::ReadError;

/// Where the intake left a message.
pub(super) enum Intake {
    /// Decided (now or in an earlier pass): the later steps take it from its row.
    Ready(Box<Row>),
    /// No later steps in this pass: done, left, or to be filed (given up on).
    Finished(Next),
}

/// The alert kind of a message filed because its reading failed too often.
pub const ALERT_POISON: &str = "poison_message";

impl Bridge {
    /// One message's steps (`work`) inside the boundary described in the module doc.
    pub(super) async fn guarded<F>(&self, key: &MsgKey, work: F) -> Next
    where
        F: std::future::Future<Output = Result<Next, PassError>>,
    {
        let result = AssertUnwindSafe(work).catch_unwind().await;
        crate::logging::report_suppressed();
        match result {
            Ok(Ok(next)) => next,
            Ok(Err(e)) => {
                tracing::warn!(key = %key, error = %e, "this message could not be taken further in this pass; the others go on");
                Next::Done(Handled::Left)
            }
            Err(panic) => {
                let what = crate::logging::panic_message(&*panic);
                tracing::error!(key = %key, panic = %what, "work on this message stopped on a bug: it is counted against the message");
                if !self.dry_run {
                    let (k, w) = (key.clone(), format!("panicked: {what}"));
                    // Best effort: the row may not exist yet.
                    let _ = self
                        .j(move |j| j.record_error(&k, Step::Panic, &w, false))
                        .await;
                }
                Next::Done(Handled::Left)
            }
        }
    }

    /// Gives the message fetched from `key` a journal row, and reads and decides it when that
    /// is still to do. `fetched` is what the server handed over for it.
    pub(super) async fn intake(
        &self,
        key: &MsgKey,
        fetched: Result<Option<Fetched>, ImapError>,
        started: Instant,
    ) -> Result<Intake, PassError> {
        let poison = self.config.imap.poison_attempts;
        if !self.dry_run {
            let k = key.clone();
            if let Some(row) = self.j(move |j| j.get(&k)).await?
                && row.state != State::Filed
                && row.failures() >= poison
            {
                return self.give_up(key.uid, row).await.map(Intake::Finished);
            }
        }
        let fetched = match fetched {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(Intake::Finished(Next::Done(Handled::Vanished))),
            Err(e) => return self.fetch_failed(key, e).await.map(Intake::Finished),
        };
        if self.dry_run {
            return Ok(Intake::Finished(Next::Done(
                self.dry_read(key, &fetched.raw, started).await,
            )));
        }

        let row = self.row_for(key, &fetched.raw).await?;
        if row.state != State::Received {
            return Ok(Intake::Ready(Box::new(row)));
        }
        if row.failures() >= poison {
            return self.give_up(key.uid, row).await.map(Intake::Finished);
        }
        self.read_and_decide(key, row, &fetched).await
    }

    /// The message's journal row: its own, or the row of the same Message-ID seen under another
    /// UIDVALIDITY (carried on), or a new one.
    async fn row_for(&self, key: &MsgKey, raw: &[u8]) -> Result<Row, PassError> {
        let message_id = incoming::message_id_of(raw);
        let k = key.clone();
        let row = self
            .j(move |j| {
                let row = receive_or_carry(j, &k, message_id.as_deref())?;
                if let (None, Some(mid)) = (&row.message_id, &message_id) {
                    j.set_message_id(&row.key, mid)?;
                }
                Ok(row)
            })
            .await?;
        if row.key != *key {
            tracing::info!(key = %key, earlier_key = %row.key, state = row.state.as_str(), "message seen before under another UIDVALIDITY: carrying on from its journal row");
        }
        Ok(row)
    }

    /// Reads the message in a budgeted worker and decides it (the decision recorded), or counts
    /// the failure against `imap.poison_attempts`.
    async fn read_and_decide(
        &self,
        key: &MsgKey,
        row: Row,
        fetched: &Fetched,
    ) -> Result<Intake, PassError> {
        let poison = self.config.imap.poison_attempts;
        // A worker first: when none can run, the message is not to blame and nothing is counted.
        let job = match self.reader.start().await {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(key = %key, error = %e, "message left for the next pass");
                return Ok(Intake::Finished(Next::Done(Handled::Left)));
            }
        };
        let k = row.key.clone();
        let attempt = self.j(move |j| j.begin_read(&k)).await?;
        let outcome = match job.read(&fetched.raw).await {
            Ok(read) => {
                tracing::info!(
                    key = %key,
                    bytes = fetched.raw.len(),
                    truncated = fetched.truncated,
                    read_cpu_ms = read.cpu.as_millis() as u64,
                    read_peak_kib = read.peak_kib,
                    worker_reads = read.worker_reads,
                    "message read"
                );
                self.decide_off_runtime(read.reply).await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok((reply, d)) => {
                let decided = to_decided(&d, &reply);
                let k = row.key.clone();
                self.j(move |j| j.record_decision(&k, &decided)).await?;
                Ok(Intake::Ready(Box::new(self.reload(&row.key).await?)))
            }
            Err(ReadError::Unavailable(e)) => {
                tracing::error!(key = %key, error = %e, "message left for the next pass");
                Ok(Intake::Finished(Next::Done(Handled::Left)))
            }
            Err(ReadError::Failed(reason)) => {
                let k = row.key.clone();
                let r = reason.clone();
                self.j(move |j| j.record_error(&k, Step::Read, &r, false))
                    .await?;
                tracing::warn!(key = %key, attempt, poison_attempts = poison, reason = %reason, "reading the message failed; the others go on");
                if attempt >= poison {
                    let row = self.reload(&row.key).await?;
                    return self.give_up(key.uid, row).await.map(Intake::Finished);
                }
                Ok(Intake::Finished(Next::Done(Handled::Left)))
            }
        }
    }

    /// SPEC §3 on what the reader returned, on the blocking pool and inside a panic boundary:
    /// the notification the reply answers (journal) and the rules, read at the current time.
    async fn decide_off_runtime(&self, reply: Incoming) -> Result<(Incoming, Decision), ReadError> {
        let journal = self.journal.clone();
        let config = self.config.clone();
        let policy = self.policy.clone();
        let now = unix_now();
        let decided = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                let notified = match &journal {
                    Some(j) => crate::notify::keys::notification_in(j, &reply),
                    None => crate::notify::keys::lookup_notification(&config, &reply),
                };
                let d = decide::decide_at(&reply, notified.as_ref(), &policy, Some(now));
                (reply, d)
            }))
        })
        .await;
        match decided {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(panic)) => Err(ReadError::Failed(format!(
                "deciding it panicked: {}",
                crate::logging::panic_message(&*panic)
            ))),
            Err(e) => Err(ReadError::Failed(format!("deciding it failed: {e}"))),
        }
    }

    /// A dry run reads and decides the same way and only logs.
    async fn dry_read(&self, key: &MsgKey, raw: &[u8], started: Instant) -> Handled {
        match self.reader.read(raw).await {
            Ok(read) => match self.decide_off_runtime(read.reply).await {
                Ok((_, d)) => log_decision(key, &d, "dry run: nothing done", started),
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "dry run: the message could not be decided")
                }
            },
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "dry run: the message could not be read")
            }
        }
        Handled::Done
    }

    /// The server failed to hand over this message (and only this one): counted against it.
    async fn fetch_failed(&self, key: &MsgKey, error: ImapError) -> Result<Next, PassError> {
        tracing::warn!(key = %key, error = %error, "could not fetch this message; the others go on");
        if self.dry_run {
            return Ok(Next::Done(Handled::Left));
        }
        let (k, e) = (key.clone(), error.to_string());
        let row = self
            .j(move |j| {
                j.receive(&k, None)?;
                j.record_error(&k, Step::Fetch, &e, false)?;
                j.get(&k)
            })
            .await?;
        match row {
            Some(row) if row.failures() >= self.config.imap.poison_attempts => {
                self.give_up(key.uid, row).await
            }
            _ => Ok(Next::Done(Handled::Left)),
        }
    }

    /// Marks a message that failed too often as given up, for the failed folder; the pass files
    /// it and says why once ([`Bridge::gave_up_alert`]).
    async fn give_up(&self, uid: u32, row: Row) -> Result<Next, PassError> {
        let k = row.key.clone();
        self.j(move |j| j.mark_gave_up(&k)).await?;
        let folder = self.config.imap.failed_mailbox.clone();
        Ok(Next::File {
            uid,
            row: Box::new(row),
            folder,
            gave_up: true,
        })
    }

    /// After a message given up on was filed: the log line, the metric and one alert.
    pub(super) async fn gave_up_alert(&self, row: &Row, folder: &str) {
        let reason = row
            .last_error
            .as_ref()
            .map(|e| format!("{}: {}", e.step, e.error))
            .unwrap_or_else(|| "its reading never finished (the process stopped during it)".into());
        let failures = row.failures();
        tracing::warn!(key = %row.key, failures, reason = %reason, folder = %folder, "filed to the failed folder: work on this message failed too often");
        crate::metrics::message_poisoned();
        if let Some(journal) = &self.journal {
            let alert = crate::alerts::Alert {
                kind: ALERT_POISON,
                subject: "reject-bridge: a message was filed to the failed folder".into(),
                body: format!(
                    "reject-bridge gave up on a message after {failures} failed attempts and \
                     filed it to the folder \"{folder}\" (its journal row: {}).\n\n\
                     Last reason: {reason}\n\n\
                     The messages behind it were handled as usual. Look at the message in \
                     \"{folder}\"; docs/operations.md says how to run it again.\n\n\
                     This mail is sent at most once a day.\n",
                    row.key
                ),
            };
            crate::alerts::raise(&self.config, journal, &self.sender, alert).await;
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
