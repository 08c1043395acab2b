//! The notifier (SPEC §7): with `[notify] enabled = true`, `run` reads the request list every
//! `notify.poll_interval_secs` and tells each approver about each request waiting for approval,
//! once; follows up when a request leaves `needsApproval`; reminds before it expires.
//!
//! ```text
//!  Graph list ──► journal: track / close ──► recipients ──► journal: plan ──► SMTP: send
//!  (all pages,     (close queues the          (recipients   (one mail per    (each pending
//!   status         follow-ups and drops        or approver   request,         mail, after its
//!   filtered       what is pending, in one     groups)       recipient and    attempt is
//!   here)          transaction)                              kind)            counted)
//! ```
//!
//! One poll ([`Notifier::poll`]):
//! 1. List every request (following `@odata.nextLink`; the status is filtered here because
//!    `$filter` support is undocumented). A failure ends the poll: nothing is planned or sent on
//!    stale knowledge, and the next poll starts over, so an outage delays mail and never loses
//!    it.
//! 2. Close every tracked request that is no longer `needsApproval` (or whose
//!    `expirationDateTime` has passed, or that Graph no longer knows): its pending
//!    notifications and reminders are dropped, and everyone who was told gets a follow-up
//!    (`notify.followups`).
//! 3. Track every request waiting for approval and not yet expired, work out its recipients
//!    ([`recipients`]) and plan a notification for each one without one, with a fresh reply
//!    key ([`keys`]). A request that expired meanwhile is never announced.
//! 4. Plan the reminders due (`notify.remind_before_hours`).
//! 5. Send every pending mail, oldest first ([`mail`]): a notification or reminder whose
//!    request closed or expired meanwhile is dropped instead. The mail's row and Message-ID were
//!    written when it was planned and the attempt is counted before the send, so a crash costs
//!    at most one duplicate with the same Message-ID. An SMTP failure that may pass ends the
//!    sending until the next poll; one that will not marks the mail undeliverable.
//!
//! Every step is idempotent against the journal, so a poll repeated after a crash (or two polls
//! racing) plans nothing twice: at most one mail per (request, recipient, kind), ever.

pub mod keys;
pub mod mail;
pub mod recipients;
mod send;

mod check;
pub use check::check;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::config::Config;
use crate::graph::{GraphClient, GraphError, NEEDS_APPROVAL, RequestStatus};
use crate::journal::{Journal, JournalError, MailKind, NewRecipient, timestamp};
use crate::reply::smtp::Sender;
use crate::reply::templates::Templates;

use mail::{MailSettings, parse_time};
use recipients::Directory;

/// The status the notifier records for a request Graph no longer knows (404).
pub const DELETED: &str = "deleted";

/// Why a poll ended early. The next poll starts over; nothing is lost.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("cannot read the request list from Graph: {0}; notifications wait for the next poll")]
    List(#[source] GraphError),
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
}

/// What one poll did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Requests listed by Graph.
    pub listed: usize,
    /// Of those, waiting for approval and not expired.
    pub waiting: usize,
    /// Requests closed (seen out of `needsApproval`).
    pub closed: usize,
    /// Mails planned, by kind.
    pub notifications: usize,
    pub followups: usize,
    pub reminders: usize,
    /// Mails that went out.
    pub sent: usize,
    /// Mails that will never go out (the request closed or expired first).
    pub dropped: usize,
    /// Mails the SMTP server refused for good.
    pub undeliverable: usize,
    /// Mails left pending for the next poll (SMTP unreachable, or stopped).
    pub left: usize,
}

impl PollReport {
    fn anything(&self) -> bool {
        self.closed
            + self.notifications
            + self.followups
            + self.reminders
            + self.sent
            + self.dropped
            + self.undeliverable
            + self.left
            > 0
    }
}

/// The notifier: the Graph, journal and SMTP it works with, and its directory cache.
pub struct Notifier {
    config: Arc<Config>,
    journal: Arc<Journal>,
    graph: GraphClient,
    sender: Sender,
    templates: Arc<Templates>,
    settings: MailSettings,
    /// The domain of the Message-IDs (that of `smtp.from`).
    domain: String,
    directory: tokio::sync::Mutex<Directory>,
}

