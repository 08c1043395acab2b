//! Graph's answer shapes: the error body (`{"error": {"code", "message", "innerError"}}`, with
//! `WWW-Authenticate` on a 401), the `request-id` and `client-request-id` headers of every
//! answer, and the answer an injected `status` fault gives.

use std::time::SystemTime;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::iso8601;

/// A Graph error answer.
pub struct GraphFail {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

pub(super) fn fail(status: u16, code: &str, message: impl Into<String>) -> GraphFail {
    GraphFail {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        code: code.to_string(),
        message: message.into(),
    }
}

pub(super) fn error_response(f: &GraphFail, request_id: &str, client_request_id: &str) -> Response {
    let body = json!({
        "error": {
            "code": f.code,
            "message": f.message,
            "innerError": {
                "date": iso8601(SystemTime::now()).trim_end_matches('Z'),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    });
    let mut response = (
        f.status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if f.status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
        );
    }
    response
}

/// The answer to a call an injected `status` fault hits: Graph's error for that status (its
/// usual code unless the fault names one), `Retry-After` as given; nothing is applied.
pub(super) fn injected_status(
    status: u16,
    retry_after: Option<&str>,
    code: Option<&str>,
    message: Option<&str>,
    request_id: &str,
    client_request_id: &str,
) -> Response {
    let default_code = match status {
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        s if s >= 500 => "InternalServerError",
        _ => "BadRequest",
    };
    let f = fail(
        status,
        code.unwrap_or(default_code),
        message
            .map(str::to_string)
            .unwrap_or_else(|| "Simulated failure.".into()),
    );
    let mut response = error_response(&f, request_id, client_request_id);
    if let Some(ra) = retry_after
        && let Ok(v) = HeaderValue::from_str(ra)
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    finish(&mut response, request_id, client_request_id);
    response
}

pub(super) fn finish(response: &mut Response, request_id: &str, client_request_id: &str) {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("request-id", v);
    }
    if !client_request_id.is_empty()
        && let Ok(v) = HeaderValue::from_str(client_request_id)
    {
        headers.insert("client-request-id", v);
    }
}
