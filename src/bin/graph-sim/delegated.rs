//! Delegated sign-ins, as Entra ID documents them: the device authorization grant (RFC 8628,
//! `POST /{tenant}/oauth2/v2.0/devicecode`, then `grant_type=urn:ietf:params:oauth:grant-type:device_code`
//! on the token endpoint), refresh token grants with rotation, and revocation
//! (`revokeSignInSessions`, or Conditional Access demanding interaction).
//!
//! Faithful where it matters to a client:
//! - the device code answer carries `device_code`, `user_code`, `verification_uri`, `expires_in`,
//!   `interval` and `message`; polling answers `authorization_pending` until the user decides,
//!   `slow_down` when polled faster than `interval`, `access_denied` when the user declined,
//!   `expired_token` after `expires_in`;
//! - a refresh answers a new access token *and a new refresh token*; the old refresh token is not
//!   revoked by that (Microsoft: "refresh tokens aren't revoked when used to acquire new access
//!   tokens"), only by a revocation of the user's sessions, which ends every refresh token issued
//!   before it (`invalid_grant`, AADSTS50173); a user who must satisfy MFA or Conditional Access
//!   again gets `interaction_required` (AADSTS50076);
//! - tokens name their user: the access token's record keeps the user and the scopes (Graph
//!   enforces them, see `api.rs`); the `id_token` is a JWT with `oid`, `preferred_username`, `name`
//!   and `tid` (unsigned: clients that get it straight from the token endpoint over TLS need not
//!   check a signature, OpenID Connect Core 3.1.3.7).
//!
//! The user's browser is the admin API: `GET /_sim/devicecodes` lists pending codes,
//! `POST /_sim/devicecodes/approve` `{"user_code", "user": {"id", "userPrincipalName", "displayName"}}`
//! signs in, `{"user_code", "deny": true}` declines, `POST /_sim/devicecodes/expire` ends them
//! all, `POST /_sim/users/{id}/revokeSignInSessions` revokes, `GET /_sim/secrets` lists every
//! token issued (for leak tests), and
//! `POST /_sim/users/{id}/requireInteraction` makes the next refreshes answer `interaction_required`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::state::Shared;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A signed-in user.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    #[serde(default)]
    pub display_name: String,
}

enum Decision {
    Pending,
    Approved(User),
    Denied,
}

struct DeviceGrant {
    user_code: String,
    scopes: Vec<String>,
    expires_at: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    decision: Decision,
}

struct RefreshGrant {
    user: User,
    scopes: Vec<String>,
    issued_at: Instant,
}

/// The delegated side of the simulator's memory.
#[derive(Default)]
pub struct Delegation {
    pub device_code_lifetime: Duration,
    pub device_code_interval: Duration,
    devices: HashMap<String, DeviceGrant>,
    refresh: HashMap<String, RefreshGrant>,
    /// User id → when their sessions were revoked: refresh tokens issued before are dead.
    revoked: HashMap<String, Instant>,
    /// Users who must sign in interactively again (MFA, Conditional Access).
    interaction: HashSet<String>,
}

/// Why a grant fails: an OAuth error with its AADSTS code.
pub struct GrantError {
    pub status: u16,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
}

fn grant_error(error: &'static str, code: u32, message: impl Into<String>) -> GrantError {
    GrantError {
        status: 400,
        error,
        code,
        message: message.into(),
    }
}

/// What a successful grant hands out (the caller issues the access token).
pub struct Granted {
    pub user: User,
    pub scopes: Vec<String>,
    pub refresh_token: String,
}

