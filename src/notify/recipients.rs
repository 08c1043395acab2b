//! Who is told about a request (SPEC §7): `notify.recipients`, or with
//! `resolve = "approver-groups"` the users among the transitive members of the approver groups
//! of the approval policies whose `policyType` the request requires; never the requester
//! (Intune does not let them decide), never the bridge itself (its mailbox, or the service
//! account signed in with `reject-bridge login`, which must be in an approver group to decide),
//! never an address whose replies `approvers.allowed` would ignore.
//!
//! Policies, group members and users are cached for `notify.directory_cache_secs`; when Graph
//! cannot be read, an expired copy is used rather than nothing (members change rarely, and a
//! notification that waits for Graph is late, not lost).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::{Config, Resolve};
use crate::graph::directory::{ApprovalPolicy, DirectoryUser};
use crate::graph::{GraphClient, GraphError, RequestStatus};

/// One person to tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// Lower-cased.
    pub address: String,
    pub name: Option<String>,
}

/// Why the recipients of a request could not be worked out this time.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "cannot read the approval policies from Graph: {0} (the app needs DeviceManagementConfiguration.Read.All)"
    )]
    Policies(#[source] GraphError),
    #[error(
        "cannot read the members of approver group {group}: {error} (the app needs GroupMember.Read.All and User.ReadBasic.All)"
    )]
    Members {
        group: String,
        #[source]
        error: GraphError,
    },
}

/// The Entra user ID of the requester, when Graph names one.
pub fn requester_id(request: &RequestStatus) -> Option<String> {
    request
        .requestor
        .as_ref()?
        .get("user")?
        .get("id")?
        .as_str()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
}

/// The addresses the requester identity itself carries (some tenants' identity sets include
/// `userPrincipalName` or `mail`), lower-cased.
fn requester_addresses(request: &RequestStatus) -> Vec<String> {
    let Some(user) = request.requestor.as_ref().and_then(|r| r.get("user")) else {
        return Vec::new();
    };
    ["userPrincipalName", "mail", "email"]
        .iter()
        .filter_map(|k| user.get(k).and_then(|v| v.as_str()))
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| a.contains('@'))
        .collect()
}

/// The approver group IDs (lower-cased, each once, in policy order) of the policies whose type
/// the request requires.
pub fn approver_groups(policies: &[ApprovalPolicy], required_types: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in policies {
        if !required_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&p.policy_type))
        {
            continue;
        }
        for g in &p.approver_group_ids {
            let g = g.trim().to_lowercase();
            if !g.is_empty() && !out.contains(&g) {
                out.push(g);
            }
        }
    }
    out
}

/// Who is never told: user IDs and addresses, lower-cased.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Excluded {
    pub user_ids: Vec<String>,
    pub addresses: Vec<String>,
}

impl Excluded {
    fn add_id(&mut self, id: Option<&str>) {
        if let Some(id) = id
            .map(|i| i.trim().to_lowercase())
            .filter(|i| !i.is_empty())
        {
            self.user_ids.push(id);
        }
    }

    fn add_address(&mut self, a: Option<&str>) {
        if let Some(a) = a
            .map(|a| a.trim().to_lowercase())
            .filter(|a| a.contains('@'))
        {
            self.addresses.push(a);
        }
    }
}

/// Who is never told about `request`: the bridge's own addresses, the signed-in service
/// account (user ID, name), and the requester as Graph names them.
pub fn excluded_for(
    config: &Config,
    service_account: (Option<&str>, Option<&str>),
    request: &RequestStatus,
) -> Excluded {
    let mut excluded = Excluded::default();
    for own in [
        &config.smtp.from_address,
        &config.imap.username,
        &config.notify.reply_to,
    ] {
        excluded.add_address(Some(own));
    }
    excluded.add_id(service_account.0);
    excluded.add_address(service_account.1);
    excluded.add_id(requester_id(request).as_deref());
    for a in requester_addresses(request) {
        excluded.add_address(Some(&a));
    }
    excluded
}

/// The recipients among `members`: each address once, none of `excluded` (by user ID or by
/// address), in the order met.
pub fn from_members<'a>(
    members: impl IntoIterator<Item = &'a DirectoryUser>,
    excluded: &Excluded,
) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    for u in members {
        if excluded.user_ids.contains(&u.id.to_lowercase()) {
            continue;
        }
        let Some(address) = u.address() else { continue };
        if excluded.addresses.contains(&address) || out.iter().any(|r| r.address == address) {
            continue;
        }
        out.push(Recipient {
            address,
            name: u
                .display_name
                .as_ref()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
        });
    }
    out
}

/// The listed recipients, each once, without the `excluded` addresses.
pub fn from_list(listed: &[String], excluded: &Excluded) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    for a in listed {
        let a = a.trim().to_lowercase();
        if excluded.addresses.contains(&a) || out.iter().any(|r| r.address == a) {
            continue;
        }
        out.push(Recipient {
            address: a,
            name: None,
        });
    }
    out
}

struct Cached<T> {
    at: Instant,
    value: T,
}

/// The directory as the notifier last read it.
pub struct Directory {
    ttl: Duration,
    policies: Option<Cached<Vec<ApprovalPolicy>>>,
    groups: HashMap<String, Cached<Option<Vec<DirectoryUser>>>>,
    users: HashMap<String, Cached<Option<DirectoryUser>>>,
}

