//! The optional operations endpoint (`[metrics] listen`): Prometheus metrics at `GET /metrics`
//! and a liveness rule at `GET /healthz`, over plain HTTP (axum), for the ops team's scraper and
//! alerting. docs/operations.md lists every metric and how to alert on it.
//!
//! The counters are recorded with the `metrics` facade at the few points where the pipeline and
//! the service already log an outcome (one call each, see the `record` functions below), into
//! one process-wide Prometheus recorder (`metrics-exporter-prometheus`, rendering only: its own
//! listener is not used, so `/healthz` can live beside `/metrics` on one port). Without
//! `listen` no recorder is installed and every call is a no-op.
//!
//! Health: `/healthz` answers 200 while the last successful pass over the mailbox is at most
//! [`health_max_age`] old (twice the longest normal gap between passes, plus the Graph retry
//! budget one message may spend inside a pass), 503 otherwise, with a one-line reason either way.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::model::{Decided, ReplyResult};

pub const MESSAGES: &str = "reject_bridge_messages_total";
pub const GRAPH_OUTCOMES: &str = "reject_bridge_graph_outcomes_total";
pub const GRAPH_RETRIES: &str = "reject_bridge_graph_retries_total";
pub const REPLIES: &str = "reject_bridge_replies_total";
pub const PASSES: &str = "reject_bridge_passes_total";
pub const IMAP_RECONNECTS: &str = "reject_bridge_imap_reconnects_total";
pub const LAST_SUCCESS: &str = "reject_bridge_last_successful_pass_timestamp_seconds";
pub const LAST_UNFINISHED: &str = "reject_bridge_last_pass_unfinished_messages";
pub const AWAITING_SIGNIN: &str = "reject_bridge_awaiting_signin_messages";
pub const SIGNIN_OK: &str = "reject_bridge_signin_ok";
pub const POISONED: &str = "reject_bridge_poisoned_messages_total";
pub const NOTIFIER_MAILS: &str = "reject_bridge_notifier_mails_total";
pub const NOTIFIER_POLLS: &str = "reject_bridge_notifier_polls_total";

/// The endpoint could not be started.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(
        "metrics.listen: cannot listen on {addr}: {source}; choose a free port or leave metrics.listen empty to turn the endpoint off"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Unix time of the last successful pass; 0 = none yet.
static LAST_OK_UNIX: AtomicU64 = AtomicU64::new(0);
/// Why the latest pass failed, when it did (cleared by a successful pass).
static LAST_ERROR: Mutex<Option<String>> = Mutex::new(None);
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
/// `graph.auth = "delegated"`: why no decision can be made now (no usable sign-in), if so.
static SIGNIN_PROBLEM: Mutex<Option<String>> = Mutex::new(None);
/// Why the SMTP server refuses the bridge's account, while it does (cleared by a reply sent).
static SMTP_REFUSED: Mutex<Option<String>> = Mutex::new(None);

/// `/healthz` fails when no pass succeeded for this long: twice the longest normal wait between
/// passes (`imap.poll_interval_secs`, or the IDLE re-issue period: the service says which is
/// longer), plus the Graph retry budget.
pub fn health_max_age(longest_wait: Duration, graph_retry_max: Duration) -> Duration {
    2 * longest_wait + graph_retry_max
}

/// The health rule, pure: (healthy, one-line reason). `last_ok`/`now` are unix seconds.
pub fn health(
    last_ok: Option<u64>,
    now: u64,
    max_age: Duration,
    last_error: Option<&str>,
) -> (bool, String) {
    let limit = max_age.as_secs();
    let error = last_error
        .map(|e| format!("; last error: {}", one_line(e)))
        .unwrap_or_default();
    match last_ok {
        None => (false, format!("no successful pass yet{error}")),
        Some(t) => {
            let age = now.saturating_sub(t);
            if age <= limit {
                (
                    true,
                    format!("ok: last successful pass {age} s ago (limit {limit} s)"),
                )
            } else {
                (
                    false,
                    format!("stalled: no successful pass for {age} s (limit {limit} s){error}"),
                )
            }
        }
    }
}

fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Describes every metric and gives the unlabelled ones their starting value, on the recorder
/// in force (the global one, or a test's local one).
fn describe() {
    describe_counter!(
        MESSAGES,
        Unit::Count,
        "Messages filed, by decision (reject/refuse/ignore) and SPEC §3 reason"
    );
    describe_counter!(
        GRAPH_OUTCOMES,
        Unit::Count,
        "Graph reject outcomes: rejected, already_decided, not_found, failed"
    );
    describe_counter!(
        GRAPH_RETRIES,
        Unit::Count,
        "Graph calls retried after a transient failure"
    );
    describe_counter!(
        REPLIES,
        Unit::Count,
        "Replies to approvers: sent, undeliverable, deferred (SMTP down, retried next pass)"
    );
    describe_counter!(
        PASSES,
        Unit::Count,
        "Passes over the mailbox, by result (ok/failed)"
    );
    describe_counter!(
        IMAP_RECONNECTS,
        Unit::Count,
        "IMAP connections re-made after a failure"
    );
    describe_counter!(
        NOTIFIER_MAILS,
        Unit::Count,
        "Notifier mails by kind (notification/followup/reminder) and result (sent/undeliverable/dropped/deferred)"
    );
    describe_counter!(
        NOTIFIER_POLLS,
        Unit::Count,
        "Notifier polls of the request list, by result (ok/failed)"
    );
    describe_gauge!(
        LAST_SUCCESS,
        Unit::Seconds,
        "Unix time of the last successful pass (0 before the first)"
    );
    describe_gauge!(
        LAST_UNFINISHED,
        Unit::Count,
        "Messages the last successful pass left in the mailbox for the next one"
    );
    describe_gauge!(
        AWAITING_SIGNIN,
        Unit::Count,
        "Messages waiting for a delegated sign-in (run `reject-bridge login`)"
    );
    describe_gauge!(
        SIGNIN_OK,
        Unit::Count,
        "1 while the delegated sign-in works (or is not used), 0 while it is missing or lost"
    );
    describe_counter!(
        POISONED,
        Unit::Count,
        "Messages filed to the failed folder because their reading failed imap.poison_attempts times"
    );
    counter!(GRAPH_RETRIES).absolute(0);
    counter!(IMAP_RECONNECTS).absolute(0);
    counter!(POISONED).absolute(0);
    counter!(PASSES, "result" => "ok").absolute(0);
    counter!(PASSES, "result" => "failed").absolute(0);
    gauge!(LAST_SUCCESS).set(LAST_OK_UNIX.load(Ordering::Relaxed) as f64);
    gauge!(LAST_UNFINISHED).set(0.0);
    gauge!(SIGNIN_OK).set(1.0);
}

/// The process-wide recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will stay empty");
        }
        describe();
        handle
    })
}

/// Starts the endpoint when `listen` (`metrics.listen`) is set, `/healthz` failing after
/// `max_age` ([`health_max_age`]); returns the address it listens on. The server runs on the
/// current runtime until the process ends.
pub async fn start(
    listen: Option<SocketAddr>,
    max_age: Duration,
) -> Result<Option<SocketAddr>, MetricsError> {
    let Some(addr) = listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    let app = router(handle().clone(), max_age);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });
    tracing::info!(listen = %local, "metrics endpoint listening (/metrics, /healthz)");
    Ok(Some(local))
}

/// `/metrics` rendered from `handle`, `/healthz` by [`health`] with `max_age`.
pub fn router(handle: PrometheusHandle, max_age: Duration) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let body = handle.render();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        body,
                    )
                }
            }),
        )
        .route(
            "/healthz",
            get(move || async move {
                let last = LAST_OK_UNIX.load(Ordering::Relaxed);
                let error = LAST_ERROR.lock().ok().and_then(|e| e.clone());
                let (mut ok, mut reason) = health(
                    (last > 0).then_some(last),
                    unix_now(),
                    max_age,
                    error.as_deref(),
                );
                if let Some(problem) = SIGNIN_PROBLEM.lock().ok().and_then(|p| p.clone()) {
                    ok = false;
                    reason = format!("not ready: {}", one_line(&problem));
                }
                if let Some(refused) = SMTP_REFUSED.lock().ok().and_then(|p| p.clone()) {
                    ok = false;
                    reason = format!(
                        "not ready: replies wait: the SMTP server refuses the bridge's account ({}); check smtp.username, smtp.password / smtp.auth and the account's sending limits",
                        one_line(&refused)
                    );
                }
                let status = if ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                (
                    status,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    format!("{reason}\n"),
                )
            }),
        )
}

