//! `reject-bridge run`: the service loop around [`Bridge::drain`].
//!
//! - `--once`: connect, one pass over the mailbox, exit (0 when every message reached a folder).
//! - `--dry-run`: the same single pass (with or without `--once`), but nothing is written
//!   anywhere (no journal, no folders created, no Graph call, no mail, no move).
//! - the daemon: a pass after every connect, every IDLE wake-up and every IDLE re-issue (or
//!   every `poll_interval_secs` without IDLE), so mail that arrived in between is never missed.
//!   IDLE is re-issued every `poll_interval_secs` too, capped at [`IDLE_REISSUE`].
//!   Any network or protocol error drops the connection and reconnects with capped exponential
//!   backoff and jitter, logging each attempt once.
//! - the watchdog: every wait (IDLE or the poll timer) must end with an answer from the server
//!   (the DONE of IDLE, or a NOOP) within the wait plus `imap.timeout_secs`; a connection that
//!   died silently (no RST, no answer) is then dropped and re-made, and the log says
//!   `watchdog: ...`. A server that cannot be reached is retried for ever, with backoff.
//!
//! Shutdown (SIGINT/SIGTERM, or the `shutdown` future in tests) stops taking new messages and
//! gives the message in hand [`SHUTDOWN_GRACE`] to finish; past that it is abandoned, which is
//! safe because its journal row already records the intent of the step under way.
//!
//! With `[notify] enabled = true` the [`Notifier`] runs beside the mailbox: as its own task in
//! the daemon (it stops with the same signal and grace), and as one poll after the mailbox pass
//! with `--once` (so a rejection made in that pass is followed up in the same run). A dry run
//! never runs it: it would send mail.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;

use crate::config::{Config, ConfigErrors};
use crate::imap::{ImapError, ImapSession};
use crate::model::SHUTDOWN_GRACE;
use crate::notify::Notifier;
use crate::pipeline::{Bridge, Pass, PassError};
use crate::reply::templates::Templates;

/// IDLE is ended and re-issued at most this long after it began (sooner when `poll_interval_secs`
/// is shorter), well inside the 29 minutes after which RFC 2177 lets a server drop an idle
/// client. Each re-issue runs a pass over the mailbox. With the watchdog, the service never
/// waits longer than this plus one `imap.timeout_secs` without noticing a dead connection.
pub const IDLE_REISSUE: Duration = Duration::from_secs(5 * 60);

/// Reconnect backoff: starts here, doubles, never above [`RECONNECT_MAX`], with ±25 % jitter.
pub const RECONNECT_MIN: Duration = Duration::from_secs(1);
pub const RECONNECT_MAX: Duration = Duration::from_secs(5 * 60);

/// When a pass leaves messages unfinished (SMTP down), the next pass comes at most this soon.
pub const RETRY_LEFT_AFTER: Duration = Duration::from_secs(30);

/// How long the daemon waits between passes when nothing is left over: the IDLE re-issue
/// interval (IDLE), or the poll interval (no IDLE).
pub fn wait_between_passes(poll_interval: Duration, idle: bool) -> Duration {
    if idle {
        IDLE_REISSUE.min(poll_interval)
    } else {
        poll_interval
    }
}

/// The watchdog's limit for one wait of `wait`: the wait itself, then one operation timeout for
/// the server's answer that ends it (IDLE's DONE, or the NOOP after a poll timer), then a
/// second one of slack so that the per-operation timeouts normally report first.
pub fn watchdog_limit(wait: Duration, op_timeout: Duration) -> Duration {
    wait + op_timeout * 2
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    pub once: bool,
    pub dry_run: bool,
}

/// How a run ended, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Everything waiting was handled (`--once`), or a clean shutdown.
    Clean,
    /// `--once`: some messages are left for the next run.
    Unfinished,
}

fn jittered(d: Duration) -> Duration {
    let f: f64 = rand::rng().random_range(0.75..1.25);
    d.mul_f64(f)
}

/// A configuration and what is built from it at start: the templates of the replies and the
/// notifier, loaded and checked once, then shared by both.
pub struct Loaded {
    pub config: Config,
    pub templates: Arc<Templates>,
}

