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
//! - [`model`]: the plain data every stage speaks (verdicts, reasons, states, steps, message
//!   keys, outcomes), each enum with one string mapping. Depends on nothing.
//! - [`config`]: the TOML file and `REJECT_BRIDGE__*` overrides, validated into ready types.
//! - [`secret`]: a string that never prints. [`malloc`]: glibc's allocator tuned for a small
//!   resident set.
//! - [`read`]: raw bytes → a [`read::incoming::Incoming`] (author, auth headers, IDs' sources,
//!   text); [`read::words`]: the approver's own words, quoted history and signatures removed;
//!   [`read::authres`]: `Authentication-Results` (RFC 8601) and the sender authentication rule;
//!   [`read::isolate`]: the reading in a process of its own, with a CPU and memory budget.
//! - [`decide`]: the decision rules of SPEC §3, pure. [`decide::assent`]: rule 8, whether words read as assent.
//! - [`graph`]: Microsoft Graph: tokens (secret or certificate), status, reject, retries.
//! - [`graph::signin`]: the delegated sign-in of `graph.auth = "delegated"`: `login` (device
//!   code), the sealed refresh token, and the service account's access tokens.
//! - [`decide::justification`]: the string sent to Graph, from its template, within Graph's length limit.
//! - [`reply::compose`]: the replies to approvers, from the templates, as multipart mail.
//! - [`journal`]: the durable SQLite journal, one row per message moving forward through states.
//!   [`lock`]: only one service per journal.
//! - [`imap`]: the IMAP session (connect, fetch without \\Seen, MOVE/COPY+EXPUNGE, IDLE).
//! - [`reply::smtp`]: the SMTP sender (kept sessions, lettre's protocol steps), transient vs
//!   permanent failures.
//! - [`pipeline`]: one message through its journal states, each side effect after its recorded intent.
//! - [`service`]: `run`: one pass (`--once`, `--dry-run`) or the daemon (IDLE/poll, reconnects, shutdown).
//! - [`tls`]: the rustls client configuration (web roots + `ca_file`) and TLS failures in words.
//! - [`mailauth`]: IMAP/SMTP login as configured: password, or XOAUTH2 with the Graph app's tokens.
//! - [`check`]: `reject-bridge check`: each connection tried, one line per check, causes in words.
//! - [`logging`]: the subscriber, with credentials' protocol lines and library floods kept out.
//! - [`web`]: the linking endpoint of `graph.act_as = "approver"` (`/link/{token}`, `/callback`).
//! - [`alerts`]: mail to the ops team when the service needs a person (a lost sign-in).
//! - [`metrics`]: the optional `/metrics` (Prometheus) and `/healthz` endpoint of `[metrics] listen`.
//! - [`notify`]: the notifier (SPEC §7): requests waiting for approval announced to their
//!   approvers, with a reply key per (request, recipient); follow-ups and reminders.

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