impl Notifier {
    /// A notifier sharing the service's journal and Graph client (and token cache); it has its
    /// own SMTP connection. No network.
    pub fn new(
        config: Arc<Config>,
        journal: Arc<Journal>,
        graph: GraphClient,
        templates: Arc<Templates>,
    ) -> anyhow::Result<Notifier> {
        let sender = crate::mailauth::make_sender(&config, &graph)
            .map_err(|e| anyhow::anyhow!("smtp: {e}"))?;
        let notify = &config.notify;
        Ok(Notifier {
            settings: MailSettings {
                from: config.smtp.from.clone(),
                reply_to: notify.reply_to.clone(),
                reply_key: notify.reply_key,
                portal_url: notify.portal_url.clone(),
            },
            domain: crate::config::message_id_domain(&config.smtp.from),
            directory: tokio::sync::Mutex::new(Directory::new(notify.directory_cache)),
            config,
            journal,
            graph,
            sender,
            templates,
        })
    }

    /// Polls every `notify.poll_interval_secs` until `stop` turns true. A poll under way when
    /// it does may finish its current mail for [`crate::model::SHUTDOWN_GRACE`]; then it is
    /// abandoned, which is safe (see the module doc).
    pub async fn run(&self, stop: watch::Receiver<bool>) {
        tracing::info!(
            interval_secs = self.config.notify.poll_interval.as_secs(),
            resolve = ?self.config.notify.resolve,
            "notifier started"
        );
        loop {
            if *stop.borrow() {
                return;
            }
            // A failed poll is retried at the next one: Graph's own retries (within
            // graph.retry_max_secs) already ran inside it.
            self.poll_until_stopped(&stop).await;
            let wait = self.config.notify.poll_interval.max(Duration::from_secs(1));
            let mut rx = stop.clone();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wait_for_stop(&mut rx) => return,
            }
        }
    }

    /// One poll that stops taking new mails on `stop` and is abandoned after the grace.
    /// Returns whether it succeeded.
    pub async fn poll_until_stopped(&self, stop: &watch::Receiver<bool>) -> bool {
        let rx = stop.clone();
        let is_stopped = move || *rx.borrow();
        let grace = {
            let mut rx = stop.clone();
            async move {
                wait_for_stop(&mut rx).await;
                tokio::time::sleep(crate::model::SHUTDOWN_GRACE).await;
            }
        };
        tokio::select! {
            r = self.poll(&is_stopped) => match r {
                Ok(report) => {
                    if report.anything() {
                        tracing::info!(
                            listed = report.listed,
                            waiting = report.waiting,
                            closed = report.closed,
                            notifications = report.notifications,
                            followups = report.followups,
                            reminders = report.reminders,
                            sent = report.sent,
                            dropped = report.dropped,
                            undeliverable = report.undeliverable,
                            left = report.left,
                            "notifier poll"
                        );
                    }
                    crate::metrics::notifier_poll(true);
                    true
                }
                Err(e) => {
                    tracing::warn!(error = %e, "notifier poll failed; retrying at the next poll");
                    crate::metrics::notifier_poll(false);
                    false
                }
            },
            _ = grace => {
                tracing::warn!("shutdown: the notifier's mail in hand did not finish in time; it is sent again at the next start");
                false
            }
        }
    }

    async fn j<T, F>(&self, f: F) -> Result<T, JournalError>
    where
        F: FnOnce(&Journal) -> Result<T, JournalError> + Send + 'static,
        T: Send + 'static,
    {
        self.journal.call(f).await
    }

    /// One poll (see the module doc). `stop` is checked between mails.
    pub async fn poll(&self, stop: &(dyn Fn() -> bool + Sync)) -> Result<PollReport, NotifyError> {
        let mut report = PollReport::default();
        let listed = self.graph.list(None).await.map_err(NotifyError::List)?;
        let now = SystemTime::now();
        report.listed = listed.len();
        self.close_decided(&listed, now, &mut report).await?;
        let waiting: Vec<&RequestStatus> = listed
            .iter()
            .filter(|r| r.status == NEEDS_APPROVAL && !expired(r, now))
            .collect();
        report.waiting = waiting.len();
        self.announce(&waiting, &mut report).await?;
        self.plan_reminders(&waiting, now, &mut report).await?;
        self.send_pending(stop, &mut report).await?;
        Ok(report)
    }

    /// Step 2: closes what left needsApproval (decided, expired, deleted), planning follow-ups.
    async fn close_decided(
        &self,
        listed: &[RequestStatus],
        now: SystemTime,
        report: &mut PollReport,
    ) -> Result<(), NotifyError> {
        let by_id: HashMap<String, &RequestStatus> =
            listed.iter().map(|r| (r.id.to_lowercase(), r)).collect();
        let open = self.j(|j| j.open_requests()).await?;
        for tracked in open {
            let current = match by_id.get(&tracked.request_id) {
                Some(r) => Some((*r).clone()),
                None => match self.graph.status(&tracked.request_id).await {
                    Ok(r) => Some(r),
                    Err(e) if e.status() == Some(404) => None,
                    Err(e) => {
                        tracing::warn!(approval_request_id = %tracked.request_id, error = %e, "notifier: a request missing from the list could not be read; trying again next poll");
                        continue;
                    }
                },
            };
            let status = match &current {
                Some(r) if r.status == NEEDS_APPROVAL && !expired(r, now) => continue,
                Some(r) if r.status == NEEDS_APPROVAL => "expired".to_string(),
                Some(r) => r.status.clone(),
                None => DELETED.to_string(),
            };
            let details = current.as_ref().and_then(|r| serde_json::to_string(r).ok());
            let (id, followups, domain) = (
                tracked.request_id.clone(),
                self.config.notify.followups,
                self.domain.clone(),
            );
            let st = status.clone();
            let closed = self
                .j(move |j| j.close_request(&id, &st, details.as_deref(), followups, &domain))
                .await?;
            if closed.closed {
                for _ in 0..closed.dropped.saturating_sub(closed.dropped_reminders) {
                    crate::metrics::notifier_mail(MailKind::Notification.as_str(), "dropped");
                }
                for _ in 0..closed.dropped_reminders {
                    crate::metrics::notifier_mail(MailKind::Reminder.as_str(), "dropped");
                }
                report.closed += 1;
                report.followups += closed.followups;
                report.dropped += closed.dropped;
                tracing::info!(
                    approval_request_id = %tracked.request_id,
                    status = %status,
                    followups = closed.followups,
                    dropped = closed.dropped,
                    "notifier: request no longer waiting for approval"
                );
            }
        }
        Ok(())
    }

    /// Step 3: tracks what waits and plans a notification per recipient not yet told. The
    /// signed-in service account is in an approver group (it must be, to decide) but is the
    /// bridge itself: never told.
    async fn announce(
        &self,
        waiting: &[&RequestStatus],
        report: &mut PollReport,
    ) -> Result<(), NotifyError> {
        let service = self
            .j(|j| j.signin(crate::graph::signin::SERVICE_ACCOUNT))
            .await?
            .map(|s| (s.user_id, s.username));
        for request in waiting {
            let id = request.id.to_lowercase();
            let details = serde_json::to_string(request).unwrap_or_else(|_| "{}".into());
            let expires = request
                .expiration_date_time
                .as_deref()
                .and_then(parse_time)
                .map(timestamp);
            let i = id.clone();
            let newly = self
                .j(move |j| j.track_open(&i, &details, expires.as_deref()))
                .await?;
            let found = {
                let mut dir = self.directory.lock().await;
                let account = service
                    .as_ref()
                    .map(|(id, name)| (id.as_deref(), name.as_deref()))
                    .unwrap_or((None, None));
                dir.recipients(&self.graph, &self.config, account, request)
                    .await
            };
            let recipients = match found {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(approval_request_id = %id, error = %e, "notifier: recipients unknown for now; the request is announced at a later poll");
                    continue;
                }
            };
            if newly {
                tracing::info!(approval_request_id = %id, recipients = recipients.len(), "notifier: new request waiting for approval");
            }
            let planned: Vec<NewRecipient> = recipients
                .into_iter()
                .map(|r| NewRecipient {
                    address: r.address,
                    name: r.name,
                    fresh_key: keys::new_key(),
                })
                .collect();
            let domain = self.domain.clone();
            report.notifications += self
                .j(move |j| j.plan_notifications(&id, &planned, &domain))
                .await?;
        }
        Ok(())
    }

    /// Step 4: plans a reminder for each request within `notify.remind_before` of expiring.
    async fn plan_reminders(
        &self,
        waiting: &[&RequestStatus],
        now: SystemTime,
        report: &mut PollReport,
    ) -> Result<(), NotifyError> {
        let before = self.config.notify.remind_before;
        if before.is_zero() {
            return Ok(());
        }
        for request in waiting {
            let Some(expires) = request.expiration_date_time.as_deref().and_then(parse_time) else {
                continue;
            };
            let Some(window) = expires.checked_sub(before) else {
                continue;
            };
            if now < window {
                continue;
            }
            let (id, told_before, domain) = (
                request.id.to_lowercase(),
                timestamp(window),
                self.domain.clone(),
            );
            report.reminders += self
                .j(move |j| j.plan_reminders(&id, &told_before, &domain))
                .await?;
        }
        Ok(())
    }
}

/// Whether `request`'s `expirationDateTime` has passed at `now` (unreadable or missing: no).
fn expired(request: &RequestStatus, now: SystemTime) -> bool {
    request
        .expiration_date_time
        .as_deref()
        .and_then(parse_time)
        .is_some_and(|e| e <= now)
}

async fn wait_for_stop(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests;
