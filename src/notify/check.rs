//! The notifier's line of `reject-bridge check`: can the request list be read, who would be
//! told, and where replies go. Sends nothing, writes nothing.

use super::{keys, recipients};
use crate::config::Config;
use crate::graph::{GraphClient, NEEDS_APPROVAL};

/// `reject-bridge check` with `[notify] enabled = true`: reads the request list and works out
/// who would be told (listed recipients, or the approver groups of every approval policy), and
/// says where replies go. Sends nothing, writes nothing. The error is one line in words.
pub async fn check(config: &Config, graph: Option<&GraphClient>) -> Result<String, String> {
    let graph = graph.ok_or("no Graph client (see the graph line)")?;
    let listed = graph
        .list(None)
        .await
        .map_err(|e| format!("cannot read the request list: {e}"))?;
    let waiting = listed.iter().filter(|r| r.status == NEEDS_APPROVAL).count();
    let notify = &config.notify;
    let who = match notify.resolve {
        crate::config::Resolve::Recipients => {
            format!("{} listed recipient(s)", notify.recipients.len())
        }
        crate::config::Resolve::ApproverGroups => {
            let policies = graph
                .approval_policies()
                .await
                .map_err(|e| recipients::ResolveError::Policies(e).to_string())?;
            let all_types: Vec<String> = policies.iter().map(|p| p.policy_type.clone()).collect();
            let groups = recipients::approver_groups(&policies, &all_types);
            let mut members = Vec::new();
            for g in &groups {
                match graph.group_users(g).await {
                    Ok(users) => members.extend(users),
                    Err(e) if e.status() == Some(404) => {}
                    Err(e) => {
                        return Err(recipients::ResolveError::Members {
                            group: g.clone(),
                            error: e,
                        }
                        .to_string());
                    }
                }
            }
            let people = recipients::from_members(&members, &recipients::Excluded::default());
            let ignored = people
                .iter()
                .filter(|r| !config.approvers.allows(&r.address))
                .count();
            format!(
                "{} approval policy(ies), {} approver group(s), {} approver(s) with an address{}",
                policies.len(),
                groups.len(),
                people.len(),
                if ignored > 0 {
                    format!(" ({ignored} not in approvers.allowed: never told)")
                } else {
                    String::new()
                }
            )
        }
    };
    let replies = match notify.reply_key {
        crate::config::ReplyKeyMode::PlusAddress => keys::plus_address(&notify.reply_to, "KEY"),
        crate::config::ReplyKeyMode::ReferencesOnly => notify.reply_to.clone(),
    };
    Ok(format!(
        "request list read ({} listed, {waiting} waiting for approval); {who}; replies go to {replies}",
        listed.len()
    ))
}
