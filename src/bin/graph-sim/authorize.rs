//! The authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636), as Entra ID runs it for a
//! user who links their account in a browser: `GET /{tenant}/oauth2/v2.0/authorize` shows a
//! sign-in page (a plain HTML form: account, password, "Sign in and accept" or "Cancel"), the
//! form's `POST` signs in a user of the [`crate::directory`] with the simulator's password
//! (`--user-password`), and the browser is sent back to the registered redirect URI with a
//! one-time `code` (or `error=access_denied` when the user cancels). The token endpoint then
//! redeems the code (`grant_type=authorization_code`) only with the same `redirect_uri` and a
//! `code_verifier` whose SHA-256 is the `code_challenge` (S256), once, within ten minutes.
//!
//! Redirect URIs must be registered (`--redirect-uri`, repeatable); as in Entra, a loopback URI
//! (`http://127.0.0.1/…`, `http://localhost/…`) matches any port.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::delegated::{GrantError, Granted, User};
use crate::state::{Shared, SimState};

/// How long an authorization code can be redeemed (Entra: about ten minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// An issued, not yet redeemed code.
pub struct Code {
    user: User,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scopes: Vec<String>,
    expires_at: Instant,
}

/// The codes issued so far.
#[derive(Default)]
pub struct Codes {
    codes: HashMap<String, Code>,
}

impl Codes {
    pub fn reset(&mut self) {
        self.codes.clear();
    }

