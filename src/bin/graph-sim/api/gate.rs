//! The checks every Graph call passes before its endpoint runs, in this order: the method the
//! endpoint takes (else 405), a bearer token issued here, unexpired, for this host (else 401
//! `InvalidAuthenticationToken`), an `Accept` that allows JSON (else 406).

use std::time::Instant;

use axum::http::{HeaderMap, Method, header};

use crate::delegated::User;
use crate::state::{Endpoint, SimState};

use super::respond::{GraphFail, fail};

/// Who calls, as the token says.
pub(super) struct Caller {
    /// The signed-in user of a delegated token; `None` for an application's own token.
    pub(super) user: Option<User>,
    /// The scopes the token was issued for.
    pub(super) scope: String,
}

/// A reject is a POST; everything else a GET.
pub(super) fn check_method(method: &Method, endpoint: Endpoint) -> Result<(), GraphFail> {
    let allowed = match endpoint {
        Endpoint::Reject => Method::POST,
        _ => Method::GET,
    };
    if *method != allowed {
        return Err(fail(
            405,
            "BadRequest",
            format!("The HTTP method '{method}' is not allowed for this resource; use {allowed}."),
        ));
    }
    Ok(())
}

/// Authorization: a bearer token issued here, unexpired, for this host.
pub(super) fn authenticate(
    state: &SimState,
    headers: &HeaderMap,
    host: &str,
) -> Result<Caller, GraphFail> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = match auth.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => {
            return Err(fail(
                401,
                "InvalidAuthenticationToken",
                "Access token is empty.",
            ));
        }
    };
    let Some(issued) = state.tokens.get(token) else {
        return Err(fail(
            401,
            "InvalidAuthenticationToken",
            "IDX14100: JWT is not well formed, there are no dots (.). The token was not issued by this simulator.",
        ));
    };
    if Instant::now() >= issued.expires_at {
        return Err(fail(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ));
    }
    let caller = Caller {
        user: issued.user.clone(),
        scope: issued.scope.clone(),
    };
    let request_host = host
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host)
        .to_ascii_lowercase();
    if !state.settings.any_audience && issued.audience_host != request_host {
        return Err(fail(
            401,
            "InvalidAuthenticationToken",
            format!(
                "Invalid audience: the token is for {} (scope {}), this is {request_host}.",
                issued.audience_host, issued.scope
            ),
        ));
    }
    Ok(caller)
}

/// An `Accept` that allows `application/json`.
pub(super) fn check_accept(headers: &HeaderMap) -> Result<(), GraphFail> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let accepts_json = accept
        .split(',')
        .map(media_type)
        .any(|m| m == "application/json" || m == "application/*" || m == "*/*");
    if !accepts_json {
        return Err(fail(
            406,
            "NotAcceptable",
            format!("The Accept header must allow application/json (got {accept:?})."),
        ));
    }
    Ok(())
}

pub(super) fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}
