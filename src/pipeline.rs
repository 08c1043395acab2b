//! One message, one step at a time: the glue between the mailbox, the journal, the reader, the
//! decision, Graph, the reply and the filing (DESIGN.md's flow).
//!
//! Every message is a journal row that only moves forward (`received → decided → graph_pending →
//! graph_done → reply_pending → reply_done → filed`). `Bridge::advance` reads the row and takes
//! the next steps until the row is filed or a step must wait for the next pass. Each side effect is
//! preceded by a journal write that records the intent, so after a crash at any point the next
//! pass resumes from a state where the next step is safe:
//! - `graph_pending`: the Graph call may or may not have happened; [`GraphClient::reject`] checks
//!   the request's status before any POST, so a rejection that took effect is recognised as ours
//!   and never sent twice.
//! - `reply_pending`: the reply may or may not have gone out; it is sent again with the same
//!   Message-ID (fixed by the journal before the first send), so a duplicate is recognisable.
//! - a target folder recorded but the row not filed: the MOVE may have happened; a message that
//!   is no longer in the mailbox is then marked filed.
//!
//! One message's failure never stops the others: a permanent problem files it to the failed
//! folder; a transient one (SMTP down) leaves it for the next pass. The first steps (fetch, the
//! journal row, reading in a budgeted process of its own, deciding) and the boundary around each
//! message's handling live in `intake`: a message whose reading fails `imap.poison_attempts`
//! times is filed to the failed folder, and only the connection's errors end a pass.
//!
//! `graph.act_as = "approver"`: a reject is made with the replying approver's own token; an
//! approver without a usable linked account gets a one-time link by mail and the row waits in
//! `awaiting_link` (`link`).
//!
//! Work on several messages can overlap later: a step only touches its own row, and the mailbox
//! is the one shared resource (one IMAP session per worker would be the way to scale).

use std::sync::Arc;
use std::time::Instant;

use crate::config::{ActAs, Config};
use crate::decide::{Decision, Policy};
use crate::graph::signin::approvers::Approvers;
use crate::graph::{self, GraphClient};
use crate::imap::ImapError;
use crate::journal::{Journal, JournalError, Row};
use crate::model::{Decided, GraphOutcome, MsgKey, ReplyResult, State, Verdict};
use crate::read::incoming::Incoming;
use crate::reply::smtp::Sender;
use crate::reply::templates::Templates;

mod graph_step;
mod intake;
mod limits;
mod link;
mod pass;
mod reply_step;
use intake::Intake;

/// What became of one message in this pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Filed (or, in a dry run, decided).
    Done,
    /// Left in the mailbox for the next pass (a transient failure).
    Left,
    /// Gone from the mailbox before it could be read (moved by someone else).
    Vanished,
}

/// Totals of one pass over the mailbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub done: usize,
    pub left: usize,
}

/// Errors that end a pass (the mailbox connection or the journal); a message's own problems
/// never do.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
    /// Work on one message panicked: counted against it; the session is made again.
    #[error("a bug stopped the work on a message: {0}")]
    Panic(String),
}

impl PassError {
    /// Whether the pass must end: the connection is unusable, or a panic may have left the
    /// session mid-command. One message's IMAP NO/BAD or one row's journal error do not.
    pub fn ends_pass(&self) -> bool {
        match self {
            PassError::Imap(e) => e.ends_session(),
            PassError::Journal(_) => false,
            PassError::Panic(_) => true,
        }
    }
}

/// What the Graph step of a reject came to.
enum GraphStep {
    /// The row with its Graph outcome (or unchanged for the next step).
    Done(Row),
    /// No identity to decide with now: the row waits (`awaiting_signin`, `awaiting_link`).
    Waiting,
    /// Held for a link that expired unused: file the row without a decision.
    LinkExpired(Row),
}

