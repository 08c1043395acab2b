//! The simulated directory: Entra users and groups (a group's members are users or other
//! groups; nested groups count for transitive membership) and Intune's
//! `operationApprovalPolicies`, which name the approver groups of each policy type.
//!
//! Given in the seed file or with `POST /_sim/directory` beside `"requests"`:
//! ```json
//! {"users":    [{"id", "userPrincipalName", "displayName", "mail" (optional)}],
//!  "groups":   [{"id", "displayName", "members": ["user or group id", …]}],
//!  "policies": [{"id", "displayName", "policyType", "approverGroupIds": [...]}]}
//! ```
//! Entries are added or replaced by `id` (any case). Every group member must name a known user
//! or group; a policy may name a group that does not exist (Graph keeps such IDs when a group is
//! deleted), which then answers 404 when its members are asked for.
//!
//! Pure data: the Graph handlers ([`crate::api`]) and the admin API ([`crate::admin`]) read it
//! under the simulator's lock.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// An Entra user.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    #[serde(default)]
    pub mail: Option<String>,
}

impl User {
    /// The user as Graph lists it among a group's members.
    pub fn to_graph(&self) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.user",
            "id": self.id,
            "displayName": self.display_name,
            "userPrincipalName": self.user_principal_name,
            "mail": self.mail,
        })
    }
}

/// An Entra security group.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    /// IDs of member users and groups.
    #[serde(default)]
    pub members: Vec<String>,
}

impl Group {
    /// The group as Graph lists it (without its members).
    pub fn to_graph(&self) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.group",
            "id": self.id,
            "displayName": self.display_name,
            "securityEnabled": true,
            "mailEnabled": false,
        })
    }
}

/// An Intune `operationApprovalPolicy` (Graph beta). Properties besides the four the bridge
/// reads (`description`, `policyPlatform`, `policySet`, …) are kept and served as given.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub id: String,
    pub display_name: String,
    pub policy_type: String,
    #[serde(default)]
    pub approver_group_ids: Vec<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Policy {
    /// The policy as Graph serves it.
    pub fn to_graph(&self) -> Value {
        let mut map = self.other.clone();
        map.insert(
            "@odata.type".into(),
            json!("#microsoft.graph.operationApprovalPolicy"),
        );
        map.insert("id".into(), json!(self.id));
        map.insert("displayName".into(), json!(self.display_name));
        map.insert("policyType".into(), json!(self.policy_type));
        map.insert("approverGroupIds".into(), json!(self.approver_group_ids));
        map.entry("description").or_insert(json!(""));
        map.entry("policyPlatform")
            .or_insert(json!("notApplicable"));
        map.entry("lastModifiedDateTime")
            .or_insert(json!("2026-01-01T00:00:00Z"));
        Value::Object(map)
    }
}

/// What one seed or admin call adds: each list is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Update {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub policies: Vec<Policy>,
}

impl Update {
    /// The directory keys of a JSON object (`users`, `groups`, `policies`); other keys (such as
    /// `requests`) are left to the caller.
    pub fn from_object(map: &Map<String, Value>) -> Result<Update, String> {
        let mut picked = Map::new();
        for key in ["users", "groups", "policies"] {
            if let Some(v) = map.get(key) {
                picked.insert(key.into(), v.clone());
            }
        }
        serde_json::from_value(Value::Object(picked)).map_err(|e| format!("directory: {e}"))
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty() && self.policies.is_empty()
    }
}

/// Users, groups and approval policies, keyed by lower-cased ID.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, Group>,
    policies: BTreeMap<String, Policy>,
}

impl Directory {
    /// Adds or replaces the entries of `update`. Nothing changes when it is refused: every ID
    /// must be non-empty, and every group member a known user or group (after the update).
    pub fn apply(&mut self, update: Update) -> Result<(), String> {
        let mut next = self.clone();
        for u in update.users {
            if u.id.trim().is_empty() {
                return Err("a user needs a non-empty \"id\"".into());
            }
            next.users.insert(u.id.to_lowercase(), u);
        }
        for g in update.groups {
            if g.id.trim().is_empty() {
                return Err("a group needs a non-empty \"id\"".into());
            }
            next.groups.insert(g.id.to_lowercase(), g);
        }
        for p in update.policies {
            if p.id.trim().is_empty() {
                return Err("a policy needs a non-empty \"id\"".into());
            }
            next.policies.insert(p.id.to_lowercase(), p);
        }
        for g in next.groups.values() {
            for m in &g.members {
                let m = m.to_lowercase();
                if !next.users.contains_key(&m) && !next.groups.contains_key(&m) {
                    return Err(format!(
                        "group {}: member {m} is neither a user nor a group",
                        g.id
                    ));
                }
            }
        }
        *self = next;
        Ok(())
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.get(&id.to_lowercase())
    }

    /// The user who signs in as `name` (their userPrincipalName or mail, any case).
    pub fn user_by_name(&self, name: &str) -> Option<&User> {
        let name = name.trim();
        self.users.values().find(|u| {
            u.user_principal_name.eq_ignore_ascii_case(name)
                || u.mail
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(name))
        })
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(&id.to_lowercase())
    }

    /// Every approval policy, in ID order.
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        self.policies.values()
    }

    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.get(&id.to_lowercase())
    }

    /// The users and the groups among the transitive members of group `id` (members of nested
    /// groups too, each once, cycles harmless), in ID order; `None` when there is no such group.
    pub fn transitive_members_of(&self, id: &str) -> Option<(Vec<User>, Vec<Group>)> {
        let root = self.group(id)?;
        let mut seen_groups: BTreeSet<String> = BTreeSet::from([root.id.to_lowercase()]);
        let mut users: BTreeSet<String> = BTreeSet::new();
        let mut nested: BTreeSet<String> = BTreeSet::new();
        let mut todo = vec![root];
        while let Some(g) = todo.pop() {
            for m in &g.members {
                let m = m.to_lowercase();
                if self.users.contains_key(&m) {
                    users.insert(m);
                } else if let Some(inner) = self.groups.get(&m)
                    && seen_groups.insert(m.clone())
                {
                    nested.insert(m);
                    todo.push(inner);
                }
            }
        }
        Some((
            users
                .iter()
                .filter_map(|u| self.users.get(u))
                .cloned()
                .collect(),
            nested
                .iter()
                .filter_map(|g| self.groups.get(g))
                .cloned()
                .collect(),
        ))
    }

    /// The groups that user (or group) `id` belongs to, directly or through nested groups
    /// (Graph's `transitiveMemberOf`), in ID order. Unknown IDs belong to nothing.
    pub fn transitive_groups_of(&self, id: &str) -> Vec<Group> {
        let mut found: BTreeSet<String> = BTreeSet::new();
        let mut todo = vec![id.to_lowercase()];
        while let Some(member) = todo.pop() {
            for (gid, g) in &self.groups {
                if g.members.iter().any(|m| m.eq_ignore_ascii_case(&member))
                    && found.insert(gid.clone())
                {
                    todo.push(gid.clone());
                }
            }
        }
        found
            .iter()
            .filter_map(|g| self.groups.get(g))
            .cloned()
            .collect()
    }

    /// The whole directory as the admin API shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "users": self.users.values().collect::<Vec<_>>(),
            "groups": self.groups.values().collect::<Vec<_>>(),
            "policies": self.policies.values().map(Policy::to_graph).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests;
