//! The service's loops: one pass (`--once`, `--dry-run`) or the daemon (IMAP session, IDLE or
//! polling, reconnects with backoff, a watchdog on every wait, shutdown between messages).

use std::time::Duration;

use tokio::sync::watch;

use super::{
    RECONNECT_MAX, RECONNECT_MIN, RETRY_LEFT_AFTER, RunEnd, RunOptions, jittered,
    wait_between_passes, watchdog_limit,
};
use crate::config::Config;
use crate::imap::{ImapError, ImapSession};
use crate::model::SHUTDOWN_GRACE;
use crate::pipeline::{Bridge, Pass, PassError};

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

pub(super) async fn run_once(
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

pub(super) async fn daemon(
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