/// What is left of a message after its steps in this pass.
enum Next {
    /// Nothing more in this pass.
    Done(Handled),
    /// To be moved to `folder`, the intent recorded first; `row` has every other step done.
    File {
        uid: u32,
        row: Box<Row>,
        folder: String,
        /// Given up on after too many failures (said once, with an alert).
        gave_up: bool,
    },
    /// Already filed in the journal, yet back in the mailbox (a copy re-appeared): moved again.
    Refile { uid: u32, folder: String },
}

impl Next {
    fn file(uid: u32, row: Row, folder: &str) -> Next {
        Next::File {
            uid,
            row: Box::new(row),
            folder: folder.to_string(),
            gave_up: false,
        }
    }
}

/// Everything the steps need, built once at start.
pub struct Bridge {
    pub config: Arc<Config>,
    policy: Arc<Policy>,
    /// Reads each message in a budgeted process of its own.
    reader: crate::read::isolate::Reader,
    templates: Arc<Templates>,
    /// `None` in a dry run: nothing is written.
    journal: Option<Arc<Journal>>,
    graph: GraphClient,
    sender: Sender,
    dry_run: bool,
    /// A sign-in problem was reported and not yet cleared.
    signin_problem: std::sync::atomic::AtomicBool,
    /// Senders whose answers are withheld (`approvers.max_replies_per_hour`), said once each.
    silenced: std::sync::Mutex<std::collections::HashSet<String>>,
    /// When finished rows were last pruned (`state.retention_days`).
    pruned: std::sync::Mutex<Option<Instant>>,
    /// `graph.act_as = "approver"`: the approvers' own sign-ins.
    approvers: Option<Arc<Approvers>>,
    /// Woken when an approver linked their account: held rejections can go out now.
    wake: Arc<tokio::sync::Notify>,
}

