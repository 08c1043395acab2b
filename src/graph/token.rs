//! Access tokens from Entra ID (OAuth2 client credentials grant), for any scope.
//!
//! `POST {authority}/{tenant_id}/oauth2/v2.0/token` with `grant_type=client_credentials`, the
//! scope, the client id and either `client_secret` or a signed `client_assertion`
//! ([`super::assertion`]). Tokens are cached per scope until shortly before they expire (five
//! minutes, or half the lifetime when that is shorter), so Graph calls, and IMAP/SMTP XOAUTH2 with
//! the Exchange scope, share one source. A caller that gets a 401 calls [`TokenSource::invalidate`]
//! and asks again, once.
//!
//! Entra's refusals (`{"error": "invalid_client", "error_description": "AADSTS7000215: …"}`)
//! become one [`GraphError::Credentials`] naming the tenant and client id; the secret is never in it.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::{GraphError, assertion::ClientCertificate, transport_error};
use crate::config::{GraphConfig, GraphCredential};
use crate::secret::Secret;

/// Refresh a cached token this long before it expires (or at half its life if that is shorter):
/// a token handed out must stay valid for the whole call it is used in, retries included.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

enum Credential {
    Secret(Secret),
    Certificate(Box<ClientCertificate>),
}

struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// Fetches and caches access tokens for one app registration (tenant + client id + credential).
pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    tenant_id: String,
    client_id: String,
    credential: Credential,
    cache: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct TokenErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    trace_id: Option<String>,
}

impl TokenSource {
    /// Loads the credential (certificate files are read and checked now) for `cfg`.
    pub fn new(cfg: &GraphConfig, http: reqwest::Client) -> Result<Self, GraphError> {
        let credential = match &cfg.credential {
            GraphCredential::ClientSecret(secret) => Credential::Secret(secret.clone()),
            GraphCredential::Certificate {
                certificate_path,
                private_key_path,
            } => Credential::Certificate(Box::new(ClientCertificate::from_files(
                certificate_path,
                private_key_path,
            )?)),
            GraphCredential::Delegated => {
                return Err(GraphError::Config {
                    key: "graph.auth",
                    message:
                        "\"delegated\" is not available yet; use a client secret or a certificate"
                            .into(),
                });
            }
        };
        Ok(TokenSource {
            http,
            token_url: format!("{}/{}/oauth2/v2.0/token", cfg.authority, cfg.tenant_id),
            tenant_id: cfg.tenant_id.clone(),
            client_id: cfg.client_id.clone(),
            credential,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The token endpoint this source posts to (also the client assertion's audience).
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// A valid access token for `scope` (e.g. `https://graph.microsoft.com/.default`), from the
    /// cache when it has one that is not about to expire.
    pub async fn token_for(&self, scope: &str) -> Result<Secret, GraphError> {
        // Held across the fetch on purpose: concurrent callers wait for one fetch, not race N.
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.get(scope)
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let (token, lifetime) = self.fetch(scope).await?;
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        cache.insert(
            scope.to_string(),
            Cached {
                token: token.clone(),
                refresh_at: Instant::now() + lifetime - margin,
            },
        );
        Ok(token)
    }

    /// Forgets `token` for `scope` after a 401, so the next [`token_for`](Self::token_for)
    /// fetches a new one. A newer token already cached by another caller is kept.
    pub async fn invalidate(&self, scope: &str, token: &Secret) {
        let mut cache = self.cache.lock().await;
        if cache.get(scope).is_some_and(|c| c.token == *token) {
            cache.remove(scope);
        }
    }

    async fn fetch(&self, scope: &str) -> Result<(Secret, Duration), GraphError> {
        let mut form: Vec<(&str, String)> = vec![
            ("client_id", self.client_id.clone()),
            ("scope", scope.to_string()),
            ("grant_type", "client_credentials".to_string()),
        ];
        match &self.credential {
            Credential::Secret(secret) => {
                form.push(("client_secret", secret.expose().to_string()));
            }
            Credential::Certificate(cert) => {
                let assertion =
                    cert.assertion(&self.token_url, &self.client_id, SystemTime::now())?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
                ));
                form.push(("client_assertion", assertion));
            }
        }
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let answer = self
            .http
            .post(&self.token_url)
            .header("Accept", "application/json")
            .header("client-request-id", &client_request_id)
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error("the Entra ID token endpoint", &e))?;
        let status = answer.status();
        let retry_after = super::retry_after_of(answer.headers());
        let body = answer
            .text()
            .await
            .map_err(|e| transport_error("the Entra ID token endpoint", &e))?;
        tracing::debug!(
            url = %self.token_url,
            status = status.as_u16(),
            client_request_id,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "token request"
        );
        if status.is_success() {
            let parsed: TokenAnswer =
                serde_json::from_str(&body).map_err(|e| GraphError::Protocol {
                    what: "the Entra ID token endpoint".into(),
                    message: format!("the token answer is not the expected JSON: {e}"),
                })?;
            let lifetime = parsed
                .expires_in
                .as_ref()
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                .unwrap_or(3600);
            return Ok((
                Secret::new(parsed.access_token),
                // Entra issues tokens for about an hour; a day caps a nonsensical answer, so the
                // expiry instant cannot overflow.
                Duration::from_secs(lifetime.clamp(1, 86_400)),
            ));
        }
        let parsed: TokenErrorAnswer = serde_json::from_str(&body).unwrap_or_default();
        let description = self.scrub(
            parsed
                .error_description
                .lines()
                .next()
                .unwrap_or_default()
                .trim(),
        );
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(GraphError::Api {
                status: status.as_u16(),
                code: if parsed.error.is_empty() {
                    status.as_u16().to_string()
                } else {
                    parsed.error
                },
                message: format!("the Entra ID token endpoint is unavailable: {description}"),
                request_id: parsed.trace_id,
                retry_after,
                retryable: true,
            });
        }
        tracing::warn!(
            tenant_id = %self.tenant_id,
            client_id = %self.client_id,
            status = status.as_u16(),
            error = %parsed.error,
            trace_id = parsed.trace_id.as_deref().unwrap_or(""),
            correlation_id = parsed.correlation_id.as_deref().unwrap_or(""),
            "Entra ID refused the token request"
        );
        Err(GraphError::Credentials {
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            code: if parsed.error.is_empty() {
                format!("HTTP {}", status.as_u16())
            } else {
                parsed.error
            },
            description: if description.is_empty() {
                "no explanation given".into()
            } else {
                description
            },
        })
    }

    /// Entra never echoes a secret, but make sure no error text can carry one.
    fn scrub(&self, text: &str) -> String {
        match &self.credential {
            Credential::Secret(s) if !s.is_empty() => text.replace(s.expose(), "***"),
            _ => text.to_string(),
        }
    }
}
