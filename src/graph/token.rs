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

/// The app registration's own credential, loaded (certificate files read and checked).
pub(crate) enum AppCredential {
    Secret(Secret),
    Certificate(Box<ClientCertificate>),
}

impl AppCredential {
    /// The configured credential, if any (`graph.auth = "delegated"` may have none).
    pub(crate) fn load(cfg: &GraphConfig) -> Result<Option<AppCredential>, GraphError> {
        Ok(match &cfg.credential {
            None => None,
            Some(GraphCredential::ClientSecret(secret)) => {
                Some(AppCredential::Secret(secret.clone()))
            }
            Some(GraphCredential::Certificate {
                certificate_path,
                private_key_path,
            }) => Some(AppCredential::Certificate(Box::new(
                ClientCertificate::from_files(certificate_path, private_key_path)?,
            ))),
        })
    }

    /// The form fields that prove the app's identity to the token endpoint at `token_url`.
    pub(crate) fn form_fields(
        &self,
        token_url: &str,
        client_id: &str,
    ) -> Result<Vec<(&'static str, String)>, GraphError> {
        Ok(match self {
            AppCredential::Secret(secret) => vec![("client_secret", secret.expose().to_string())],
            AppCredential::Certificate(cert) => vec![
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
                ),
                (
                    "client_assertion",
                    cert.assertion(token_url, client_id, SystemTime::now())?,
                ),
            ],
        })
    }

    /// Entra never echoes a secret, but make sure no error text can carry one.
    pub(crate) fn scrub(&self, text: &str) -> String {
        match self {
            AppCredential::Secret(s) if !s.is_empty() => text.replace(s.expose(), "***"),
            _ => text.to_string(),
        }
    }
}

/// Entra's refusal of a token request, read from its error JSON (no secret in it).
#[derive(Clone, Debug, Default)]
pub(crate) struct Refusal {
    pub status: u16,
    /// The OAuth error: `invalid_grant`, `authorization_pending`, `invalid_client`, …
    pub error: String,
    /// The first line of `error_description` (`AADSTS50173: The provided grant has expired…`).
    pub description: String,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    pub retry_after: Option<Duration>,
}

impl Refusal {
    /// 429 or 5xx: Entra is busy or down, try again later.
    pub fn is_transient(&self) -> bool {
        self.status == 429 || self.status >= 500
    }

    /// A transient refusal as the retryable [`GraphError`] the retry loops understand.
    pub fn into_unavailable(self) -> GraphError {
        GraphError::Api {
            status: self.status,
            code: if self.error.is_empty() {
                self.status.to_string()
            } else {
                self.error
            },
            message: format!(
                "the Entra ID token endpoint is unavailable: {}",
                self.description
            ),
            request_id: self.trace_id,
            retry_after: self.retry_after,
            retryable: true,
        }
    }
}

/// POSTs a grant (`form`) to the token endpoint at `token_url`, with the app's proof of identity
/// when it has a credential (a confidential client); see [`post_form`] for the answer.
pub(crate) async fn redeem(
    http: &reqwest::Client,
    token_url: &str,
    client_id: &str,
    credential: Option<&AppCredential>,
    mut form: Vec<(&str, String)>,
) -> Result<Result<String, Refusal>, GraphError> {
    form.push(("client_id", client_id.to_string()));
    if let Some(c) = credential {
        form.extend(c.form_fields(token_url, client_id)?);
    }
    post_form(http, token_url, "the Entra ID token endpoint", &form).await
}

/// POSTs `form` to an Entra endpoint (`what` names it in errors): the answer's body on 2xx,
/// Entra's [`Refusal`] otherwise, a transport error when there was no answer.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    url: &str,
    what: &str,
    form: &[(&str, String)],
) -> Result<Result<String, Refusal>, GraphError> {
    let client_request_id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let answer = http
        .post(url)
        .header("Accept", "application/json")
        .header("client-request-id", &client_request_id)
        .form(form)
        .send()
        .await
        .map_err(|e| transport_error(what, &e))?;
    let status = answer.status();
    let retry_after = super::retry_after_of(answer.headers());
    let body = answer.text().await.map_err(|e| transport_error(what, &e))?;
    tracing::debug!(
        url,
        status = status.as_u16(),
        client_request_id,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "token endpoint request"
    );
    if status.is_success() {
        return Ok(Ok(body));
    }
    let parsed: TokenErrorAnswer = serde_json::from_str(&body).unwrap_or_default();
    Ok(Err(Refusal {
        status: status.as_u16(),
        error: parsed.error,
        description: parsed
            .error_description
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        trace_id: parsed.trace_id,
        correlation_id: parsed.correlation_id,
        retry_after,
    }))
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
    credential: Option<AppCredential>,
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
        let credential = AppCredential::load(cfg)?;
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
        let Some(credential) = &self.credential else {
            return Err(GraphError::Config {
                key: "graph.client_secret",
                message: "an application token needs the app's own credential (client_secret, or certificate_path + private_key_path)".into(),
            });
        };
        let form = vec![
            ("scope", scope.to_string()),
            ("grant_type", "client_credentials".to_string()),
        ];
        let answer = redeem(
            &self.http,
            &self.token_url,
            &self.client_id,
            Some(credential),
            form,
        )
        .await?;
        let refusal = match answer {
            Ok(body) => {
                let parsed: TokenAnswer =
                    serde_json::from_str(&body).map_err(|e| GraphError::Protocol {
                        what: "the Entra ID token endpoint".into(),
                        message: format!("the token answer is not the expected JSON: {e}"),
                    })?;
                return Ok((
                    Secret::new(parsed.access_token),
                    lifetime_of(parsed.expires_in.as_ref()),
                ));
            }
            Err(r) => r,
        };
        let description = credential.scrub(&refusal.description);
        if refusal.is_transient() {
            return Err(Refusal {
                description,
                ..refusal
            }
            .into_unavailable());
        }
        tracing::warn!(
            tenant_id = %self.tenant_id,
            client_id = %self.client_id,
            status = refusal.status,
            error = %refusal.error,
            trace_id = refusal.trace_id.as_deref().unwrap_or(""),
            correlation_id = refusal.correlation_id.as_deref().unwrap_or(""),
            "Entra ID refused the token request"
        );
        Err(GraphError::Credentials {
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            code: if refusal.error.is_empty() {
                format!("HTTP {}", refusal.status)
            } else {
                refusal.error
            },
            description: if description.is_empty() {
                "no explanation given".into()
            } else {
                description
            },
        })
    }
}

/// An answer's `expires_in` (a number or a numeric string) as a lifetime. Entra issues tokens
/// for about an hour; a day caps a nonsensical answer, so an expiry instant cannot overflow.
pub(crate) fn lifetime_of(expires_in: Option<&serde_json::Value>) -> Duration {
    let secs = expires_in
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(3600);
    Duration::from_secs(secs.clamp(1, 86_400))
}