/// Reads the configuration at `path` ([`Config::load`]) and builds what comes from it before
/// anything runs: the reply and notifier templates (each rendered with sample data) and the
/// justification template. Every problem is one line naming its key, as for the file itself.
pub fn load(path: &std::path::Path) -> Result<Loaded, ConfigErrors> {
    let config = Config::load(path)?;
    let templates = built_from_config(&config).map_err(ConfigErrors)?;
    Ok(Loaded { config, templates })
}

/// The templates built from a loaded configuration, or its problems, one line each naming its key.
pub fn built_from_config(config: &Config) -> Result<Arc<Templates>, Vec<String>> {
    let mut problems = Vec::new();
    let dir = config.smtp.templates_dir.as_deref();
    let templates = crate::notify::mail::load_templates(dir)
        .map_err(|e| problems.push(format!("smtp.templates_dir: {e}")))
        .ok();
    if let Err(e) =
        crate::decide::justification::check_template(&config.graph.justification_template)
    {
        problems.push(format!("graph.justification_template: {e}"));
    }
    match templates {
        Some(t) if problems.is_empty() => Ok(Arc::new(t)),
        _ => Err(problems),
    }
}

/// Runs the service until `shutdown` completes (daemon) or one pass is done (`--once`).
pub async fn run(
    config: Arc<Config>,
    templates: Arc<Templates>,
    options: RunOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<RunEnd> {
    // One service per journal (a dry run writes nothing and takes no lock); held until return.
    let _lock = if options.dry_run {
        None
    } else {
        Some(crate::lock::JournalLock::acquire(&config.state.path)?)
    };
    let bridge = Arc::new(Bridge::new(
        config.clone(),
        templates.clone(),
        options.dry_run,
    )?);
    bridge.check_reader().await?;
    let notifier = match (config.notify.enabled, bridge.journal()) {
        (true, Some(journal)) => Some(Arc::new(Notifier::new(
            config.clone(),
            journal.clone(),
            bridge.graph().clone(),
            templates,
        )?)),
        (true, None) => {
            tracing::info!("dry run: the notifier does not run (it would send mail)");
            None
        }
        (false, _) => None,
    };
    let longest_wait = config.imap.poll_interval.max(IDLE_REISSUE);
    crate::metrics::start(
        config.metrics.listen,
        crate::metrics::health_max_age(longest_wait, config.graph.retry_max),
    )
    .await?;
    if !options.once && !options.dry_run {
        start_sign_in_upkeep(&bridge, &config).await?;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    // A dry run is one pass too: as a daemon it would create folders when it connects and decide
    // the same unmoved messages again on every wake-up.
    if options.once || options.dry_run {
        let end = run_once(&bridge, &config, options, stop_rx.clone()).await;
        if let Some(n) = &notifier {
            n.poll_until_stopped(&stop_rx).await;
        }
        return end;
    }
    let notifier_task = notifier.map(|n| {
        let rx = stop_rx.clone();
        tokio::spawn(async move { n.run(rx).await })
    });
    let result = daemon(&bridge, &config, stop_rx).await;
    if let Some(task) = notifier_task {
        // It saw the same stop signal; it has the same grace for a mail in hand.
        let _ = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), task).await;
    }
    result?;
    Ok(RunEnd::Clean)
}

/// The daemon's sign-in upkeep: with `graph.act_as = "approver"` the linking endpoint and the
/// approvers' refresh tokens kept alive; with a delegated service account, its refresh token.
async fn start_sign_in_upkeep(bridge: &Arc<Bridge>, config: &Arc<Config>) -> anyhow::Result<()> {
    if let Some(approvers) = bridge.approvers() {
        let journal = bridge
            .journal()
            .expect("a journal outside a dry run")
            .clone();
        crate::web::start(crate::web::Web {
            config: config.clone(),
            journal: journal.clone(),
            http: bridge.graph().http().clone(),
            approvers: approvers.clone(),
            wake: bridge.wake().clone(),
        })
        .await?;
        tokio::spawn(keepalive_approvers(
            config.clone(),
            journal,
            approvers.clone(),
        ));
    } else if bridge.graph().signin().is_some() {
        tokio::spawn(keepalive(bridge.clone(), config.graph.keepalive));
    }
    Ok(())
}