    /// Redeems `code` (RFC 6749 §4.1.3, RFC 7636 §4.6): the same client and redirect URI, the
    /// verifier that matches the challenge, once, before it expires.
    pub fn redeem(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<(User, Vec<String>), GrantError> {
        let Some(c) = self.codes.remove(code) else {
            return Err(err(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            ));
        };
        if Instant::now() >= c.expires_at {
            return Err(err(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity.",
            ));
        }
        if c.client_id != client_id || c.redirect_uri != redirect_uri {
            return Err(err(
                "invalid_grant",
                70002,
                "The redirect URI or client of the token request does not match the authorization request.",
            ));
        }
        if challenge_of(verifier) != c.challenge {
            return Err(err(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
        Ok((c.user, c.scopes))
    }
}

fn err(error: &'static str, code: u32, message: &str) -> GrantError {
    GrantError {
        status: 400,
        error,
        code,
        message: message.to_string(),
    }
}

/// base64url(SHA-256(verifier)), the S256 challenge.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `uri` is one of `registered` (loopback URIs match whatever their port).
fn registered(registered: &[String], uri: &str) -> bool {
    let Ok(asked) = reqwest::Url::parse(uri) else {
        return false;
    };
    registered.iter().any(|r| {
        let Ok(reg) = reqwest::Url::parse(r) else {
            return false;
        };
        let loopback = matches!(reg.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        reg.scheme() == asked.scheme()
            && reg.host_str() == asked.host_str()
            && reg.path() == asked.path()
            && (loopback || reg.port_or_known_default() == asked.port_or_known_default())
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn error_page(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign in</title></head><body><h1>Sorry, but we're having trouble signing you in.</h1><p>AADSTS{code}: {}</p></body></html>",
            escape(message)
        )),
    )
        .into_response()
}

/// The parameters of an authorization request, checked.
struct Ask {
    client_id: String,
    redirect_uri: String,
    state: String,
    scope: String,
    challenge: String,
    login_hint: String,
}

/// A refused authorization request: its AADSTS code and message (shown as an error page).
type Refused = (u32, String);

fn check(s: &SimState, tenant: &str, p: &HashMap<String, String>) -> Result<Ask, Refused> {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    if !tenant.eq_ignore_ascii_case(&s.settings.tenant) {
        return Err((90002, format!("Tenant '{tenant}' not found.")));
    }
    if get("client_id") != s.settings.client_id {
        return Err((
            700016,
            "Application with that identifier was not found in the directory.".into(),
        ));
    }
    let redirect_uri = get("redirect_uri");
    if !registered(&s.settings.redirect_uris, &redirect_uri) {
        return Err((
            50011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application."
            ),
        ));
    }
    if get("response_type") != "code" {
        return Err((900144, "response_type must be 'code'.".into()));
    }
    if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
        return Err((
            9002325,
            "Proof Key for Code Exchange is required: send code_challenge with code_challenge_method S256.".into(),
        ));
    }
    Ok(Ask {
        client_id: get("client_id"),
        redirect_uri,
        state: get("state"),
        scope: get("scope"),
        challenge: get("code_challenge"),
        login_hint: get("login_hint"),
    })
}

fn sign_in_page(ask: &Ask, tenant: &str, problem: Option<&str>) -> Response {
    let hidden: String = [
        ("client_id", &ask.client_id),
        ("redirect_uri", &ask.redirect_uri),
        ("state", &ask.state),
        ("scope", &ask.scope),
        ("code_challenge", &ask.challenge),
        ("login_hint", &ask.login_hint),
    ]
    .iter()
    .map(|(k, v)| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            escape(v)
        )
    })
    .collect();
    let problem = problem
        .map(|p| format!("<p id=\"problem\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign in to your account</title></head><body>\
<h1>Sign in</h1>{problem}<form method=\"post\" action=\"/{tenant}/oauth2/v2.0/authorize\">{hidden}\
<input type=\"hidden\" name=\"response_type\" value=\"code\"><input type=\"hidden\" name=\"code_challenge_method\" value=\"S256\">\
<label>Account <input id=\"username\" name=\"username\" value=\"{}\"></label>\
<label>Password <input id=\"password\" type=\"password\" name=\"password\"></label>\
<p>reject-bridge wants to make Intune decisions as you ({}).</p>\
<button id=\"accept\" name=\"action\" value=\"accept\">Sign in and accept</button>\
<button id=\"cancel\" name=\"action\" value=\"cancel\">Cancel</button></form></body></html>",
        escape(&ask.login_hint),
        escape(&ask.scope),
    ))
    .into_response()
}

fn redirect(to: &str, params: &[(&str, &str)]) -> Response {
    let mut url = match reqwest::Url::parse(to) {
        Ok(u) => u,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, 50011, "bad redirect URI"),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the sign-in page.
pub async fn page(
    State(sim): State<Shared>,
    Path(tenant): Path<String>,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    match check(&s, &tenant, &p) {
        Ok(ask) => sign_in_page(&ask, &tenant, None),
        Err((code, message)) => error_page(StatusCode::BAD_REQUEST, code, &message),
    }
}

/// `POST /{tenant}/oauth2/v2.0/authorize`: the sign-in form.
pub async fn sign_in(
    State(sim): State<Shared>,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let form: HashMap<String, String> = crate::entra::parse_form(&body)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let ask = match check(&s, &tenant, &form) {
        Ok(a) => a,
        Err((code, message)) => return error_page(StatusCode::BAD_REQUEST, code, &message),
    };
    if form.get("action").map(String::as_str) == Some("cancel") {
        return redirect(
            &ask.redirect_uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app.",
                ),
                ("state", &ask.state),
            ],
        );
    }
    let name = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let user = s.directory.user_by_name(&name).cloned();
    let Some(user) = user.filter(|_| password == s.settings.user_password) else {
        return sign_in_page(
            &ask,
            &tenant,
            Some("Your account or password is incorrect."),
        );
    };
    let code = format!("1.AQ{}", uuid::Uuid::new_v4().simple());
    s.delegation.interacted(&user.id);
    s.codes.codes.insert(
        code.clone(),
        Code {
            user: User {
                id: user.id.clone(),
                user_principal_name: user.user_principal_name.clone(),
                display_name: user.display_name.clone(),
            },
            client_id: ask.client_id.clone(),
            redirect_uri: ask.redirect_uri.clone(),
            challenge: ask.challenge.clone(),
            scopes: ask.scope.split_whitespace().map(str::to_string).collect(),
            expires_at: Instant::now() + CODE_LIFETIME,
        },
    );
    redirect(&ask.redirect_uri, &[("code", &code), ("state", &ask.state)])
}

/// The grant a redeemed code gives (a refresh token like a device code sign-in's).
pub fn granted(s: &mut SimState, user: User, scopes: Vec<String>) -> Granted {
    s.delegation.grant_for(user, scopes)
}

#[cfg(test)]
mod tests;
