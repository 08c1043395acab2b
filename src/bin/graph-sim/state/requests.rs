//! The operationApprovalRequests as stored: added or replaced with Graph-like defaults, and moved
//! between statuses as the Intune admin center (or the requester, or time) would move them.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::{SimState, iso8601};

/// The statuses Graph documents for `operationApprovalRequestStatus`.
pub const STATUSES: &[&str] = &[
    "unknown",
    "needsApproval",
    "approved",
    "rejected",
    "cancelled",
    "completed",
    "expired",
    "unknownFutureValue",
];

impl SimState {
    /// Adds or replaces a request; missing properties get Graph-like defaults.
    pub fn put_request(&mut self, request: Value) -> Result<String, String> {
        let Value::Object(mut map) = request else {
            return Err("a request must be a JSON object".into());
        };
        let id = match map.get("id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => return Err("a request needs a non-empty string \"id\"".into()),
        };
        let status = map
            .get("status")
            .cloned()
            .unwrap_or_else(|| json!("needsApproval"));
        match status.as_str() {
            Some(s) if STATUSES.contains(&s) => {}
            _ => {
                return Err(format!(
                    "request {id}: status {status} is not one of {}",
                    STATUSES.join(", ")
                ));
            }
        }
        let now = SystemTime::now();
        let defaults = [
            (
                "@odata.type",
                json!("#microsoft.graph.operationApprovalRequest"),
            ),
            ("status", status),
            ("requestDateTime", json!(iso8601(now))),
            (
                "expirationDateTime",
                json!(iso8601(now + Duration::from_secs(24 * 3600))),
            ),
            ("lastModifiedDateTime", json!(iso8601(now))),
            ("requestJustification", json!("")),
            ("approvalJustification", json!("")),
            (
                "requestor",
                json!({"user": {"id": "00000000-0000-0000-0000-000000000001", "displayName": "Requesting Admin"}}),
            ),
            ("approver", Value::Null),
            (
                "requiredOperationApprovalPolicyTypes",
                json!(["deviceAction"]),
            ),
        ];
        for (key, value) in defaults {
            map.entry(key.to_string()).or_insert(value);
        }
        self.requests.insert(id.to_lowercase(), Value::Object(map));
        Ok(id)
    }

    /// What happens to a request outside the bridge (`POST /_sim/requests/{id}/{action}`):
    /// `approve` or `reject` (in the Intune admin center, by directory user `by` or a default
    /// portal admin, with `justification`), `cancel` (the requester withdraws it), `expire` (its
    /// time ran out: `expirationDateTime` becomes now unless already past), `complete` (an
    /// approved operation was carried out). Only `needsApproval` requests move, except
    /// `complete`, which needs `approved`. Returns the request as stored.
    pub fn change_request(
        &mut self,
        id: &str,
        action: &str,
        by: Option<&str>,
        justification: Option<&str>,
    ) -> Result<Value, (u16, String)> {
        let (status, from) = match action {
            "approve" => ("approved", "needsApproval"),
            "reject" => ("rejected", "needsApproval"),
            "cancel" => ("cancelled", "needsApproval"),
            "expire" => ("expired", "needsApproval"),
            "complete" => ("completed", "approved"),
            other => {
                return Err((
                    404,
                    format!(
                        "unknown action {other:?}: approve, reject, cancel, expire or complete"
                    ),
                ));
            }
        };
        let approver = match (action, by) {
            ("approve" | "reject", Some(user_id)) => {
                let user = self
                    .directory
                    .user(user_id)
                    .ok_or_else(|| (400, format!("by: no directory user {user_id}")))?;
                json!({"user": {"id": user.id, "displayName": user.display_name}})
            }
            ("approve" | "reject", None) => {
                json!({"user": {"id": "00000000-0000-0000-0000-0000000000aa", "displayName": "Portal Approver"}})
            }
            _ => Value::Null,
        };
        let request = self
            .requests
            .get_mut(&id.to_lowercase())
            .ok_or_else(|| (404, format!("no request {id}")))?;
        let current = request["status"].as_str().unwrap_or("unknown").to_string();
        if current != from {
            return Err((
                409,
                format!("request {id} is {current}; {action} needs {from}"),
            ));
        }
        let now = iso8601(SystemTime::now());
        if let Value::Object(map) = request {
            map.insert("status".into(), json!(status));
            map.insert("lastModifiedDateTime".into(), json!(now));
            if !approver.is_null() {
                map.insert("approver".into(), approver);
                map.insert(
                    "approvalJustification".into(),
                    json!(justification.unwrap_or("")),
                );
            }
            if action == "expire"
                && map
                    .get("expirationDateTime")
                    .and_then(Value::as_str)
                    .is_none_or(|e| e > now.as_str())
            {
                map.insert("expirationDateTime".into(), json!(now));
            }
        }
        Ok(request.clone())
    }
}