/// While the sign-in works, re-check it soon when it is lost (to see a new `login`), and after a
/// transient failure.
const SIGNIN_RECHECK: Duration = Duration::from_secs(30);

/// `graph.auth = "delegated"`: redeems the refresh token at start and then at least every
/// `every` (`graph.keepalive_hours`), so an idle service keeps its sign-in alive and learns of a
/// lost one (and of a new `login`) without waiting for mail.
async fn keepalive(bridge: Arc<Bridge>, every: Duration) {
    let Some(signin) = bridge.graph().signin().cloned() else {
        return;
    };
    loop {
        let wait = match signin.refresh_now().await {
            Ok(()) => {
                bridge.signin_state(None).await;
                every
            }
            Err(crate::graph::GraphError::SignIn { reason }) => {
                bridge.signin_state(Some(reason)).await;
                SIGNIN_RECHECK
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not refresh the sign-in now; trying again soon");
                SIGNIN_RECHECK
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// `graph.act_as = "approver"`: every `graph.keepalive_hours`, redeems the sign-in of each
/// linked approver still in `approvers.allowed` (a refused one is marked lost: that approver gets
/// a fresh link with their next reply). Approvers no longer allowed are left to expire.
async fn keepalive_approvers(
    config: Arc<Config>,
    journal: Arc<crate::journal::Journal>,
    approvers: Arc<crate::graph::signin::approvers::Approvers>,
) {
    loop {
        tokio::time::sleep(config.graph.keepalive).await;
        let linked = journal
            .call(|j| j.signins_with_prefix("approver:"))
            .await
            .unwrap_or_default();
        for s in linked {
            let Some(address) = crate::graph::signin::approvers::address_of(&s.account) else {
                continue;
            };
            if s.lost.is_some() || !config.approvers.allows(address) {
                continue;
            }
            if let Ok(signin) = approvers.signin(address)
                && let Err(e) = signin.refresh_now().await
            {
                tracing::info!(approver = %address, error = %e, "an approver's sign-in could not be kept alive");
            }
        }
    }
}

async fn connect(
    bridge: &Bridge,
    config: &Config,
    dry_run: bool,
) -> Result<ImapSession, PassError> {
    let mut mb = crate::mailauth::connect_mailbox(config, bridge.graph()).await?;
    if !dry_run {
        let imap = &config.imap;
        mb.ensure_folders(&[
            &imap.processed_mailbox,
            &imap.ignored_mailbox,
            &imap.failed_mailbox,
        ])
        .await?;
    }
    Ok(mb)
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A pass that stops taking messages on shutdown and abandons the one in hand after the grace.
async fn pass(
    bridge: &Bridge,
    mb: &mut ImapSession,
    stop_rx: &watch::Receiver<bool>,
) -> Result<Option<Pass>, PassError> {
    let rx = stop_rx.clone();
    let stop = move || *rx.borrow();
    let grace = {
        let rx = stop_rx.clone();
        async move {
            stopped(rx).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        }
    };
    tokio::select! {
        r = bridge.drain(mb, &stop) => {
            match &r {
                Ok(pass) => crate::metrics::pass_succeeded(pass.left),
                Err(e) => crate::metrics::pass_failed(e),
            }
            r.map(Some)
        }
        _ = grace => {
            tracing::warn!("shutdown: the message in hand did not finish in time; it resumes safely at the next start");
            Ok(None)
        }
    }
}

async fn run_once(
    bridge: &Bridge,
    config: &Config,
    options: RunOptions,
    stop_rx: watch::Receiver<bool>,
) -> anyhow::Result<RunEnd> {
    let mut mb = connect(bridge, config, options.dry_run).await?;
    let result = pass(bridge, &mut mb, &stop_rx).await;
    let result = match result {
        Ok(r) => r,
        Err(e) => return Err(e.into()),
    };
    mb.logout().await;
    match result {
        Some(p) => {
            tracing::info!(
                handled = p.done,
                left = p.left,
                dry_run = options.dry_run,
                "pass finished"
            );
            Ok(if p.left == 0 {
                RunEnd::Clean
            } else {
                RunEnd::Unfinished
            })
        }
        None => Ok(RunEnd::Unfinished),
    }
}

async fn daemon(
    bridge: &Bridge,
    config: &Config,
    stop_rx: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut backoff = RECONNECT_MIN;
    let mut failures = 0u32;
    loop {
        if *stop_rx.borrow() {
            return Ok(());
        }
        match session(bridge, config, &stop_rx, failures).await {
            Ok(()) => return Ok(()),
            Err(SessionEnd::Failed(e)) => {
                crate::metrics::imap_reconnect(&e);
                failures += 1;
                let wait = jittered(backoff);
                tracing::warn!(
                    error = %e,
                    attempt = failures,
                    retry_in_ms = wait.as_millis() as u64,
                    "mailbox connection lost or refused; reconnecting"
                );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped(stop_rx.clone()) => return Ok(()),
                }
                backoff = (backoff * 2).min(RECONNECT_MAX);
            }
            Err(SessionEnd::Healthy(e)) => {
                // The session worked for a while before failing: reconnect promptly.
                failures = 0;
                backoff = RECONNECT_MIN;
                if is_silence(&e) {
                    tracing::warn!(error = %e, "watchdog: the IMAP server stopped answering; reconnecting");
                } else {
                    tracing::warn!(error = %e, "mailbox connection dropped; reconnecting");
                }
                crate::metrics::imap_reconnect(&e);
            }
        }
    }
}

/// A timeout: the server (or the path to it) went silent rather than closing the connection.
fn is_silence(e: &PassError) -> bool {
    matches!(e, PassError::Imap(ImapError::Timeout { .. }))
}

enum SessionEnd {
    /// Failed before a single pass succeeded.
    Failed(PassError),
    /// Failed after at least one good pass.
    Healthy(PassError),
}

/// One IMAP session: connect, then pass / wait / pass … until shutdown (Ok) or an error.
async fn session(
    bridge: &Bridge,
    config: &Config,
    stop_rx: &watch::Receiver<bool>,
    failures: u32,
) -> Result<(), SessionEnd> {
    let mut mb = connect(bridge, config, false)
        .await
        .map_err(SessionEnd::Failed)?;
    let idle = mb.capabilities().idle && config.imap.idle;
    if failures > 0 {
        tracing::info!(
            host = %config.imap.host,
            after_attempts = failures,
            "reconnected to the mailbox"
        );
    }
    tracing::info!(
        host = %config.imap.host,
        mailbox = %config.imap.mailbox,
        idle,
        "watching the mailbox"
    );
    let mut good_passes = 0u64;
    loop {
        let result = pass(bridge, &mut mb, stop_rx).await;
        let p = match result {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(()),
            Err(e) if good_passes == 0 => return Err(SessionEnd::Failed(e)),
            Err(e) => return Err(SessionEnd::Healthy(e)),
        };
        good_passes += 1;
        if p.done > 0 || p.left > 0 {
            tracing::info!(handled = p.done, left = p.left, "pass finished");
        }
        if *stop_rx.borrow() {
            mb.logout().await;
            return Ok(());
        }
        let wait = if p.left > 0 {
            RETRY_LEFT_AFTER.min(config.imap.poll_interval.max(Duration::from_secs(1)))
        } else {
            wait_between_passes(config.imap.poll_interval, idle)
        };
        let stop = {
            let stop = stopped(stop_rx.clone());
            let wake = bridge.wake().clone();
            // An approver who just linked their account: the held rejection goes out now.
            async move {
                tokio::select! {
                    _ = stop => {}
                    _ = wake.notified() => {}
                }
            }
        };
        // The watchdog: the wait must come back with the server's answer in time, whatever
        // happens inside it (the per-operation timeouts normally report first).
        let limit = watchdog_limit(wait, config.imap.timeout);
        match tokio::time::timeout(limit, mb.idle_wait_until(wait, stop)).await {
            Ok(Ok((next, woken))) => {
                mb = next;
                tracing::debug!(woken, "mailbox wait ended");
            }
            Ok(Err(e)) => return Err(SessionEnd::Healthy(e.into())),
            Err(_) => {
                return Err(SessionEnd::Healthy(PassError::Imap(ImapError::Timeout {
                    step: "IDLE/poll wait (watchdog)",
                    after: limit,
                })));
            }
        }
    }
}

#[cfg(test)]
mod tests;
