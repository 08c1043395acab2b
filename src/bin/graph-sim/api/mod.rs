//! The simulated Graph endpoints, strict where Graph is and stricter where the SPEC is:
//!
//! - `GET  /{beta|v1.0}/deviceManagement/operationApprovalRequests` (`$top`, `$skiptoken`,
//!   `$filter=status eq '…'`; pages linked by `@odata.nextLink`)
//! - `GET  /{beta|v1.0}/deviceManagement/operationApprovalRequests/{id}`
//! - `POST /{beta|v1.0}/deviceManagement/operationApprovalRequests/{id}/reject`
//! - `GET  /{beta|v1.0}/deviceManagement/operationApprovalPolicies[/{id}]` (paged like the list)
//! - `GET  /{beta|v1.0}/groups/{id}/transitiveMembers[/microsoft.graph.user]` (the users, and
//!   without the cast the nested groups too, of the [`crate::directory`]; paged; 404
//!   `Request_ResourceNotFound` for an unknown group)
//! - `GET  /{beta|v1.0}/users/{id}`
//!
//! Every call needs `Authorization: Bearer <token issued here, unexpired, for this host>` (else
//! 401 `InvalidAuthenticationToken`) and an `Accept` that allows `application/json` (else 406). The
//! reject needs `Content-Type: application/json` (else 415) and a body that is a JSON object with
//! exactly `justification` (string, at most 1024 UTF-16 code units) and `approvalSource` (`unknown`,
//! `adminConsole` or `email`), else 400. Rejecting a request that is not `needsApproval` is a 400;
//! an unknown ID a 404. Errors have Graph's shape `{"error": {"code", "message", "innerError":
//! {"date", "request-id", "client-request-id"}}}` and every answer has `request-id` and
//! `client-request-id` headers.
//!
//! This file: the handler every Graph call goes to (record it, apply its fault, answer it) and
//! the dispatch to the endpoints. Beside it: `route.rs` (path → operation), `gate.rs` (method,
//! token, `Accept`), `requests.rs` (get, list), `reject.rs`, `directory.rs` (policies, members,
//! users, `/me`), `paging.rs` (`$top`, `$skiptoken`, `$filter`), `respond.rs` (error bodies,
//! request-id headers, injected status faults).

mod directory;
mod gate;
mod paging;
mod reject;
mod requests;
mod respond;
mod route;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::net::Conn;
use crate::state::{Call, Endpoint, FaultAction, Shared, SimState, apply_before};

use respond::{GraphFail, error_response, fail, finish};
use route::{DirPath, Route, route};

pub fn headers_of_interest(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in [
        "accept",
        "content-type",
        "client-request-id",
        "user-agent",
        "host",
        "retry-after",
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            out.insert(name.to_string(), v.to_string());
        }
    }
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let scheme = v.split_whitespace().next().unwrap_or_default();
        out.insert("authorization".into(), format!("{scheme} <redacted>"));
    }
    out
}

/// Graph-side handling of one call, on the locked state: the checks every call passes, then its
/// endpoint.
fn handle(
    state: &mut SimState,
    method: &Method,
    uri: &Uri,
    host: &str,
    headers: &HeaderMap,
    body: &[u8],
    route: &Route,
) -> Result<Value, GraphFail> {
    gate::check_method(method, route.endpoint)?;
    let caller = gate::authenticate(state, headers, host)?;
    gate::check_accept(headers)?;

    let base = format!("http://{host}/{}", route.version);
    match route.endpoint {
        Endpoint::Get => requests::get(state, route.id.as_deref().unwrap_or_default(), &base),
        Endpoint::Reject => {
            let id = route.id.as_deref().unwrap_or_default();
            reject::reject(state, id, headers, body, &caller, &base)
        }
        Endpoint::List => requests::list(state, uri, &base),
        Endpoint::Policies | Endpoint::Directory => match &route.dir {
            Some(DirPath::MyGroups) => directory::my_groups(state, caller.user.as_ref(), &base),
            Some(dir) => directory::directory_answer(
                &state.directory,
                dir,
                uri,
                &base,
                state.settings.page_size,
            ),
            None => Err(fail(400, "BadRequest", "Unsupported resource path.")),
        },
        Endpoint::Token | Endpoint::Devicecode | Endpoint::Other => {
            Err(fail(400, "BadRequest", "Unsupported resource path."))
        }
    }
}

/// Every call that is not the token endpoint or `/_sim/`.
pub async fn graph(
    State(sim): State<Shared>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let routed = route(uri.path());
    let call = arrival(&method, &uri, &routed, &headers, &body);
    let host = call.host.clone();
    let (fault, index) = sim.lock().unwrap_or_else(|e| e.into_inner()).arrive(call);
    let drop_after = match apply_before(
        &sim,
        &conn,
        &fault,
        index,
        false,
        |status, retry_after, code, message| {
            respond::injected_status(
                status,
                retry_after,
                code,
                message,
                &request_id,
                &client_request_id,
            )
        },
    )
    .await
    {
        Ok(drop_after) => drop_after,
        Err(response) => return response,
    };

    let response = answer(
        &sim,
        index,
        routed,
        &method,
        &uri,
        &host,
        &headers,
        &body,
        &request_id,
        &client_request_id,
    );
    if drop_after {
        conn.kill();
    }
    if let Some(FaultAction::DelayAfterApply { ms }) = &fault {
        tokio::time::sleep(Duration::from_millis(*ms)).await;
    }
    response
}

/// The call as recorded when it arrives (status 0 until answered).
fn arrival(
    method: &Method,
    uri: &Uri,
    routed: &Result<Route, GraphFail>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Call {
    let (endpoint, id) = match routed {
        Ok(r) => (r.endpoint, r.id.clone()),
        Err(_) => (Endpoint::Other, None),
    };
    let body_value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).unwrap_or_else(|_| json!(String::from_utf8_lossy(body)))
    };
    Call::arriving(method, uri, endpoint, id, headers, body_value)
}

/// Handles the call under the lock and records its status.
#[allow(clippy::too_many_arguments)]
fn answer(
    sim: &Shared,
    index: usize,
    routed: Result<Route, GraphFail>,
    method: &Method,
    uri: &Uri,
    host: &str,
    headers: &HeaderMap,
    body: &Bytes,
    request_id: &str,
    client_request_id: &str,
) -> Response {
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let result = routed.and_then(|r| handle(&mut s, method, uri, host, headers, body, &r));
    let mut response = match result {
        Ok(value) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")],
            value.to_string(),
        )
            .into_response(),
        Err(f) => error_response(&f, request_id, client_request_id),
    };
    finish(&mut response, request_id, client_request_id);
    s.answered(index, response.status().as_u16());
    response
}
