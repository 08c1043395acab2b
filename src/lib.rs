//! reject-bridge: turns an approver's e-mail reply into a rejection of a Microsoft Intune
//! Multi Admin Approval request.
//!
//! ```text
//!   imap ──► journal ──► read ──► decide ──► graph ──► reply ──► file
//!  (fetch,   (durable   (parse,  (authorize, (token,    (render,  (MOVE to
//!   IDLE)     row per    trim,    rules of    status,    send via  Processed/
//!             message)   ids)     SPEC §3)    reject)    SMTP)     Ignored/Failed)
//! ```
//!
//! Each module uses only those below it in this order (the flow of a message in the middle);
//! `scripts/check-layers.py` holds the order and fails CI on a circle or an arrow pointing up.
//!
//! # Layout
//! Bottom first, as `scripts/check-layers.py` orders them (README's Layout has every file):
//! - [`model`]: the plain data every stage speaks (verdicts, reasons, states, steps, message
//!   keys, outcomes, the Message-ID form), each enum with one string mapping. Depends on nothing.
//! - [`malloc`], [`secret`], [`logging`], [`tls`], [`lock`]: the allocator's tuning, a string that
//!   never prints, the log subscriber, the rustls configuration, one service per journal.
//! - [`config`]: the TOML file and `REJECT_BRIDGE__*` overrides, validated into ready types.
//! - [`metrics`]: the optional `/metrics` (Prometheus) and `/healthz` endpoint.
//! - [`imap`]: the IMAP session (connect, fetch without \\Seen, MOVE/COPY+EXPUNGE, IDLE).
//! - [`journal`]: the durable SQLite journal, one row per message moving forward through states,
//!   and the notifier's requests and mails.
//! - [`read`]: raw bytes → an [`read::incoming::Incoming`]; the approver's own words
//!   ([`read::words`]); `Authentication-Results` ([`read::authres`]); all in a budgeted process
//!   of its own ([`read::isolate`]).
//! - [`decide`]: the decision rules of SPEC §3, pure; rule 8's assent, the justification.
//! - [`graph`]: Microsoft Graph: tokens, status, reject, retries; [`graph::signin`], the
//!   delegated sign-ins.
//! - [`reply`]: the templates, the replies composed from them, the SMTP sender; [`mailauth`]:
//!   IMAP/SMTP login as configured (password, or XOAUTH2 with the Graph app's tokens).
//! - [`alerts`]: mail to the ops team when the service needs a person (a lost sign-in).
//! - [`notify`]: the notifier (SPEC §7): requests waiting for approval announced to their
//!   approvers, with a reply key per (request, recipient); follow-ups and reminders.
//! - [`pipeline`]: one message through its journal states, each side effect after its recorded
//!   intent.
//! - [`web`]: the linking endpoint of `graph.act_as = "approver"` (`/link/{token}`, `/callback`).
//! - [`service`]: `run`: one pass (`--once`, `--dry-run`) or the daemon (IDLE/poll, reconnects,
//!   shutdown).
//! - [`check`]: `reject-bridge check`: each connection tried, one line per check, causes in words.

pub mod alerts;
pub mod check;
pub mod config;
pub mod decide;
pub mod graph;
pub mod imap;
pub mod journal;
pub mod lock;
pub mod logging;
pub mod mailauth;
pub mod malloc;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod pipeline;
pub mod read;
pub mod reply;
pub mod secret;
pub mod service;
pub mod tls;
pub mod web;
