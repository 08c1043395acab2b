//! The simulator's own API under `/_sim/` (no authentication; loopback tools only): seed and
//! inspect requests and the directory, decide requests as the Intune admin center would, queue
//! faults, read the call record, expire tokens, reset.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::directory;
use crate::state::{Fault, Shared};

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.into()})),
    )
        .into_response()
}

/// One JSON object, or a list of them.
fn items(body: Value) -> Vec<Value> {
    match body {
        Value::Array(list) => list,
        Value::Object(ref map) if map.contains_key("requests") && !map.contains_key("id") => {
            map["requests"].as_array().cloned().unwrap_or_default()
        }
        other => vec![other],
    }
}

/// `POST /_sim/requests`: add or replace requests (an object, a list, or `{"requests": [...]}`).
pub async fn put_requests(State(sim): State<Shared>, body: Option<Json<Value>>) -> Response {
    let Some(Json(body)) = body else {
        return bad("expected a JSON request object or a list of them");
    };
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let mut ids = Vec::new();
    for item in items(body) {
        match s.put_request(item) {
            Ok(id) => ids.push(id),
            Err(e) => return bad(e),
        }
    }
    Json(json!({"stored": ids})).into_response()
}

/// `GET /_sim/requests`: every request.
pub async fn list_requests(State(sim): State<Shared>) -> Response {
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    Json(Value::Array(s.requests.values().cloned().collect())).into_response()
}

/// `GET /_sim/requests/{id}`: one request as stored (404 when unknown).
pub async fn get_request(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    match s.requests.get(&id.to_lowercase()) {
        Some(r) => Json(r.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no request {id}")})),
        )
            .into_response(),
    }
}

/// `POST /_sim/requests/{id}/{action}`: the request is approved or rejected in the portal,
/// cancelled by its requester, expires, or completes (see `SimState::change_request`). Optional
/// body `{"by": "<directory user id>", "justification": "…"}`.
pub async fn change_request(
    State(sim): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or(Value::Null);
    let by = body.get("by").and_then(Value::as_str);
    let justification = body.get("justification").and_then(Value::as_str);
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    match s.change_request(&id, &action, by, justification) {
        Ok(request) => Json(request).into_response(),
        Err((status, message)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            Json(json!({"error": message})),
        )
            .into_response(),
    }
}

/// `POST /_sim/directory`: add or replace users, groups and approval policies (and requests,
/// when the body has `"requests"`), by ID. Refused as a whole when anything is wrong.
pub async fn put_directory(State(sim): State<Shared>, body: Option<Json<Value>>) -> Response {
    let Some(Json(Value::Object(map))) = body else {
        return bad("expected a JSON object with users, groups, policies and/or requests");
    };
    for key in map.keys() {
        if !["users", "groups", "policies", "requests"].contains(&key.as_str()) {
            return bad(format!(
                "unknown key {key:?}: expected users, groups, policies, requests"
            ));
        }
    }
    let update = match directory::Update::from_object(&map) {
        Ok(u) => u,
        Err(e) => return bad(e),
    };
    let requests = match map.get("requests") {
        None => Vec::new(),
        Some(Value::Array(list)) => list.clone(),
        Some(_) => return bad("requests: expected a list"),
    };
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let mut dir = s.directory.clone();
    if let Err(e) = dir.apply(update) {
        return bad(e);
    }
    let mut ids = Vec::new();
    let before = s.requests.clone();
    for r in requests {
        match s.put_request(r) {
            Ok(id) => ids.push(id),
            Err(e) => {
                s.requests = before;
                return bad(e);
            }
        }
    }
    s.directory = dir;
    Json(json!({"stored_requests": ids, "directory": s.directory.to_json()})).into_response()
}

/// `GET /_sim/directory`: users, groups and policies.
pub async fn get_directory(State(sim): State<Shared>) -> Response {
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    Json(s.directory.to_json()).into_response()
}

/// `GET /_sim/directory/users/{id}/groups`: the groups a user belongs to, directly or through
/// nested groups.
pub async fn user_groups(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let groups: Vec<Value> = s
        .directory
        .transitive_groups_of(&id)
        .iter()
        .map(|g| g.to_graph())
        .collect();
    Json(Value::Array(groups)).into_response()
}

/// `POST /_sim/faults`: queue faults (an object or a list), applied in order to matching calls.
pub async fn add_faults(State(sim): State<Shared>, body: Option<Json<Value>>) -> Response {
    let Some(Json(body)) = body else {
        return bad("expected a JSON fault object or a list of them");
    };
    let list = match body {
        Value::Array(list) => list,
        other => vec![other],
    };
    let mut parsed = Vec::new();
    for item in list {
        match serde_json::from_value::<Fault>(item) {
            Ok(f) => match f.validate() {
                Ok(()) => parsed.push(f),
                Err(e) => return bad(e),
            },
            Err(e) => return bad(format!("not a fault: {e}")),
        }
    }
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let added = parsed.len();
    s.faults.extend(parsed);
    Json(json!({"queued": added, "pending": s.faults.len()})).into_response()
}

/// `GET /_sim/faults`: the faults not yet used up.
pub async fn list_faults(State(sim): State<Shared>) -> Response {
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!(s.faults)).into_response()
}

/// `DELETE /_sim/faults`: forget every queued fault.
pub async fn clear_faults(State(sim): State<Shared>) -> Response {
    sim.lock().unwrap_or_else(|e| e.into_inner()).faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_sim/calls`: every call so far, oldest first.
pub async fn calls(State(sim): State<Shared>) -> Response {
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!(s.calls)).into_response()
}

/// `POST /_sim/tokens/expire`: every token issued so far expires now.
pub async fn expire_tokens(State(sim): State<Shared>) -> Response {
    sim.lock()
        .unwrap_or_else(|e| e.into_inner())
        .expire_tokens();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sim/reset`: back to the seed; no faults, calls or tokens.
pub async fn reset(State(sim): State<Shared>) -> Response {
    sim.lock().unwrap_or_else(|e| e.into_inner()).reset();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sim/introspect` (RFC 7662, form `token=…`): what a mail server standing in for
/// Exchange Online learns about a bearer token. Active only for a live token issued for the
/// mail scope, and only when the app was granted a mailbox (`--mailbox-user`), which is the
/// `username` the server then compares with the login name.
pub async fn introspect(State(sim): State<Shared>, body: axum::body::Bytes) -> Response {
    let token = crate::entra::parse_form(&body)
        .and_then(|form| form.into_iter().find(|(k, _)| k == "token").map(|(_, v)| v));
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let live = token
        .as_deref()
        .and_then(|t| s.tokens.get(t))
        .filter(|t| t.expires_at > std::time::Instant::now() && t.scope == s.settings.mail_scope);
    match (live, &s.settings.mailbox_user) {
        (Some(t), Some(user)) => {
            let left = t
                .expires_at
                .saturating_duration_since(std::time::Instant::now());
            let exp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                + left;
            Json(json!({
                "active": true,
                "username": user,
                "scope": t.scope,
                "client_id": s.settings.client_id,
                "token_type": "Bearer",
                "exp": exp.as_secs(),
            }))
            .into_response()
        }
        _ => Json(json!({"active": false})).into_response(),
    }
}
