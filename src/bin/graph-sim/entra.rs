//! The simulated Entra ID token endpoint: `POST /{tenant}/oauth2/v2.0/token`, client
//! credentials grant with a client secret or a client assertion (JWT signed PS256 or RS256 with a
//! registered certificate, found by `x5t#S256` or `x5t`), answered like Entra: a token
//! (`token_type`, `expires_in`, `access_token`), or an AADSTS error body with 400/401.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::{Value, json};

use crate::delegated::DEVICE_CODE_GRANT;
use crate::net::Conn;
use crate::state::{Call, Endpoint, FaultAction, Settings, Shared, Token, iso8601};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An AADSTS refusal.
struct Refusal {
    status: StatusCode,
    error: String,
    code: u32,
    message: String,
}

fn refuse(status: u16, error: &'static str, code: u32, message: impl Into<String>) -> Refusal {
    Refusal {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        error: error.to_string(),
        code,
        message: message.into(),
    }
}

fn refusal_response(r: &Refusal) -> Response {
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

/// `application/x-www-form-urlencoded` into ordered pairs.
pub fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut pairs = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((percent_decode(k)?, percent_decode(v)?));
    }
    Some(pairs)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn b64url(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Decoded header and claims of an assertion, for the call record (the signature is left out).
fn assertion_summary(jwt: &str) -> Value {
    let mut parts = jwt.split('.');
    let decode = |p: Option<&str>| {
        p.and_then(b64url)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .unwrap_or(Value::Null)
    };
    let header = decode(parts.next());
    let claims = decode(parts.next());
    json!({"header": header, "claims": claims, "signature": "<redacted>"})
}

/// Checks a client assertion against the registered certificates (Entra's rules).
fn verify_assertion(
    settings: &Settings,
    used_jtis: &mut std::collections::HashSet<String>,
    jwt: &str,
    expected_audience: &str,
    client_id: &str,
) -> Result<(), Refusal> {
    let malformed = || {
        refuse(
            400,
            "invalid_request",
            50027,
            "JWT token is invalid or is malformed.",
        )
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err(malformed());
    }
    let header: Value = b64url(parts[0])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(malformed)?;
    let claims: Value = b64url(parts[1])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(malformed)?;
    let signature = b64url(parts[2]).ok_or_else(malformed)?;

    let algorithm: &'static dyn ring::signature::VerificationAlgorithm = match header["alg"]
        .as_str()
    {
        Some("PS256") => &RSA_PSS_2048_8192_SHA256,
        Some("RS256") => &RSA_PKCS1_2048_8192_SHA256,
        other => {
            return Err(refuse(
                401,
                "invalid_client",
                5002738,
                format!(
                    "Invalid JWT token. '{}' is not a supported signature algorithm. Supported: PS256, RS256.",
                    other.unwrap_or("(none)")
                ),
            ));
        }
    };
    let cert = if let Some(t) = header["x5t#S256"].as_str() {
        settings.certificates.iter().find(|c| c.x5t_s256 == t)
    } else if let Some(t) = header["x5t"].as_str() {
        settings.certificates.iter().find(|c| c.x5t == t)
    } else {
        return Err(refuse(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '' (neither x5t#S256 nor x5t in the header)]",
        ));
    };
    let Some(cert) = cert else {
        let thumb = header["x5t#S256"]
            .as_str()
            .or(header["x5t"].as_str())
            .unwrap_or_default();
        return Err(refuse(
            401,
            "invalid_client",
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumb}']"
            ),
        ));
    };
    UnparsedPublicKey::new(algorithm, &cert.public_key)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .map_err(|_| {
            refuse(
                401,
                "invalid_client",
                700027,
                "Client assertion contains an invalid signature. [Reason - The signature does not verify with the registered certificate's key.]",
            )
        })?;

    let audience_ok = match &claims["aud"] {
        Value::String(a) => a.eq_ignore_ascii_case(expected_audience),
        Value::Array(list) => list.iter().any(|a| {
            a.as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(expected_audience))
        }),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse(
            401,
            "invalid_client",
            700212,
            format!(
                "The audience claim of the client assertion must be '{expected_audience}'; it was {}.",
                claims["aud"]
            ),
        ));
    }
    if claims["iss"].as_str() != Some(client_id) || claims["sub"].as_str() != Some(client_id) {
        return Err(refuse(
            401,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter (iss and sub must both be the client id).",
        ));
    }
    let now = now_secs();
    let exp = claims["exp"].as_u64();
    let nbf = claims["nbf"].as_u64().unwrap_or(0);
    // Entra allows five minutes of clock skew.
    if exp.is_none_or(|exp| exp + 300 <= now) || nbf > now + 300 {
        return Err(refuse(
            401,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    let Some(jti) = claims["jti"].as_str().filter(|j| !j.is_empty()) else {
        return Err(refuse(
            401,
            "invalid_client",
            700025,
            "Client assertion has no jti claim.",
        ));
    };
    if !used_jtis.insert(jti.to_string()) {
        return Err(refuse(
            401,
            "invalid_client",
            700025,
            "Client assertion has been used before (replayed jti).",
        ));
    }
    Ok(())
}

/// The resource host of a `.default` scope (`https://graph.microsoft.us/.default` → `graph.microsoft.us`).
fn scope_host(scope: &str) -> Option<String> {
    let resource = scope.strip_suffix("/.default")?;
    let rest = resource
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(resource);
    let authority = rest.split('/').next()?;
    let host = authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(authority);
    Some(host.to_ascii_lowercase())
}

/// What every Entra endpoint checks first: a POST, to a known tenant.
fn check_endpoint(method: &Method, tenant: &str, settings: &Settings) -> Result<(), Refusal> {
    if *method != Method::POST {
        return Err(refuse(
            405,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        ));
    }
    if !tenant.eq_ignore_ascii_case(&settings.tenant) {
        return Err(refuse(
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    Ok(())
}

/// Checks the client's own credential (a secret or an assertion), when it gave one.
fn authenticate_client(
    state: &mut crate::state::SimState,
    form: &[(String, String)],
    host: &str,
    tenant: &str,
    client_id: &str,
) -> Result<(), Refusal> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match (field("client_secret"), field("client_assertion")) {
        (Some(_), Some(_)) => Err(refuse(
            400,
            "invalid_request",
            90014,
            "Only one of 'client_secret' and 'client_assertion' may be given.",
        )),
        (Some(secret), None) => {
            if state.settings.client_secret.as_deref() != Some(secret) {
                return Err(refuse(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
                ));
            }
            Ok(())
        }
        (None, Some(assertion)) => {
            if field("client_assertion_type") != Some(JWT_BEARER) {
                return Err(refuse(
                    400,
                    "invalid_request",
                    900144,
                    format!(
                        "The request body must contain the following parameter: 'client_assertion_type' = '{JWT_BEARER}'."
                    ),
                ));
            }
            let audience = format!("http://{host}/{tenant}/oauth2/v2.0/token");
            verify_assertion(
                &state.settings,
                &mut state.used_jtis,
                assertion,
                &audience,
                client_id,
            )
        }
        (None, None) => Ok(()),
    }
}

/// The token answer of a delegated grant: an access token for the user, the rotated refresh
/// token (when `offline_access` was granted) and an `id_token`.
fn issue_delegated(
    state: &mut crate::state::SimState,
    granted: crate::delegated::Granted,
    host: &str,
    tenant: &str,
) -> Value {
    let resource_scopes: Vec<&String> = granted
        .scopes
        .iter()
        .filter(|s| s.contains("://"))
        .collect();
    let audience_host = resource_scopes
        .first()
        .and_then(|s| {
            let rest = s.split_once("://")?.1;
            let authority = rest.split('/').next()?;
            Some(
                authority
                    .rsplit_once(':')
                    .map(|(h, _)| h)
                    .unwrap_or(authority)
                    .to_ascii_lowercase(),
            )
        })
        .unwrap_or_default();
    let access_token = format!("sim.{}", uuid::Uuid::new_v4().simple());
    let lifetime = state.settings.token_lifetime;
    state.tokens.insert(
        access_token.clone(),
        Token {
            scope: granted.scopes.join(" "),
            audience_host,
            expires_at: Instant::now() + lifetime,
            user: Some(granted.user.clone()),
        },
    );
    let mut answer = json!({
        "token_type": "Bearer",
        "scope": granted.scopes.join(" "),
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": access_token,
    });
    if granted.scopes.iter().any(|s| s == "offline_access") {
        answer["refresh_token"] = json!(granted.refresh_token);
    }
    if granted.scopes.iter().any(|s| s == "openid") {
        answer["id_token"] = json!(crate::delegated::id_token(
            &granted.user,
            &state.settings.client_id,
            &format!("http://{host}/{tenant}/v2.0"),
            tenant,
        ));
    }
    answer
}

/// `POST /{tenant}/oauth2/v2.0/devicecode` (RFC 8628 §3.1): form `client_id`, `scope`.
pub async fn devicecode(
    State(sim): State<Shared>,
    Path(tenant): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let form = parse_form(&body).unwrap_or_default();
    let call = Call {
        seq: 0,
        at_ms: 0,
        method: method.to_string(),
        path: uri.to_string(),
        endpoint: Endpoint::Devicecode,
        id: None,
        host,
        headers: crate::api::headers_of_interest(&headers),
        body: json!(form.iter().cloned().collect::<BTreeMap<String, String>>()),
        status: 0,
        fault: None,
    };
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let (fault, index) = s.arrive(call);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let result = (|| -> Result<Value, Refusal> {
        if let Some(FaultAction::Status { status, .. }) = &fault {
            return Err(refuse(
                *status,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred.",
            ));
        }
        check_endpoint(&method, &tenant, &s.settings)?;
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
    })();
    let response = match result {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body.to_string(),
        )
            .into_response(),
        Err(r) => refusal_response(&r),
    };
    s.answered(index, response.status().as_u16());
    response
}

pub async fn token(
    State(sim): State<Shared>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(tenant): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let form = parse_form(&body);
    let mut recorded: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in form.iter().flatten() {
        let shown = match k.as_str() {
            "client_secret" | "refresh_token" | "device_code" | "code" | "code_verifier" => {
                json!("<redacted>")
            }
            "client_assertion" => assertion_summary(v),
            _ => json!(v),
        };
        recorded.insert(k.clone(), shown);
    }
    let call = Call {
        seq: 0,
        at_ms: 0,
        method: method.to_string(),
        path: uri.to_string(),
        endpoint: Endpoint::Token,
        id: None,
        host: host.clone(),
        headers: crate::api::headers_of_interest(&headers),
        body: serde_json::to_value(recorded).unwrap_or(Value::Null),
        status: 0,
        fault: None,
    };

    let (fault, index) = sim.lock().unwrap_or_else(|e| e.into_inner()).arrive(call);
    let mut drop_after = false;
    match &fault {
        Some(FaultAction::Delay { ms }) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        Some(FaultAction::Drop) => {
            conn.kill();
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(FaultAction::DropAfterApply) => drop_after = true,
        // Nothing to apply before a token is issued: a plain delay here.
        Some(FaultAction::DelayAfterApply { ms }) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await
        }
        Some(FaultAction::Status {
            status,
            retry_after,
            code,
            message,
        }) => {
            let refusal = Refusal {
                status: StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                // A `code` that is not an AADSTS number is the OAuth error itself
                // (`slow_down`, `authorization_pending`, `invalid_grant`, …).
                error: match code.as_deref() {
                    Some(c) if c.parse::<u32>().is_err() && !c.starts_with("AADSTS") => {
                        c.to_string()
                    }
                    _ if *status >= 500 => "temporarily_unavailable".into(),
                    _ => "invalid_request".into(),
                },
                code: code
                    .as_deref()
                    .and_then(|c| c.trim_start_matches("AADSTS").parse().ok())
                    .unwrap_or(90033),
                message: message
                    .clone()
                    .unwrap_or_else(|| "A transient error has occurred. Please try again.".into()),
            };
            let mut response = refusal_response(&refusal);
            if let Some(ra) = retry_after
                && let Ok(v) = ra.parse()
            {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            sim.lock()
                .unwrap_or_else(|e| e.into_inner())
                .answered(index, *status);
            return response;
        }
        Some(FaultAction::ExpireToken) => {
            sim.lock()
                .unwrap_or_else(|e| e.into_inner())
                .expire_tokens();
        }
        None => {}
    }

    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let state = &mut *s;
    let result = (|| -> Result<Value, Refusal> {
        check_endpoint(&method, &tenant, &state.settings)?;
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
        let Some(form) = &form else {
            return Err(refuse(
                400,
                "invalid_request",
                900144,
                "The request body is not a valid form.",
            ));
        };
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let missing = |name: &str| {
            refuse(
                400,
                "invalid_request",
                900144,
                format!("The request body must contain the following parameter: '{name}'."),
            )
        };
        let grant_type = field("grant_type").ok_or_else(|| missing("grant_type"))?;
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
        let client_id = field("client_id").ok_or_else(|| missing("client_id"))?;
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
            // Delegated: a public client (no credential) or a confidential one proving itself.
            if field("client_secret").is_some() || field("client_assertion").is_some() {
                authenticate_client(state, form, &host, &tenant, client_id)?;
            } else if !state.settings.public_client {
                return Err(refuse(
                    401,
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                ));
            }
            let granted = if grant_type == "refresh_token" {
                let rt = field("refresh_token").ok_or_else(|| missing("refresh_token"))?;
                state.delegation.refresh(rt)
            } else if grant_type == "authorization_code" {
                let code = field("code").ok_or_else(|| missing("code"))?;
                let redirect_uri = field("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
                let verifier = field("code_verifier").ok_or_else(|| missing("code_verifier"))?;
                state
                    .codes
                    .redeem(code, client_id, redirect_uri, verifier)
                    .map(|(user, scopes)| crate::authorize::granted(state, user, scopes))
            } else {
                let dc = field("device_code").ok_or_else(|| missing("device_code"))?;
                state.delegation.poll_device(dc)
            }
            .map_err(|e| Refusal {
                status: StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                error: e.error.into(),
                code: e.code,
                message: e.message,
            })?;
            return Ok(issue_delegated(state, granted, &host, &tenant));
        }
        let scope = field("scope").ok_or_else(|| missing("scope"))?;
        let Some(audience_host) = scope_host(scope).filter(|_| !scope.contains(' ')) else {
            return Err(refuse(
                400,
                "invalid_scope",
                1002012,
                format!(
                    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            ));
        };
        if field("client_secret").is_none() && field("client_assertion").is_none() {
            return Err(refuse(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
        authenticate_client(state, form, &host, &tenant, client_id)?;
        let access_token = format!("sim.{}", uuid::Uuid::new_v4().simple());
        let lifetime = state.settings.token_lifetime;
        state.tokens.insert(
            access_token.clone(),
            Token {
                scope: scope.to_string(),
                audience_host,
                expires_at: Instant::now() + lifetime,
                user: None,
            },
        );
        Ok(json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "ext_expires_in": lifetime.as_secs(),
            "access_token": access_token,
        }))
    })();
    let response = match result {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body.to_string(),
        )
            .into_response(),
        Err(refusal) => refusal_response(&refusal),
    };
    state.answered(index, response.status().as_u16());
    if drop_after {
        conn.kill();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_scopes() {
        let form =
            parse_form(b"a=b+c&scope=https%3A%2F%2Fgraph.microsoft.us%2F.default&e=").unwrap();
        assert_eq!(form[0], ("a".into(), "b c".into()));
        assert_eq!(form[1].1, "https://graph.microsoft.us/.default");
        assert_eq!(form[2], ("e".into(), String::new()));
        assert!(parse_form(b"a=%zz").is_none());
        assert_eq!(
            scope_host(&form[1].1).as_deref(),
            Some("graph.microsoft.us")
        );
        assert_eq!(
            scope_host("http://127.0.0.1:8080/.default").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(scope_host("User.Read"), None);
    }
}