// ---- recording points (one call each in pipeline.rs, service.rs, graph/mod.rs, notify/) ----

/// The delegated sign-in's state: `problem` is why decisions cannot be made now (`None`: they
/// can), `waiting` how many messages wait for a sign-in. `/healthz` is not ready while a problem
/// lasts.
pub fn signin_state(problem: Option<String>, waiting: u64) {
    gauge!(SIGNIN_OK).set(if problem.is_some() { 0.0 } else { 1.0 });
    gauge!(AWAITING_SIGNIN).set(waiting as f64);
    if let Ok(mut slot) = SIGNIN_PROBLEM.lock() {
        *slot = problem.map(|reason| {
            format!(
                "the delegated sign-in {reason}; {waiting} message(s) wait for `reject-bridge login`"
            )
        });
    }
}

/// The SMTP server refuses the bridge's account (`Some(why)`: a refused login, a sending quota or
/// policy), or a reply went out (`None`). `/healthz` is not ready while a refusal lasts.
pub fn smtp_refused(why: Option<String>) {
    if let Ok(mut slot) = SMTP_REFUSED.lock() {
        *slot = why;
    }
}

/// An answer was withheld (`approvers.max_replies_per_hour`).
pub fn reply_withheld() {
    counter!(REPLIES, "result" => "withheld").increment(1);
}

/// A message was given up on (it is filed to the failed folder too: see [`message_filed`]).
pub fn message_poisoned() {
    counter!(POISONED).increment(1);
}

/// A message reached its folder, with its row's decision.
pub fn message_filed(decided: Option<&Decided>) {
    let (decision, reason) = match decided {
        Some(d) => (d.verdict.as_str(), d.reason.clone()),
        None => ("-", "-".to_string()),
    };
    counter!(MESSAGES, "decision" => decision, "reason" => reason).increment(1);
}

/// The Graph step's outcome (`GraphOutcome::as_str`).
pub fn graph_outcome(outcome: &'static str) {
    counter!(GRAPH_OUTCOMES, "outcome" => outcome).increment(1);
}

/// A Graph call is about to be retried.
pub fn graph_retry() {
    counter!(GRAPH_RETRIES).increment(1);
}

/// A reply's final result.
pub fn reply_result(result: &ReplyResult) {
    counter!(REPLIES, "result" => result.as_str()).increment(1);
}

/// A reply failed transiently and waits for the next pass.
pub fn reply_deferred() {
    counter!(REPLIES, "result" => "deferred").increment(1);
}

/// A notifier mail's result (`kind`: notification/followup/reminder).
pub fn notifier_mail(kind: &'static str, result: &'static str) {
    counter!(NOTIFIER_MAILS, "kind" => kind, "result" => result).increment(1);
}

/// A notifier poll ended.
pub fn notifier_poll(ok: bool) {
    counter!(NOTIFIER_POLLS, "result" => if ok { "ok" } else { "failed" }).increment(1);
}

/// The daemon is about to reconnect to IMAP after `error` (kept for `/healthz`'s reason).
pub fn imap_reconnect(error: &dyn std::fmt::Display) {
    set_last_error(error);
    counter!(IMAP_RECONNECTS).increment(1);
}

fn set_last_error(error: &dyn std::fmt::Display) {
    if let Ok(mut slot) = LAST_ERROR.lock() {
        *slot = Some(error.to_string());
    }
}

/// A pass over the mailbox succeeded, leaving `left` messages unfinished.
pub fn pass_succeeded(left: usize) {
    let now = unix_now();
    LAST_OK_UNIX.store(now, Ordering::Relaxed);
    if let Ok(mut e) = LAST_ERROR.lock() {
        *e = None;
    }
    counter!(PASSES, "result" => "ok").increment(1);
    gauge!(LAST_SUCCESS).set(now as f64);
    gauge!(LAST_UNFINISHED).set(left as f64);
}

/// A pass over the mailbox ended with `error`.
pub fn pass_failed(error: &dyn std::fmt::Display) {
    set_last_error(error);
    counter!(PASSES, "result" => "failed").increment(1);
}

#[cfg(test)]
mod tests;
