//! The delegated sign-in (`graph.auth = "delegated"`, SPEC §4): decisions made as a person.
//!
//! Microsoft's Multi Admin Approval guide says applications cannot approve or reject requests;
//! only interactive admin accounts can. So a service account in the approver group signs in once
//! ([`device`]: `reject-bridge login`, the device authorization grant of RFC 8628) and the bridge
//! keeps that sign-in alive with refresh tokens:
//! - [`vault`]: the key and the AEAD that seal the refresh token; it is never stored in plain text.
//! - this file: [`SignIn`], the source of the service account's access tokens. A token is taken
//!   from the cache, or the stored refresh token is redeemed (`grant_type=refresh_token`); the
//!   refresh token Entra rotates in that answer is sealed and stored in the same statement that
//!   records the refresh ([`crate::journal::Journal::rotate_signin`]) before the access token is
//!   used. A crash in between leaves the previous refresh token, which Entra keeps valid.
//! - When Entra refuses the refresh token (`invalid_grant`: revoked, expired, password reset;
//!   `interaction_required`: MFA or Conditional Access wants the user), the sign-in is marked lost
//!   in the journal and every Graph call answers [`GraphError::SignIn`] at once, without asking
//!   Entra again, until a new `login` stores a new generation (seen on the next call: the journal
//!   is read whenever no access token is cached).
//!
//! Who signed in comes from the `id_token` of the sign-in (`preferred_username`, `oid`, `name`),
//! which the token endpoint hands over directly over TLS; access tokens stay opaque.

pub mod approvers;
pub mod device;
pub mod vault;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::{Config, GraphConfig, StateConfig};
use crate::graph::GraphError;
use crate::graph::token::{AppCredential, Refusal, lifetime_of, redeem};
use crate::journal::{Journal, StoredSignIn};
use crate::secret::Secret;
use vault::Key;

/// The journal's account name of the service account's sign-in.
pub const SERVICE_ACCOUNT: &str = "service";

/// The OAuth errors that mean "a person must sign in again": the refresh token was revoked or
/// expired, or the user must satisfy MFA, consent or Conditional Access interactively.
pub const LOST_ERRORS: &[&str] = &[
    "invalid_grant",
    "interaction_required",
    "consent_required",
    "login_required",
];

/// The alert kind of a lost sign-in (one mail a day while it lasts, cleared by `login`).
pub const ALERT_SIGNIN_LOST: &str = "signin_lost";

/// Refresh a cached access token this long before it expires.
const ACCESS_MARGIN: Duration = Duration::from_secs(300);

/// What to run to fix a missing or lost sign-in (in alerts, `check` and errors).
pub fn login_command(config: &Config) -> String {
    format!("reject-bridge login --config {}", config.source.display())
}

/// The scopes asked at sign-in and refresh: the configured Graph permissions, `offline_access`
/// (a refresh token) and `openid profile` (who signed in).
pub fn requested_scopes(cfg: &GraphConfig) -> Vec<String> {
    let mut scopes = cfg.delegated_scopes.clone();
    for s in ["offline_access", "openid", "profile"] {
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    scopes
}

/// The associated data a sealed refresh token is bound to.
pub(crate) fn seal_context(account: &str) -> String {
    format!("signin:{account}")
}

/// Who signed in, read from an `id_token`'s claims.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    /// The `email` claim, when the token has one.
    pub email: Option<String>,
}

impl Identity {
    /// The claims of `id_token` (its signature is not checked: it came straight from the token
    /// endpoint over TLS, OpenID Connect Core 3.1.3.7). Anything unreadable gives empty fields.
    pub fn from_id_token(id_token: &str) -> Identity {
        let claims = id_token
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .unwrap_or_default();
        let s = |k: &str| claims[k].as_str().map(str::to_string);
        Identity {
            user_id: s("oid"),
            username: s("preferred_username").or_else(|| s("upn")),
            display_name: s("name"),
            email: s("email"),
        }
    }
}

/// A delegated grant's token answer.
#[derive(Deserialize)]
pub(crate) struct DelegatedAnswer {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub expires_in: Option<serde_json::Value>,
}

impl DelegatedAnswer {
    pub(crate) fn parse(body: &str) -> Result<DelegatedAnswer, GraphError> {
        serde_json::from_str(body).map_err(|e| GraphError::Protocol {
            what: "the Entra ID token endpoint".into(),
            message: format!("the token answer is not the expected JSON: {e}"),
        })
    }

    /// Granted scopes (Entra lists them in `scope`), else what was asked.
    pub(crate) fn scopes(&self, asked: &[String]) -> Vec<String> {
        match &self.scope {
            Some(s) if !s.trim().is_empty() => s.split_whitespace().map(str::to_string).collect(),
            _ => asked.to_vec(),
        }
    }
}