fn random(n: usize) -> String {
    let mut s = String::new();
    while s.len() < n {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(n);
    s
}

impl Delegation {
    pub fn new(lifetime: Duration, interval: Duration) -> Self {
        Delegation {
            device_code_lifetime: lifetime,
            device_code_interval: interval,
            ..Default::default()
        }
    }

    /// `POST /devicecode`: a new pending grant for `scopes`.
    pub fn start_device(&mut self, scopes: Vec<String>) -> Value {
        let device_code = format!("DAQABAAEAAA{}", random(48));
        let user_code = random(9).to_uppercase();
        let lifetime = self.device_code_lifetime;
        self.devices.insert(
            device_code.clone(),
            DeviceGrant {
                user_code: user_code.clone(),
                scopes,
                expires_at: Instant::now() + lifetime,
                interval: self.device_code_interval,
                last_poll: None,
                decision: Decision::Pending,
            },
        );
        json!({
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": lifetime.as_secs(),
            "interval": self.device_code_interval.as_secs(),
            "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate."),
        })
    }

    /// One poll of the token endpoint with a device code.
    pub fn poll_device(&mut self, device_code: &str) -> Result<Granted, GrantError> {
        let now = Instant::now();
        let Some(grant) = self.devices.get_mut(device_code) else {
            return Err(grant_error(
                "invalid_grant",
                70000,
                "The provided value for the 'device_code' is not valid.",
            ));
        };
        if now >= grant.expires_at {
            self.devices.remove(device_code);
            return Err(grant_error(
                "expired_token",
                70020,
                "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
            ));
        }
        if let Some(last) = grant.last_poll
            && now.duration_since(last) + Duration::from_millis(200) < grant.interval
        {
            grant.interval += Duration::from_secs(5);
            grant.last_poll = Some(now);
            return Err(grant_error(
                "slow_down",
                70000,
                "The client is polling too quickly and should back off.",
            ));
        }
        grant.last_poll = Some(now);
        match &grant.decision {
            Decision::Pending => Err(grant_error(
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )),
            Decision::Denied => {
                self.devices.remove(device_code);
                Err(grant_error(
                    "access_denied",
                    70000,
                    "The user has declined to authorize the application.",
                ))
            }
            Decision::Approved(user) => {
                let user = user.clone();
                let scopes = grant.scopes.clone();
                self.devices.remove(device_code);
                Ok(self.issue_refresh(user, scopes))
            }
        }
    }

    /// A refresh token grant: the user's new refresh token (the old one stays valid).
    pub fn refresh(&mut self, refresh_token: &str) -> Result<Granted, GrantError> {
        let Some(grant) = self.refresh.get(refresh_token) else {
            return Err(grant_error(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid.",
            ));
        };
        if self
            .revoked
            .get(&grant.user.id)
            .is_some_and(|at| grant.issued_at <= *at)
        {
            return Err(grant_error(
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
            ));
        }
        if self.interaction.contains(&grant.user.id) {
            return Err(grant_error(
                "interaction_required",
                50076,
                "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
            ));
        }
        let (user, scopes) = (grant.user.clone(), grant.scopes.clone());
        Ok(self.issue_refresh(user, scopes))
    }

    /// A new sign-in of `user` (an authorization code redeemed): its refresh token.
    pub fn grant_for(&mut self, user: User, scopes: Vec<String>) -> Granted {
        self.interacted(&user.id);
        self.issue_refresh(user, scopes)
    }

    fn issue_refresh(&mut self, user: User, scopes: Vec<String>) -> Granted {
        let refresh_token = format!("0.AAAA{}", random(96));
        self.refresh.insert(
            refresh_token.clone(),
            RefreshGrant {
                user: user.clone(),
                scopes: scopes.clone(),
                issued_at: Instant::now(),
            },
        );
        // A new sign-in (device code) after requireInteraction satisfies it.
        Granted {
            user,
            scopes,
            refresh_token,
        }
    }

    /// A device code login completed for `user`: it no longer needs interaction.
    pub fn interacted(&mut self, user_id: &str) {
        self.interaction.remove(user_id);
    }

    pub fn reset(&mut self) {
        self.devices.clear();
        self.refresh.clear();
        self.revoked.clear();
        self.interaction.clear();
    }
}

/// An unsigned `id_token` (header.claims.) for `user`.
pub fn id_token(user: &User, client_id: &str, issuer: &str, tenant: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let header = json!({"typ": "JWT", "alg": "none"});
    let claims = json!({
        "aud": client_id,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "oid": user.id,
        "preferred_username": user.user_principal_name,
        "name": user.display_name,
        "tid": tenant,
        "ver": "2.0",
    });
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.into()})),
    )
        .into_response()
}

/// `GET /_sim/devicecodes`: the codes waiting for a user.
pub async fn pending(State(sim): State<Shared>) -> Response {
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let list: Vec<Value> = s
        .delegation
        .devices
        .values()
        .filter(|g| matches!(g.decision, Decision::Pending) && g.expires_at > Instant::now())
        .map(|g| json!({"user_code": g.user_code, "scopes": g.scopes}))
        .collect();
    Json(json!(list)).into_response()
}

#[derive(Deserialize)]
pub struct Approval {
    user_code: String,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    deny: bool,
}

/// `POST /_sim/devicecodes/approve`: the user signs in (or declines) on the verification page.
pub async fn approve(State(sim): State<Shared>, Json(body): Json<Approval>) -> Response {
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let d = &mut s.delegation;
    let Some(grant) = d
        .devices
        .values_mut()
        .find(|g| g.user_code.eq_ignore_ascii_case(body.user_code.trim()))
    else {
        return bad(format!("no pending device code {}", body.user_code));
    };
    if body.deny {
        grant.decision = Decision::Denied;
        return StatusCode::NO_CONTENT.into_response();
    }
    let Some(user) = body.user else {
        return bad(
            "give \"user\": {\"id\", \"userPrincipalName\", \"displayName\"} or \"deny\": true",
        );
    };
    grant.decision = Decision::Approved(user.clone());
    d.interacted(&user.id);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_sim/secrets`: every refresh and access token issued so far, so a test can prove none
/// of them leaked into a log, an output or a file.
pub async fn secrets(State(sim): State<Shared>) -> Response {
    let s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let refresh: Vec<&String> = s.delegation.refresh.keys().collect();
    let access: Vec<&String> = s.tokens.keys().collect();
    Json(json!({"refresh_tokens": refresh, "access_tokens": access})).into_response()
}

/// `POST /_sim/devicecodes/expire`: every pending device code expires now.
pub async fn expire(State(sim): State<Shared>) -> Response {
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    for g in s.delegation.devices.values_mut() {
        g.expires_at = now;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sim/users/{id}/revokeSignInSessions`: every refresh token of the user issued so far
/// is dead (as after a password reset or an admin's revocation).
pub async fn revoke(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    s.delegation.revoked.insert(id, Instant::now());
    Json(json!({"value": true})).into_response()
}

/// `POST /_sim/users/{id}/requireInteraction`: the user's refreshes answer
/// `interaction_required` until they sign in interactively again.
pub async fn require_interaction(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    s.delegation.interaction.insert(id);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests;
