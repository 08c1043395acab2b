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
use crate::model::SHUTDOWN_GRACE;
use crate::notify::Notifier;
use crate::pipeline::Bridge;
use crate::reply::templates::Templates;

mod daemon;
mod keepalive;
use daemon::{daemon, run_once};
use keepalive::start_sign_in_upkeep;

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
    let templates = match crate::notify::mail::load_templates(dir) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(format!("smtp.templates_dir: {e}"));
            None
        }
    };
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

#[cfg(test)]
mod tests;
