//! `POST /{tenant}/oauth2/v2.0/token`: the call recorded (secrets redacted), its fault applied,
//! then the checks every grant passes (a POST to a known tenant, a form body, a supported
//! `grant_type`, this app's `client_id`) before the grant itself (`grants.rs`).

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use serde_json::Value;

use crate::delegated::DEVICE_CODE_GRANT;
use crate::net::Conn;
use crate::state::{Call, Endpoint, Shared, SimState, apply_before};

use super::check_endpoint;
use super::form::{Form, parse_form, recorded};
use super::grants;
use super::refusal::{Refusal, answer_of, injected_status, refuse};

/// `POST /{tenant}/oauth2/v2.0/token`, every grant type.
pub async fn token(
    State(sim): State<Shared>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(tenant): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    let call = Call::arriving(
        &method,
        &uri,
        Endpoint::Token,
        None,
        &headers,
        recorded(form.as_deref()),
    );
    let host = call.host.clone();

    let (fault, index) = sim.lock().unwrap_or_else(|e| e.into_inner()).arrive(call);
    let drop_after = match apply_before(&sim, &conn, &fault, index, true, injected_status).await {
        Ok(drop_after) => drop_after,
        Err(response) => return response,
    };

    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let state = &mut *s;
    let result = answer(state, &method, &tenant, &headers, form.as_deref(), &host);
    let response = answer_of(result);
    state.answered(index, response.status().as_u16());
    if drop_after {
        conn.kill();
    }
    response
}

/// The checks every grant passes, then the grant `grant_type` names.
fn answer(
    state: &mut SimState,
    method: &Method,
    tenant: &str,
    headers: &HeaderMap,
    form: Option<&[(String, String)]>,
    host: &str,
) -> Result<Value, Refusal> {
    check_endpoint(method, tenant, &state.settings)?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ctype
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return Err(refuse(
            400,
            "invalid_request",
            900144,
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    let Some(form) = form else {
        return Err(refuse(
            400,
            "invalid_request",
            900144,
            "The request body is not a valid form.",
        ));
    };
    let form = Form(form);
    let grant_type = form.require("grant_type")?;
    if ![
        "client_credentials",
        "refresh_token",
        "authorization_code",
        DEVICE_CODE_GRANT,
    ]
    .contains(&grant_type)
    {
        return Err(refuse(
            400,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let client_id = form.require("client_id")?;
    if client_id != state.settings.client_id {
        return Err(refuse(
            400,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant."
            ),
        ));
    }
    if grant_type != "client_credentials" {
        return grants::delegated(state, form, grant_type, client_id, host, tenant);
    }
    grants::client_credentials(state, form, client_id, host, tenant)
}