impl Directory {
    pub fn new(ttl: Duration) -> Directory {
        Directory {
            ttl,
            policies: None,
            groups: HashMap::new(),
            users: HashMap::new(),
        }
    }

    fn fresh<T>(&self, c: Option<&Cached<T>>) -> bool {
        c.is_some_and(|c| c.at.elapsed() < self.ttl)
    }

    /// Who to tell about `request`, as configured: never the requester, the bridge's own
    /// mailbox or `service_account` (the signed-in account's user ID and name, when there is
    /// one). Recipients whose replies `approvers.allowed` would ignore are left out (and named
    /// in the log).
    pub async fn recipients(
        &mut self,
        graph: &GraphClient,
        config: &Config,
        service_account: (Option<&str>, Option<&str>),
        request: &RequestStatus,
    ) -> Result<Vec<Recipient>, ResolveError> {
        let (notify, approvers) = (&config.notify, &config.approvers);
        let mut excluded = excluded_for(config, service_account, request);
        let requester = requester_id(request);
        let found = match notify.resolve {
            Resolve::Recipients => {
                if let Some(id) = &requester
                    && let Some(user) = self.user(graph, id).await
                {
                    excluded.add_address(user.address().as_deref());
                }
                from_list(&notify.recipients, &excluded)
            }
            Resolve::ApproverGroups => {
                let policies = self.policies(graph).await?;
                let groups =
                    approver_groups(&policies, &request.required_operation_approval_policy_types);
                if groups.is_empty() {
                    tracing::warn!(
                        approval_request_id = %request.id,
                        policy_types = ?request.required_operation_approval_policy_types,
                        "notifier: no approval policy with approver groups covers this request's policy types; nobody to tell"
                    );
                }
                let mut members: Vec<DirectoryUser> = Vec::new();
                for g in groups {
                    if let Some(users) = self.group(graph, &g).await? {
                        members.extend(users);
                    }
                }
                from_members(&members, &excluded)
            }
        };
        let (kept, ignored): (Vec<Recipient>, Vec<Recipient>) = found
            .into_iter()
            .partition(|r| approvers.allows(&r.address));
        if !ignored.is_empty() {
            let names: Vec<&str> = ignored.iter().map(|r| r.address.as_str()).collect();
            tracing::warn!(
                approval_request_id = %request.id,
                not_told = ?names,
                "notifier: approvers not in approvers.allowed are not told (their replies would be ignored); add them there"
            );
        }
        Ok(kept)
    }

    async fn policies(&mut self, graph: &GraphClient) -> Result<Vec<ApprovalPolicy>, ResolveError> {
        if self.fresh(self.policies.as_ref())
            && let Some(c) = &self.policies
        {
            return Ok(c.value.clone());
        }
        match graph.approval_policies().await {
            Ok(p) => {
                self.policies = Some(Cached {
                    at: Instant::now(),
                    value: p.clone(),
                });
                Ok(p)
            }
            Err(e) => match &self.policies {
                Some(stale) => {
                    tracing::warn!(error = %e, "notifier: approval policies not readable; using the copy read earlier");
                    Ok(stale.value.clone())
                }
                None => Err(ResolveError::Policies(e)),
            },
        }
    }

    /// The users of group `id`; `None` when Graph knows no such group (a deleted group still
    /// named by a policy: skipped, and said).
    async fn group(
        &mut self,
        graph: &GraphClient,
        id: &str,
    ) -> Result<Option<Vec<DirectoryUser>>, ResolveError> {
        if self.fresh(self.groups.get(id))
            && let Some(c) = self.groups.get(id)
        {
            return Ok(c.value.clone());
        }
        let value = match graph.group_users(id).await {
            Ok(users) => Some(users),
            Err(e) if e.status() == Some(404) => {
                tracing::warn!(
                    group = id,
                    "notifier: an approval policy names a group that does not exist; skipped"
                );
                None
            }
            Err(e) => {
                return match self.groups.get(id) {
                    Some(stale) => {
                        tracing::warn!(group = id, error = %e, "notifier: group members not readable; using the copy read earlier");
                        Ok(stale.value.clone())
                    }
                    None => Err(ResolveError::Members {
                        group: id.to_string(),
                        error: e,
                    }),
                };
            }
        };
        self.groups.insert(
            id.to_string(),
            Cached {
                at: Instant::now(),
                value: value.clone(),
            },
        );
        Ok(value)
    }

    /// User `id`, for recognising the requester among listed recipients; `None` when it
    /// cannot be read (the app may lack `User.ReadBasic.All`: said once per user and cache
    /// period).
    async fn user(&mut self, graph: &GraphClient, id: &str) -> Option<DirectoryUser> {
        if self.fresh(self.users.get(id))
            && let Some(c) = self.users.get(id)
        {
            return c.value.clone();
        }
        let value = match graph.user(id).await {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::warn!(user = id, error = %e, "notifier: cannot read the requester's address; the listed recipients are told without checking who asked");
                None
            }
        };
        self.users.insert(
            id.to_string(),
            Cached {
                at: Instant::now(),
                value: value.clone(),
            },
        );
        value
    }
}

#[cfg(test)]
mod tests;
