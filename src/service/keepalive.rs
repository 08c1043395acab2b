//! The daemon's sign-in upkeep: the delegated service account's refresh token redeemed at
//! least every `graph.keepalive`, and with `graph.act_as = "approver"` the linking endpoint and
//! the approvers' refresh tokens kept alive.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::pipeline::Bridge;

/// The daemon's sign-in upkeep: with `graph.act_as = "approver"` the linking endpoint and the
/// approvers' refresh tokens kept alive; with a delegated service account, its refresh token.
pub(super) async fn start_sign_in_upkeep(
    bridge: &Arc<Bridge>,
    config: &Arc<Config>,
) -> anyhow::Result<()> {
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