impl Bridge {
    /// Opens the journal (unless `dry_run`) and prepares the Graph and SMTP clients, with the
    /// templates loaded at start ([`crate::service::load`]). No network.
    pub fn new(
        config: Arc<Config>,
        templates: Arc<Templates>,
        dry_run: bool,
    ) -> anyhow::Result<Bridge> {
        let journal = if dry_run {
            None
        } else {
            Some(Arc::new(Journal::open(&config.state.path).map_err(
                |e| anyhow::anyhow!("state.path: {}: {e}", config.state.path.display()),
            )?))
        };
        let graph = GraphClient::for_service(
            &config,
            graph::GraphOptions::from_config(&config.graph),
            journal.clone(),
        )
        .map_err(|e| anyhow::anyhow!("graph: {e}"))?;
        let sender = crate::mailauth::make_sender(&config, &graph)
            .map_err(|e| anyhow::anyhow!("smtp: {e}"))?;
        let approvers = match (&journal, config.graph.act_as) {
            (Some(j), ActAs::Approver) => Some(Arc::new(Approvers::new(
                config.clone(),
                graph.http().clone(),
                j.clone(),
            ))),
            _ => None,
        };
        Ok(Bridge {
            policy: Arc::new(Policy::from_config(&config)),
            reader: crate::read::isolate::Reader::new(config.imap.read_budget),
            config,
            templates,
            journal,
            graph,
            sender,
            dry_run,
            signin_problem: std::sync::atomic::AtomicBool::new(true),
            silenced: Default::default(),
            pruned: Default::default(),
            approvers,
            wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Reads a tiny message through a budgeted reading process, so that a machine where none
    /// can run is said at start (see [`crate::read::isolate::Reader::self_test`]).
    pub async fn check_reader(&self) -> anyhow::Result<()> {
        self.reader.self_test().await.map_err(|e| {
            anyhow::anyhow!(
                "{e} (a systemd unit must allow the prlimit64 system call: see dist/reject-bridge.service)"
            )
        })
    }

    /// The Graph client (its token cache also serves IMAP XOAUTH2 logins).
    pub fn graph(&self) -> &GraphClient {
        &self.graph
    }

    /// `graph.act_as = "approver"`: the approvers' own sign-ins.
    pub fn approvers(&self) -> Option<&Arc<Approvers>> {
        self.approvers.as_ref()
    }

    /// Resolves when an approver linked their account (the web endpoint wakes it).
    pub fn wake(&self) -> &Arc<tokio::sync::Notify> {
        &self.wake
    }

    /// The templates of the replies.
    pub(crate) fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The SMTP sender (replies, and alerts to the ops team).
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// Records the delegated sign-in's state after a Graph step or a keep-alive: a problem
    /// raises the alert (one mail a day) and marks `/healthz` not ready; `None` clears both.
    pub async fn signin_state(&self, problem: Option<String>) {
        let Some(journal) = &self.journal else {
            return;
        };
        let was = self
            .signin_problem
            .swap(problem.is_some(), std::sync::atomic::Ordering::Relaxed);
        if problem.is_none() && !was {
            return;
        }
        let waiting = journal
            .call(|j| j.awaiting_signin_count())
            .await
            .unwrap_or(0);
        crate::metrics::signin_state(problem.clone(), waiting);
        match problem {
            Some(reason) => {
                let alert = crate::alerts::signin_lost(&self.config, &reason, waiting);
                crate::alerts::raise(&self.config, journal, &self.sender, alert).await;
            }
            None => {
                let _ = journal
                    .call(|j| j.clear_alert(crate::graph::signin::ALERT_SIGNIN_LOST))
                    .await;
            }
        }
    }

    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.as_ref()
    }

    async fn j<T, F>(&self, f: F) -> Result<T, JournalError>
    where
        F: FnOnce(&Journal) -> Result<T, JournalError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.journal {
            Some(j) => j.call(f).await,
            None => Err(JournalError::Task("no journal in a dry run".into())),
        }
    }

    /// Takes a decided row through every step it still needs short of filing (the Graph call,
    /// the reply), and says what is left: the move to a folder, or nothing in this pass. Touches
    /// only its own row; the mailbox is the caller's.
    async fn advance(&self, uid: u32, mut row: Row, started: Instant) -> Result<Next, PassError> {
        let key = row.key.clone();
        loop {
            let next = match (row.state, row.verdict()) {
                (State::Filed, _) => {
                    // Filed, yet still here (a copy re-appeared): move it along again.
                    let folder = row
                        .target_folder
                        .clone()
                        .unwrap_or_else(|| self.config.imap.processed_mailbox.clone());
                    return Ok(Next::Refile { uid, folder });
                }
                (State::Decided, Some(Verdict::Ignore)) => {
                    return Ok(Next::file(uid, row, &self.config.imap.ignored_mailbox));
                }
                (
                    State::Decided
                    | State::AwaitingSignin
                    | State::AwaitingLink
                    | State::GraphPending,
                    Some(Verdict::Reject),
                ) => match self.graph_step(&row).await? {
                    GraphStep::Done(r) => r,
                    GraphStep::Waiting => {
                        if !matches!(row.state, State::AwaitingSignin | State::AwaitingLink) {
                            log_row(&row, "waiting for a Graph sign-in", started);
                        }
                        return Ok(Next::Done(Handled::Left));
                    }
                    GraphStep::LinkExpired(r) => {
                        return Ok(Next::file(uid, r, &self.config.imap.processed_mailbox));
                    }
                },
                (State::Decided, Some(Verdict::Refuse))
                | (State::GraphDone | State::ReplyPending, _) => match self.reply_step(&row).await?
                {
                    Some(r) => r,
                    None => {
                        log_row(&row, "reply deferred: will retry", started);
                        crate::metrics::reply_deferred();
                        return Ok(Next::Done(Handled::Left));
                    }
                },
                (State::ReplyDone, _) => {
                    let folder = self.folder_for(&row);
                    return Ok(Next::file(uid, row, &folder));
                }
                (state, verdict) => {
                    // A state this code cannot continue from: keep the message, say so.
                    tracing::error!(key = %key, state = state.as_str(), ?verdict, "journal row in an unexpected state; left in the mailbox");
                    return Ok(Next::Done(Handled::Left));
                }
            };
            row = next;
        }
    }

    async fn reload(&self, key: &MsgKey) -> Result<Row, PassError> {
        let k = key.clone();
        self.j(move |j| j.get(&k))
            .await?
            .ok_or_else(|| PassError::Journal(JournalError::NotFound(key.clone())))
    }

    /// Where a finished row goes (SPEC §5).
    fn folder_for(&self, row: &Row) -> String {
        let imap = &self.config.imap;
        match (row.verdict(), &row.graph_outcome) {
            (Some(Verdict::Ignore), _) | (None, _) => imap.ignored_mailbox.clone(),
            (_, Some(GraphOutcome::Failed { .. })) => imap.failed_mailbox.clone(),
            _ if row.gave_up => imap.failed_mailbox.clone(),
            _ => imap.processed_mailbox.clone(),
        }
    }
}

/// The journal row for the message at `key`: its own row when it has one; else, when its
/// Message-ID was seen in the same mailbox under another UIDVALIDITY (the mailbox was deleted and
/// recreated, or rebuilt by the server), that earlier row, so its progress carries on (no second
/// Graph call, no second confirmation, the same reply Message-ID); else a new row.
fn receive_or_carry(
    j: &Journal,
    key: &MsgKey,
    message_id: Option<&str>,
) -> Result<Row, JournalError> {
    if let Some(row) = j.get(key)? {
        return Ok(row);
    }
    if let Some(mid) = message_id {
        let earlier = j
            .find_by_message_id(mid)?
            .into_iter()
            .rev()
            .find(|r| r.key.mailbox == key.mailbox && r.key.uidvalidity != key.uidvalidity);
        if let Some(row) = earlier {
            return Ok(row);
        }
    }
    j.receive(key, message_id)
}

/// What the journal keeps of a decision (bounded: see [`limits::bounded`]).
fn to_decided(d: &Decision, reply: &Incoming) -> Decided {
    limits::bounded(Decided {
        verdict: d.decision,
        reason: d.reason.as_str().to_string(),
        request_id: d.request_id.clone(),
        approver: d.approver.clone(),
        justification: d.justification.clone(),
        graph_justification: d.graph_justification.clone(),
        truncated: d.truncated,
        subject: reply.subject.clone(),
        references: reply.references.clone(),
    })
}

fn log_decision(key: &MsgKey, d: &Decision, outcome: &str, started: Instant) {
    tracing::info!(
        key = %key,
        decision = %d.decision,
        reason = %d.reason,
        request_id = d.request_id.as_deref().unwrap_or("-"),
        approver = d.approver.as_deref().unwrap_or("-"),
        message_id = d.message_id.as_deref().unwrap_or("-"),
        elapsed_ms = started.elapsed().as_millis() as u64,
        explanation = %d.explanation,
        "{outcome}"
    );
}

fn log_row(row: &Row, outcome: &str, started: Instant) {
    let d = row.decided.as_ref();
    tracing::info!(
        key = %row.key,
        decision = d.map(|d| d.verdict.as_str()).unwrap_or("-"),
        reason = d.map(|d| d.reason.as_str()).unwrap_or("-"),
        request_id = d.and_then(|d| d.request_id.as_deref()).unwrap_or("-"),
        approver = d.and_then(|d| d.approver.as_deref()).unwrap_or("-"),
        graph = row.graph_outcome.as_ref().map(|g| g.as_str()).unwrap_or("-"),
        reply = match &row.reply_result {
            Some(ReplyResult::Sent) => "sent",
            Some(ReplyResult::Undeliverable { .. }) => "undeliverable",
            None => "-",
        },
        folder = row.target_folder.as_deref().unwrap_or("-"),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "{outcome}"
    );
}

#[cfg(test)]
mod tests;
