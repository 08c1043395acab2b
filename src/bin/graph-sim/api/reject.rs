//! `POST …/operationApprovalRequests/{id}/reject`, checked in Graph's order: the content type
//! (415), the body (400: exactly `justification` and `approvalSource`, well typed), who calls (403:
//! an application when only users may decide, a user without the consent, outside the policy's
//! approver groups, or the requester), the request (404 when unknown, 400 unless
//! `needsApproval`); then the request is rejected and its `approver` recorded.

use std::time::SystemTime;

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value, json};

use crate::delegated::User;
use crate::directory::Directory;
use crate::state::{SimState, iso8601};

use super::gate::{Caller, media_type};
use super::requests::not_found;
use super::respond::{GraphFail, fail};

/// Graph's limit on `justification`, counted in UTF-16 code units.
pub const MAX_JUSTIFICATION_UTF16: usize = 1024;

/// Rejects request `id` for `caller`; the answer is Graph's `Edm.String` `"rejected"`.
pub(super) fn reject(
    state: &mut SimState,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
    caller: &Caller,
    base: &str,
) -> Result<Value, GraphFail> {
    check_content_type(headers)?;
    let justification = check_reject_body(body)?;
    let settings_client = state.settings.client_id.clone();
    let user = caller.user.clone();
    check_caller(
        state.settings.decisions_delegated_only,
        user.as_ref(),
        &caller.scope,
    )?;
    let request = state
        .requests
        .get_mut(&id.to_lowercase())
        .ok_or_else(|| not_found(id))?;
    let status = request["status"].as_str().unwrap_or("unknown").to_string();
    if let Some(u) = &user {
        check_decider(&state.directory, request, u)?;
    }
    if status != "needsApproval" {
        return Err(fail(
            400,
            "BadRequest",
            format!(
                "Operation approval request {id} is in status '{status}' and cannot be rejected."
            ),
        ));
    }
    record_rejection(request, justification, user.as_ref(), settings_client);
    Ok(json!({"@odata.context": format!("{base}/$metadata#Edm.String"), "value": "rejected"}))
}

/// `Content-Type: application/json`, else 415.
fn check_content_type(headers: &HeaderMap) -> Result<(), GraphFail> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if media_type(ctype) != "application/json" {
        return Err(fail(
            415,
            "UnsupportedMediaType",
            format!("The Content-Type must be application/json (got {ctype:?})."),
        ));
    }
    Ok(())
}

/// Only users decide when `delegated_only`; a user needs the DeviceManagementConfiguration
/// consent in the token's `scope`.
fn check_caller(
    delegated_only: bool,
    user: Option<&User>,
    issued_scope: &str,
) -> Result<(), GraphFail> {
    if user.is_none() && delegated_only {
        return Err(fail(
            403,
            "Forbidden",
            "Applications can't approve or reject Multi Admin Approval requests: only interactive admin accounts can (application-only token).",
        ));
    }
    if let Some(u) = user
        && !issued_scope
            .split_whitespace()
            .any(|s| s.ends_with("/DeviceManagementConfiguration.ReadWrite.All"))
    {
        return Err(fail(
            403,
            "Forbidden",
            format!(
                "{} has not consented to DeviceManagementConfiguration.ReadWrite.All (scopes: {issued_scope}).",
                u.user_principal_name
            ),
        ));
    }
    Ok(())
}

/// A user decides only requests of a policy whose approver groups they are in, and never their
/// own.
fn check_decider(dir: &Directory, request: &Value, u: &User) -> Result<(), GraphFail> {
    if !may_decide(dir, request, &u.id) {
        return Err(fail(
            403,
            "Forbidden",
            format!(
                "{} is not a member of an approver group of this request's Multi Admin Approval policy.",
                u.user_principal_name
            ),
        ));
    }
    if request["requestor"]["user"]["id"].as_str() == Some(u.id.as_str()) {
        return Err(fail(
            403,
            "Forbidden",
            "The requestor of an operation approval request cannot approve or reject it.",
        ));
    }
    Ok(())
}

/// The request is now `rejected`, with the justification and who rejected it (the user, or
/// the application itself).
fn record_rejection(
    request: &mut Value,
    justification: String,
    user: Option<&User>,
    settings_client: String,
) {
    if let Value::Object(map) = request {
        map.insert("status".into(), json!("rejected"));
        map.insert("approvalJustification".into(), json!(justification));
        map.insert(
            "lastModifiedDateTime".into(),
            json!(iso8601(SystemTime::now())),
        );
        let approver = match user {
            Some(u) => json!({"user": {
                "id": u.id,
                "displayName": u.display_name,
                "userPrincipalName": u.user_principal_name,
            }}),
            None => {
                json!({"application": {"id": settings_client, "displayName": "reject-bridge"}})
            }
        };
        map.insert("approver".into(), approver);
    }
}

/// Whether user `user_id` is in an approver group of a policy whose type the request requires.
/// A request whose policy types no policy of the directory names is open to any user (an
/// unseeded directory).
fn may_decide(dir: &Directory, request: &Value, user_id: &str) -> bool {
    let types: Vec<&str> = request["requiredOperationApprovalPolicyTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let groups: Vec<String> = dir
        .policies()
        .filter(|p| types.iter().any(|t| p.policy_type.eq_ignore_ascii_case(t)))
        .flat_map(|p| p.approver_group_ids.iter().map(|g| g.to_lowercase()))
        .collect();
    if groups.is_empty() {
        return true;
    }
    dir.transitive_groups_of(user_id)
        .iter()
        .any(|g| groups.contains(&g.id.to_lowercase()))
}

/// The reject body: exactly `justification` and `approvalSource`, well typed.
pub(super) fn check_reject_body(body: &[u8]) -> Result<String, GraphFail> {
    let text = std::str::from_utf8(body)
        .map_err(|_| fail(400, "BadRequest", "The request body is not valid UTF-8."))?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        fail(
            400,
            "BadRequest",
            format!("The request body is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(fail(
            400,
            "BadRequest",
            "The request body must be a JSON object.",
        ));
    };
    check_keys(&map)?;
    let justification = match &map["justification"] {
        Value::String(s) => s.clone(),
        other => {
            return Err(fail(
                400,
                "BadRequest",
                format!(
                    "Cannot convert the literal '{other}' to the expected type 'Edm.String' (justification)."
                ),
            ));
        }
    };
    let units = justification.encode_utf16().count();
    if units > MAX_JUSTIFICATION_UTF16 {
        return Err(fail(
            400,
            "BadRequest",
            format!(
                "Maximum length of justification is {MAX_JUSTIFICATION_UTF16} characters; it has {units}."
            ),
        ));
    }
    match map["approvalSource"].as_str() {
        Some("unknown" | "adminConsole" | "email") => {}
        _ => {
            return Err(fail(
                400,
                "BadRequest",
                format!(
                    "The value {} is not a valid operationApprovalSource (unknown, adminConsole, email).",
                    map["approvalSource"]
                ),
            ));
        }
    }
    Ok(justification)
}

fn check_keys(map: &Map<String, Value>) -> Result<(), GraphFail> {
    for key in map.keys() {
        if key != "justification" && key != "approvalSource" {
            return Err(fail(
                400,
                "BadRequest",
                format!(
                    "The property '{key}' does not exist on type 'microsoft.graph.reject'. Make sure to only use property names that are defined by the type."
                ),
            ));
        }
    }
    for key in ["justification", "approvalSource"] {
        if !map.contains_key(key) {
            return Err(fail(
                400,
                "BadRequest",
                format!("The parameter '{key}' is required."),
            ));
        }
    }
    Ok(())
}