/// The sign-in as the service last saw it (for `/healthz`, metrics and alerts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInHealth {
    /// Not used yet since start.
    Unknown,
    Ready {
        username: String,
    },
    /// No sign-in stored, or it cannot be used (why, in words).
    Missing {
        reason: String,
    },
    /// Entra refused it: a person must sign in again.
    Lost {
        reason: String,
    },
}

struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// The service account's access tokens, from its stored sign-in.
pub struct SignIn {
    http: reqwest::Client,
    token_url: String,
    tenant_id: String,
    client_id: String,
    credential: Option<AppCredential>,
    scopes: Vec<String>,
    state: StateConfig,
    journal: Arc<Journal>,
    account: String,
    cache: Mutex<Option<Cached>>,
    health: std::sync::Mutex<SignInHealth>,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("token_url", &self.token_url)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl SignIn {
    /// The service account's sign-in stored in `journal`. Reads nothing yet.
    pub fn new(
        config: &Config,
        http: reqwest::Client,
        journal: Arc<Journal>,
    ) -> Result<SignIn, GraphError> {
        Self::for_account(config, http, journal, SERVICE_ACCOUNT)
    }

    /// The sign-in of journal account `account` (an approver's: [`approvers::account_of`]).
    pub fn for_account(
        config: &Config,
        http: reqwest::Client,
        journal: Arc<Journal>,
        account: &str,
    ) -> Result<SignIn, GraphError> {
        let g = &config.graph;
        Ok(SignIn {
            http,
            token_url: format!("{}/{}/oauth2/v2.0/token", g.authority, g.tenant_id),
            tenant_id: g.tenant_id.clone(),
            client_id: g.client_id.clone(),
            credential: AppCredential::load(g)?,
            scopes: requested_scopes(g),
            state: config.state.clone(),
            journal,
            account: account.to_string(),
            cache: Mutex::new(None),
            health: std::sync::Mutex::new(SignInHealth::Unknown),
        })
    }

    /// The sign-in's state as last seen.
    pub fn health(&self) -> SignInHealth {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_health(&self, h: SignInHealth) {
        *self.health.lock().unwrap_or_else(|e| e.into_inner()) = h;
    }

    /// An access token for Graph as the signed-in user.
    pub async fn access_token(&self) -> Result<Secret, GraphError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let (token, lifetime) = self.refresh_locked().await?;
        let margin = ACCESS_MARGIN.min(lifetime / 2);
        *cache = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(token)
    }

    /// Forgets `token` after Graph refused it (401), so the next call refreshes.
    pub async fn invalidate(&self, token: &Secret) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|c| c.token == *token) {
            *cache = None;
        }
    }

    /// Redeems the refresh token now, whatever is cached (the keep-alive).
    pub async fn refresh_now(&self) -> Result<(), GraphError> {
        let mut cache = self.cache.lock().await;
        let (token, lifetime) = self.refresh_locked().await?;
        let margin = ACCESS_MARGIN.min(lifetime / 2);
        *cache = Some(Cached {
            token,
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(())
    }

    /// The stored sign-in, read afresh (a `login` in another process may have replaced it).
    pub async fn stored(&self) -> Result<Option<StoredSignIn>, GraphError> {
        let account = self.account.clone();
        self.journal
            .call(move |j| j.signin(&account))
            .await
            .map_err(|e| GraphError::SignIn {
                reason: format!("cannot be read from the journal: {e}"),
            })
    }

    fn missing(&self, reason: String) -> GraphError {
        self.set_health(SignInHealth::Missing {
            reason: reason.clone(),
        });
        GraphError::SignIn { reason }
    }

    /// Redeems the stored refresh token (`grant_type=refresh_token`) while the caller holds the
    /// cache lock: the access token and how long it lives. A refresh token Entra rotated is
    /// stored before the access token is used.
    async fn refresh_locked(&self) -> Result<(Secret, Duration), GraphError> {
        let (stored, who, key, refresh_token) = self.usable_stored().await?;
        let form = vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh_token.expose().to_string()),
            ("scope", self.scopes.join(" ")),
        ];
        let answer = redeem(
            &self.http,
            &self.token_url,
            &self.client_id,
            self.credential.as_ref(),
            form,
        )
        .await?;
        let body = match answer {
            Ok(body) => body,
            Err(r) if r.is_transient() => return Err(r.into_unavailable()),
            Err(r) if LOST_ERRORS.contains(&r.error.as_str()) => {
                return Err(self.lost(r, &stored, &who).await);
            }
            Err(r) => {
                return Err(GraphError::Credentials {
                    tenant_id: self.tenant_id.clone(),
                    client_id: self.client_id.clone(),
                    code: r.error,
                    description: r.description,
                });
            }
        };
        let parsed = DelegatedAnswer::parse(&body)?;
        self.store_rotated(&key, &stored, &parsed).await?;
        tracing::debug!(user = %who, "refreshed the delegated sign-in");
        self.set_health(SignInHealth::Ready { username: who });
        Ok((
            Secret::new(parsed.access_token),
            lifetime_of(parsed.expires_in.as_ref()),
        ))
    }

    /// The stored sign-in, who signed in, the key and the opened refresh token; the error (and
    /// the health) when none is stored, it was lost, or it cannot be opened.
    async fn usable_stored(&self) -> Result<(StoredSignIn, String, Key, Secret), GraphError> {
        let Some(stored) = self.stored().await? else {
            return Err(self.missing("is not stored: nobody has signed in".into()));
        };
        let who = stored
            .username
            .clone()
            .unwrap_or_else(|| "the service account".into());
        if let Some((at, reason)) = &stored.lost {
            let reason = format!("of {who} was lost at {at}: {reason}");
            self.set_health(SignInHealth::Lost {
                reason: reason.clone(),
            });
            return Err(GraphError::SignIn { reason });
        }
        let key = Key::load(&self.state).map_err(|e| self.missing(e.to_string()))?;
        let refresh_token = key
            .open(&seal_context(&self.account), &stored.sealed_token)
            .map_err(|e| self.missing(e.to_string()))?;
        Ok((stored, who, key, refresh_token))
    }

    /// Entra refused the refresh token for good (one of [`LOST_ERRORS`]): the sign-in is marked
    /// lost in the journal and in the health, and the error says whose it was and why.
    async fn lost(&self, r: Refusal, stored: &StoredSignIn, who: &str) -> GraphError {
        let description = self
            .credential
            .as_ref()
            .map(|c| c.scrub(&r.description))
            .unwrap_or(r.description);
        let why = format!("{}: {description}", r.error);
        let (account, generation, w) = (self.account.clone(), stored.generation, why.clone());
        let _ = self
            .journal
            .call(move |j| j.mark_signin_lost(&account, generation, &w))
            .await;
        if self.account == SERVICE_ACCOUNT {
            tracing::error!(
                user = %who,
                error = %r.error,
                trace_id = r.trace_id.as_deref().unwrap_or(""),
                "Entra ID refused the stored sign-in: decisions wait until someone runs `reject-bridge login`"
            );
        } else {
            tracing::warn!(
                user = %who,
                error = %r.error,
                trace_id = r.trace_id.as_deref().unwrap_or(""),
                "Entra ID refused an approver's sign-in: they get a fresh link with their next reply"
            );
        }
        let reason = format!("of {who} was refused by Entra ID: {why}");
        self.set_health(SignInHealth::Lost {
            reason: reason.clone(),
        });
        GraphError::SignIn { reason }
    }

    /// Seals and stores the refresh token Entra rotated in `parsed`, if any, before its access
    /// token is used; a login meanwhile wins (a newer generation is kept).
    async fn store_rotated(
        &self,
        key: &Key,
        stored: &StoredSignIn,
        parsed: &DelegatedAnswer,
    ) -> Result<(), GraphError> {
        let scopes = parsed.scopes(&stored.scopes);
        if let Some(rotated) = &parsed.refresh_token {
            let sealed = key.seal(&seal_context(&self.account), &Secret::new(rotated.clone()));
            let (account, generation) = (self.account.clone(), stored.generation);
            let stored_now = self
                .journal
                .call(move |j| j.rotate_signin(&account, generation, &scopes, &sealed))
                .await
                .map_err(|e| GraphError::SignIn {
                    reason: format!("could not store the refreshed sign-in: {e}"),
                })?;
            if !stored_now {
                tracing::info!("a newer sign-in was stored meanwhile; keeping it");
            }
        }
        Ok(())
    }
}

/// Seals `refresh_token` and stores it as `account`'s new sign-in; returns the generation.
pub(crate) fn store(
    journal: &Journal,
    key: &Key,
    account: &str,
    identity: &Identity,
    scopes: &[String],
    refresh_token: &Secret,
) -> Result<i64, crate::journal::JournalError> {
    let sealed = key.seal(&seal_context(account), refresh_token);
    journal.store_signin(
        account,
        identity.user_id.as_deref(),
        identity.username.as_deref(),
        identity.display_name.as_deref(),
        scopes,
        &sealed,
    )
}

#[cfg(test)]
mod tests;
