//! Entra's refusals: an OAuth error with its AADSTS number, answered as Entra words it
//! (`error`, `error_description` with trace and correlation IDs, `error_codes`, `timestamp`, …),
//! with 400 or 401; also the refusal an injected `status` fault gives, and a delegated grant's
//! failure as a refusal.

use std::time::SystemTime;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::delegated::GrantError;
use crate::state::iso8601;

/// An AADSTS refusal.
pub(super) struct Refusal {
    status: StatusCode,
    error: String,
    code: u32,
    message: String,
}

pub(super) fn refuse(
    status: u16,
    error: &'static str,
    code: u32,
    message: impl Into<String>,
) -> Refusal {
    Refusal {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        error: error.to_string(),
        code,
        message: message.into(),
    }
}

pub(super) fn refusal_response(r: &Refusal) -> Response {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let timestamp = iso8601(SystemTime::now()).replace('T', " ");
    let body = json!({
        "error": r.error,
        "error_description": format!(
            "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
            r.code, r.message
        ),
        "error_codes": [r.code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={}", r.code),
    });
    (
        r.status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// The answer to a token call an injected `status` fault hits, with `Retry-After` as given.
pub(super) fn injected_status(
    status: u16,
    retry_after: Option<&str>,
    code: Option<&str>,
    message: Option<&str>,
) -> Response {
    let refusal = Refusal {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        // A `code` that is not an AADSTS number is the OAuth error itself
        // (`slow_down`, `authorization_pending`, `invalid_grant`, …).
        error: match code {
            Some(c) if c.parse::<u32>().is_err() && !c.starts_with("AADSTS") => c.to_string(),
            _ if status >= 500 => "temporarily_unavailable".into(),
            _ => "invalid_request".into(),
        },
        code: code
            .and_then(|c| c.trim_start_matches("AADSTS").parse().ok())
            .unwrap_or(90033),
        message: message
            .map(str::to_string)
            .unwrap_or_else(|| "A transient error has occurred. Please try again.".into()),
    };
    let mut response = refusal_response(&refusal);
    if let Some(ra) = retry_after
        && let Ok(v) = ra.parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// A delegated grant's failure (device code, refresh token, authorization code) as Entra
/// answers it.
pub(super) fn grant_refusal(e: GrantError) -> Refusal {
    Refusal {
        status: StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        error: e.error.into(),
        code: e.code,
        message: e.message,
    }
}

/// Entra's answer to a call: the JSON body with 200, or the refusal.
pub(super) fn answer_of(result: Result<Value, Refusal>) -> Response {
    match result {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body.to_string(),
        )
            .into_response(),
        Err(refusal) => refusal_response(&refusal),
    }
}
