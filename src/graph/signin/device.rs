//! `reject-bridge login`: the OAuth 2.0 device authorization grant (RFC 8628) against Entra ID.
//!
//! 1. `POST {authority}/{tenant}/oauth2/v2.0/devicecode` with the client id and the scopes
//!    ([`super::requested_scopes`]); Entra answers a `user_code`, a `verification_uri`, how long
//!    the code lives (`expires_in`) and how often to ask (`interval`).
//! 2. The operator opens the page on any device, enters the code and signs in as the service
//!    account (MFA and Conditional Access happen there, in the browser).
//! 3. Meanwhile the token endpoint is asked every `interval` seconds with
//!    `grant_type=urn:ietf:params:oauth:grant-type:device_code`: `authorization_pending` means
//!    keep waiting, `slow_down` adds five seconds to the interval (RFC 8628 §3.5),
//!    `access_denied` and `expired_token` end the login with a sentence that says what to do.
//! 4. The refresh token is sealed with the key ([`super::vault`], created 0600 when missing) and
//!    stored in the journal as a new generation; an earlier lost sign-in and its alert are cleared,
//!    so a running service continues with the messages that waited.
//!
//! The device code is a credential: it is never printed or logged. The user code is printed,
//! because the operator must type it.

use std::io::Write;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::vault::{Key, VaultError};
use super::{DelegatedAnswer, Identity, SERVICE_ACCOUNT, requested_scopes};
use crate::config::{Config, GraphAuth};
use crate::graph::GraphError;
use crate::graph::token::{AppCredential, post_form, redeem};
use crate::journal::{Journal, JournalError};
use crate::secret::Secret;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// RFC 8628 §3.5: the interval grows by this on `slow_down`.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// What a completed login stored.
#[derive(Clone, Debug)]
pub struct LoginDone {
    pub identity: Identity,
    pub scopes: Vec<String>,
}

/// Why a login did not complete; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(
        "graph.auth is \"client_credentials\": there is no sign-in to store (set graph.auth = \"delegated\" to decide as a person)"
    )]
    NotDelegated,
    #[error(
        "the sign-in was declined in the browser (access_denied); run `reject-bridge login` again and approve it as the service account"
    )]
    Declined,
    #[error(
        "the code expired before the sign-in was completed (expired_token); run `reject-bridge login` again and finish within {minutes} minutes"
    )]
    Expired { minutes: u64 },
    #[error(
        "Entra ID gave no refresh token: the app may not ask for offline_access; check the app registration's API permissions and run `reject-bridge login` again"
    )]
    NoRefreshToken,
    #[error(
        "Entra ID refused the sign-in: {code}: {description} (check graph.tenant_id, graph.client_id, \"Allow public client flows\" on the app registration, or its secret/certificate)"
    )]
    Refused { code: String, description: String },
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("{0}")]
    Journal(#[from] JournalError),
}

#[derive(Deserialize)]
struct DeviceCodeAnswer {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    interval: Option<u64>,
}

/// Runs the whole device code sign-in for the service account, printing the instructions on
/// `out`, and stores the result in the journal at `state.path`.
pub async fn login(config: &Config, out: &mut (dyn Write + Send)) -> Result<LoginDone, LoginError> {
    let g = &config.graph;
    if g.auth != GraphAuth::Delegated {
        return Err(LoginError::NotDelegated);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .user_agent(crate::graph::USER_AGENT)
        .timeout(g.timeout)
        .connect_timeout(g.timeout)
        .build()
        .map_err(|e| GraphError::Config {
            key: "graph",
            message: format!("cannot build the HTTP client: {e}"),
        })?;
    let credential = AppCredential::load(g)?;
    let base = format!("{}/{}/oauth2/v2.0", g.authority, g.tenant_id);
    let scopes = requested_scopes(g);
    let device = request_device_code(&http, &base, &g.client_id, &scopes).await?;
    let grant = DeviceGrant {
        http: &http,
        token_url: format!("{base}/token"),
        client_id: &g.client_id,
        credential,
        device_code: Secret::new(device.device_code),
        lifetime: Duration::from_secs(device.expires_in.unwrap_or(900).clamp(1, 86_400)),
        interval: Duration::from_secs(device.interval.unwrap_or(5).clamp(1, 300)),
    };
    let minutes = grant.minutes();
    let _ = writeln!(
        out,
        "To sign in the service account, open {} in a browser and enter the code {}",
        device.verification_uri, device.user_code
    );
    let _ = writeln!(
        out,
        "(within {minutes} minutes; sign in as the account in the approver group, not your own). Waiting…"
    );
    let _ = out.flush();
    let answer = grant.wait().await?;
    keep_sign_in(config, answer, &scopes)
}

/// Step 1: asks the device code endpoint for a device code and a user code for `scopes`.
async fn request_device_code(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    scopes: &[String],
) -> Result<DeviceCodeAnswer, LoginError> {
    let form = vec![
        ("client_id", client_id.to_string()),
        ("scope", scopes.join(" ")),
    ];
    let body = match post_form(
        http,
        &format!("{base}/devicecode"),
        "the Entra ID device code endpoint",
        &form,
    )
    .await?
    {
        Ok(body) => body,
        Err(r) => {
            return Err(LoginError::Refused {
                code: r.error,
                description: r.description,
            });
        }
    };
    let device: DeviceCodeAnswer =
        serde_json::from_str(&body).map_err(|e| GraphError::Protocol {
            what: "the Entra ID device code endpoint".into(),
            message: format!("the answer is not the expected JSON: {e}"),
        })?;
    Ok(device)
}

/// A device code waiting to be redeemed at the token endpoint: how long it lives and how often
/// to ask.
struct DeviceGrant<'a> {
    http: &'a reqwest::Client,
    token_url: String,
    client_id: &'a str,
    credential: Option<AppCredential>,
    device_code: Secret,
    lifetime: Duration,
    interval: Duration,
}

