//! What the notifier reads from Graph besides the requests (SPEC §7): Intune's approval
//! policies, which name the approver groups of each policy type, the users among a group's
//! transitive members, and one user (to recognise a requester by address).
//!
//! Permissions (application or delegated): `DeviceManagementConfiguration.Read.All` (or
//! `DeviceManagementRBAC.Read.All`) for `operationApprovalPolicies`; `GroupMember.Read.All` and
//! `User.ReadBasic.All` for the groups' members and users. Reads only; each is retried like every
//! other Graph GET.

use serde::{Deserialize, Serialize};

use super::{GraphClient, GraphError, path_segment};

/// An Intune `operationApprovalPolicy` (the properties the notifier reads).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalPolicy {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The `operationApprovalPolicyType` it covers (`deviceWipe`, `app`, `script`, …).
    #[serde(default)]
    pub policy_type: String,
    /// Entra group IDs of its approvers.
    #[serde(default)]
    pub approver_group_ids: Vec<String>,
}

/// An Entra user (the properties the notifier reads).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
}

impl DirectoryUser {
    /// Where mail for this user goes: `mail`, else `userPrincipalName`; lower-cased. `None`
    /// when neither looks like an address.
    pub fn address(&self) -> Option<String> {
        [&self.mail, &self.user_principal_name]
            .into_iter()
            .flatten()
            .map(|a| a.trim().to_lowercase())
            .find(|a| a.contains('@') && !a.starts_with('@') && !a.ends_with('@'))
    }
}

/// The properties asked for, so Graph sends no more than is read.
const USER_SELECT: &str = "id,displayName,userPrincipalName,mail";

impl GraphClient {
    /// Every `operationApprovalPolicy` of the tenant.
    pub async fn approval_policies(&self) -> Result<Vec<ApprovalPolicy>, GraphError> {
        let url = format!(
            "{}/deviceManagement/operationApprovalPolicies",
            self.base_url()
        );
        self.get_pages(&url, "the approval policy list").await
    }

    /// The users among the transitive members of group `group_id` (nested groups included).
    /// An unknown group is `Err(GraphError::Api { status: 404, .. })`.
    pub async fn group_users(&self, group_id: &str) -> Result<Vec<DirectoryUser>, GraphError> {
        let url = format!(
            "{}/groups/{}/transitiveMembers/microsoft.graph.user?$select={USER_SELECT}&$top=999",
            self.base_url(),
            path_segment(group_id)
        );
        self.get_pages(&url, "the group's member list").await
    }

    /// User `id`. Unknown: `Err(GraphError::Api { status: 404, .. })`.
    pub async fn user(&self, id: &str) -> Result<DirectoryUser, GraphError> {
        let url = format!(
            "{}/users/{}?$select={USER_SELECT}",
            self.base_url(),
            path_segment(id)
        );
        self.get_one(&url, "the user").await
    }
}

#[cfg(test)]
mod tests;
