//! `POST /{tenant}/oauth2/v2.0/devicecode` (RFC 8628 §3.1), the start of a device code sign-in:
//! this app's `client_id` (a public client), user scopes (no `.default`); the answer is a new
//! pending grant of [`crate::delegated`]. Of the faults, only `status` applies here.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use crate::state::{Call, Endpoint, FaultAction, Shared, SimState};

use super::check_endpoint;
use super::form::parse_form;
use super::refusal::{Refusal, answer_of, refuse};

/// `POST /{tenant}/oauth2/v2.0/devicecode` (RFC 8628 §3.1): form `client_id`, `scope`.
pub async fn devicecode(
    State(sim): State<Shared>,
    Path(tenant): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_form(&body).unwrap_or_default();
    let call = Call::arriving(
        &method,
        &uri,
        Endpoint::Devicecode,
        None,
        &headers,
        json!(form.iter().cloned().collect::<BTreeMap<String, String>>()),
    );
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let (fault, index) = s.arrive(call);
    let result = start(&mut s, fault.as_ref(), &method, &tenant, &form);
    let response = answer_of(result);
    s.answered(index, response.status().as_u16());
    response
}

/// The checks of a device code request, then a new pending grant.
fn start(
    s: &mut SimState,
    fault: Option<&FaultAction>,
    method: &Method,
    tenant: &str,
    form: &[(String, String)],
) -> Result<Value, Refusal> {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some(FaultAction::Status { status, .. }) = fault {
        return Err(refuse(
            *status,
            "temporarily_unavailable",
            90033,
            "A transient error has occurred.",
        ));
    }
    check_endpoint(method, tenant, &s.settings)?;
    let client_id = field("client_id").unwrap_or_default();
    if client_id != s.settings.client_id {
        return Err(refuse(
            400,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        ));
    }
    if !s.settings.public_client {
        return Err(refuse(
            400,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. (Allow public client flows is off for this app.)",
        ));
    }
    let scopes: Vec<String> = field("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Err(refuse(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        ));
    }
    if let Some(bad) = scopes.iter().find(|s| s.ends_with("/.default")) {
        return Err(refuse(
            400,
            "invalid_scope",
            70011,
            format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid: {bad} cannot be combined with a device code sign-in here."
            ),
        ));
    }
    Ok(s.delegation.start_device(scopes))
}