impl DeviceGrant<'_> {
    /// The code's lifetime in whole minutes, rounded up (what the operator is told).
    fn minutes(&self) -> u64 {
        self.lifetime.as_secs().div_ceil(60)
    }

    /// Step 3: asks the token endpoint every `interval` until the person signed in (the token
    /// answer), declined, or the code expired.
    async fn wait(mut self) -> Result<DelegatedAnswer, LoginError> {
        let minutes = self.minutes();
        let started = Instant::now();
        loop {
            tokio::time::sleep(self.interval).await;
            if started.elapsed() > self.lifetime + self.interval {
                return Err(LoginError::Expired { minutes });
            }
            let form = vec![
                ("grant_type", DEVICE_CODE_GRANT.into()),
                ("device_code", self.device_code.expose().to_string()),
            ];
            let credential = self.credential.as_ref();
            match redeem(self.http, &self.token_url, self.client_id, credential, form).await {
                Ok(Ok(body)) => return Ok(DelegatedAnswer::parse(&body)?),
                Ok(Err(r)) => match r.error.as_str() {
                    "authorization_pending" => continue,
                    "slow_down" => self.interval += SLOW_DOWN_STEP,
                    "access_denied" | "authorization_declined" => {
                        return Err(LoginError::Declined);
                    }
                    "expired_token" | "code_expired" => {
                        return Err(LoginError::Expired { minutes });
                    }
                    _ if r.is_transient() => {
                        tracing::warn!(
                            status = r.status,
                            "the token endpoint is busy; still waiting"
                        );
                    }
                    _ => {
                        return Err(LoginError::Refused {
                            code: r.error,
                            description: credential
                                .map(|c| c.scrub(&r.description))
                                .unwrap_or(r.description),
                        });
                    }
                },
                // No answer this time: keep asking until the code expires.
                Err(e) => {
                    tracing::warn!(error = %e, "no answer from the token endpoint; still waiting")
                }
            }
        }
    }
}

/// Step 4: seals and stores the sign-in's refresh token as the service account's new
/// generation, and clears the alert of an earlier lost sign-in.
fn keep_sign_in(
    config: &Config,
    answer: DelegatedAnswer,
    scopes: &[String],
) -> Result<LoginDone, LoginError> {
    let Some(refresh_token) = answer.refresh_token.clone() else {
        return Err(LoginError::NoRefreshToken);
    };
    let identity = answer
        .id_token
        .as_deref()
        .map(Identity::from_id_token)
        .unwrap_or_default();
    let granted = answer.scopes(scopes);
    let key = Key::load_or_create(&config.state)?;
    let journal = Journal::open(&config.state.path)?;
    super::store(
        &journal,
        &key,
        SERVICE_ACCOUNT,
        &identity,
        &granted,
        &Secret::new(refresh_token),
    )?;
    journal.clear_alert(super::ALERT_SIGNIN_LOST)?;
    Ok(LoginDone {
        identity,
        scopes: granted,
    })
}

/// `reject-bridge logout`: forgets the stored sign-in. Returns who was signed in, if anyone.
/// Entra keeps the refresh token valid until it expires or the user's sessions are revoked
/// (`Revoke-MgUserSignInSession`); the bridge no longer holds it.
pub fn logout(config: &Config) -> Result<Option<String>, LoginError> {
    if !config.state.path.exists() {
        return Ok(None);
    }
    let journal = Journal::open(&config.state.path)?;
    let who = journal
        .signin(SERVICE_ACCOUNT)?
        .map(|s| s.username.unwrap_or_else(|| "the service account".into()));
    journal.forget_signin(SERVICE_ACCOUNT)?;
    Ok(who)
}
