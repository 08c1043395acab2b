//! Microsoft Graph: the token, the status of an Intune Multi Admin Approval request, and its
//! rejection (SPEC §4).
//!
//! - [`token`]: OAuth2 client credentials against Entra ID, cached per scope ([`TokenSource`]),
//!   with a client secret or a certificate ([`assertion`]).
//! - [`retry`]: the backoff arithmetic ([`RetryPolicy`], `Retry-After`).
//! - this file: [`GraphClient`], which makes the calls and owns the one rule that matters most:
//!   **never a second POST when the first one took effect**. Every reject starts with a GET of the
//!   request; after any failed or unanswered POST the status is read again before anything else,
//!   and a request already `rejected` with our own justification counts as our rejection.
//!
//! Every call carries `Authorization: Bearer`, `Accept: application/json`, a fresh
//! `client-request-id` and `User-Agent: reject-bridge/<version>`; logs carry Graph's `request-id`
//! and our `client-request-id`, never a token. National clouds are configuration only
//! (`graph.base_url`, `graph.authority`, `graph.scope`).

pub mod assertion;
pub mod directory;
pub mod retry;
pub mod signin;
pub mod token;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

pub use assertion::ClientCertificate;
pub use retry::{RetryPolicy, parse_retry_after};
pub use token::TokenSource;

use crate::config::{Config, GraphAuth, GraphConfig};
use crate::graph::signin::SignIn;
use crate::journal::Journal;
use crate::secret::Secret;

/// `User-Agent` of every call, so Graph-side logs can tell the bridge apart.
pub const USER_AGENT: &str = concat!("reject-bridge/", env!("CARGO_PKG_VERSION"));

/// What `approvalSource` says in every reject: the decision came in by e-mail.
pub const APPROVAL_SOURCE: &str = "email";

/// Why a Graph or token call did not give an answer to work with.
#[derive(Clone, Debug, thiserror::Error)]
pub enum GraphError {
    /// A configured file or value cannot be used (names the key).
    #[error("{key}: {message}")]
    Config { key: &'static str, message: String },
    /// Entra ID refused the app's credentials: wrong tenant, client id, secret or certificate.
    #[error(
        "Entra ID refused the credentials of client {client_id} in tenant {tenant_id}: {code}: {description} (check graph.tenant_id, graph.client_id and the client secret or certificate)"
    )]
    Credentials {
        tenant_id: String,
        client_id: String,
        /// The OAuth error (`invalid_client`, `unauthorized_client`, …).
        code: String,
        /// Entra's explanation, first line (`AADSTS7000215: Invalid client secret provided…`).
        description: String,
    },
    /// `graph.auth = "delegated"`: there is no usable sign-in (none stored, or Entra refused it).
    /// Nothing to retry: a person must run `reject-bridge login`.
    #[error(
        "the delegated sign-in {reason}; a person must sign in again with `reject-bridge login` as the service account"
    )]
    SignIn { reason: String },
    /// Graph (or the token endpoint) answered with an error status.
    #[error("Graph answered HTTP {status} {code}: {message}")]
    Api {
        status: u16,
        /// Graph's `error.code` (`ResourceNotFound`, `TooManyRequests`, …).
        code: String,
        message: String,
        /// Graph's `request-id`, for Microsoft support.
        request_id: Option<String>,
        retry_after: Option<Duration>,
        retryable: bool,
    },
    /// No answer: connection refused or dropped, timeout, TLS failure. Always retryable.
    #[error("no answer from {what}: {message}")]
    Transport { what: String, message: String },
    /// An answer that is not what Graph documents.
    #[error("unexpected answer from {what}: {message}")]
    Protocol { what: String, message: String },
}

impl GraphError {
    /// Whether trying again later may succeed (429, 5xx, timeouts, dropped connections).
    pub fn is_retryable(&self) -> bool {
        match self {
            GraphError::Api { retryable, .. } => *retryable,
            GraphError::Transport { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status Graph answered, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            GraphError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short machine-readable code for [`Outcome::Failed`] and the journal.
    pub fn code(&self) -> String {
        match self {
            GraphError::Config { .. } => "config".into(),
            GraphError::SignIn { .. } => "signin_required".into(),
            GraphError::Credentials { code, .. } => code.clone(),
            GraphError::Api { code, .. } => code.clone(),
            GraphError::Transport { .. } => "unreachable".into(),
            GraphError::Protocol { .. } => "protocol".into(),
        }
    }
}

pub(crate) fn transport_error(what: &str, e: &reqwest::Error) -> GraphError {
    // The source chain says what actually happened ("connection closed before message
    // completed", "operation timed out"); reqwest's own line alone does not.
    let mut message = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.without_url_ref().to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    GraphError::Transport {
        what: what.to_string(),
        message,
    }
}

/// Small shim: `reqwest::Error::without_url` consumes; this formats without the URL by reference.
trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let text = self.to_string();
        match self.url() {
            Some(url) => text.replace(&format!(" ({url})"), ""),
            None => text,
        }
    }
}

pub(crate) fn retry_after_of(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// An `operationApprovalRequest` as Graph returns it (the fields the bridge reads; the beta
/// resource has more and they are ignored).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStatus {
    pub id: String,
    /// `needsApproval`, `approved`, `rejected`, `cancelled`, `completed`, `expired`, `unknown`, …
    pub status: String,
    #[serde(default)]
    pub request_justification: Option<String>,
    #[serde(default)]
    pub approval_justification: Option<String>,
    #[serde(default)]
    pub request_date_time: Option<String>,
    #[serde(default)]
    pub expiration_date_time: Option<String>,
    #[serde(default)]
    pub last_modified_date_time: Option<String>,
    /// identitySet of who asked (`user.displayName`, …), as Graph sent it.
    #[serde(default)]
    pub requestor: Option<serde_json::Value>,
    #[serde(default)]
    pub approver: Option<serde_json::Value>,
    #[serde(default)]
    pub required_operation_approval_policy_types: Vec<String>,
    /// What the request is about, when Graph says (undocumented; never required).
    #[serde(default)]
    pub payload_name: Option<String>,
    #[serde(default)]
    pub payload_type: Option<String>,
    #[serde(default)]
    pub payload_operation: Option<String>,
}

/// The request `check` probes decisions with: the nil GUID, which no request has.
pub const PROBE_REQUEST_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The status value of a request that can still be rejected.
pub const NEEDS_APPROVAL: &str = "needsApproval";

/// What came of [`GraphClient::reject`]; each maps to one reply to the approver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The request is rejected with our justification (by this call, or by an earlier attempt
    /// whose answer was lost).
    Rejected,
    /// The request was already decided (approved, cancelled, expired, rejected by someone else…).
    AlreadyDecided { status: String },
    /// Graph knows no request with this ID.
    NotFound,
    /// Intune refused the decision by this identity (403 on the POST): not in an approver group
    /// of the request's policy, or its own request. Never retried with another identity.
    Forbidden { message: String },
    /// `graph.auth = "delegated"` and there is no usable sign-in: nothing was decided; the
    /// message waits for `reject-bridge login` (SPEC §4).
    SignInRequired { reason: String },
    /// Gave up. `retryable`: only transient errors were seen and the time budget ran out, so a
    /// later attempt may succeed; otherwise the failure is permanent (credentials, permissions…).
    Failed {
        code: String,
        message: String,
        retryable: bool,
    },
}

impl Outcome {
    fn failed(error: &GraphError) -> Outcome {
        if let GraphError::SignIn { reason } = error {
            return Outcome::SignInRequired {
                reason: reason.clone(),
            };
        }
        Outcome::Failed {
            code: error.code(),
            message: error.to_string(),
            retryable: error.is_retryable(),
        }
    }
}

/// Knobs that are not configuration: the retry timing (tests shorten it) and fixed DNS answers
/// (tests point a national-cloud host name at the simulator).
#[derive(Clone, Debug)]
pub struct GraphOptions {
    pub retry: RetryPolicy,
    /// `(host, address)` pairs resolved without DNS, like curl's `--resolve`.
    pub resolve: Vec<(String, SocketAddr)>,
}

impl GraphOptions {
    pub fn from_config(cfg: &GraphConfig) -> Self {
        GraphOptions {
            retry: RetryPolicy::with_budget(cfg.retry_max),
            resolve: Vec::new(),
        }
    }
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    scope: String,
    tokens: Arc<TokenSource>,
    /// `graph.auth = "delegated"`: Graph calls carry the service account's token, never the
    /// app's (`None` with client credentials).
    signin: Option<Arc<SignIn>>,
    /// `graph.auth = "delegated"` (even without a sign-in source, as in a dry run).
    delegated: bool,
    retry: RetryPolicy,
}

/// A Graph client for one app registration; cheap to clone (shared token cache and connections).
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.inner.base_url)
            .field("scope", &self.inner.scope)
            .finish_non_exhaustive()
    }
}

/// One successful answer.
struct Answer {
    status: u16,
    body: String,
}

impl GraphClient {
    /// Builds the client; certificate credentials are read and checked now (errors name the key).
    pub fn new(cfg: &GraphConfig) -> Result<Self, GraphError> {
        Self::with_options(cfg, GraphOptions::from_config(cfg))
    }

    pub fn with_options(cfg: &GraphConfig, options: GraphOptions) -> Result<Self, GraphError> {
        Self::build(cfg, options)
    }

    /// The client of the service: with `graph.auth = "delegated"`, Graph calls are made as the
    /// service account signed in with `reject-bridge login`, whose sign-in lives in `journal`
    /// (without a journal, as in a dry run, every call answers [`GraphError::SignIn`]).
    pub fn for_service(
        config: &Config,
        options: GraphOptions,
        journal: Option<Arc<Journal>>,
    ) -> Result<Self, GraphError> {
        let mut client = Self::build(&config.graph, options)?;
        if config.graph.auth == GraphAuth::Delegated {
            let signin = match journal {
                Some(j) => Some(Arc::new(SignIn::new(config, client.inner.http.clone(), j)?)),
                None => None,
            };
            let inner = Arc::get_mut(&mut client.inner).expect("a client not yet shared");
            inner.delegated = true;
            inner.signin = signin;
        }
        Ok(client)
    }

    fn build(cfg: &GraphConfig, options: GraphOptions) -> Result<Self, GraphError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .https_only(false);
        for (host, addr) in &options.resolve {
            builder = builder.resolve(host, *addr);
        }
        let http = builder.build().map_err(|e| GraphError::Config {
            key: "graph",
            message: format!("cannot build the HTTP client: {e}"),
        })?;
        let tokens = Arc::new(TokenSource::new(cfg, http.clone())?);
        Ok(GraphClient {
            inner: Arc::new(Inner {
                http,
                base_url: cfg.base_url.trim_end_matches('/').to_string(),
                scope: cfg.scope.clone(),
                tokens,
                signin: None,
                delegated: false,
                retry: options.retry,
            }),
        })
    }

    /// The shared token source (for XOAUTH2: `tokens().token_for(&imap.oauth_scope)`).
    pub fn tokens(&self) -> Arc<TokenSource> {
        self.inner.tokens.clone()
    }

    /// This client, making its Graph calls as `signin`'s user (an approver's own account,
    /// `graph.act_as = "approver"`); connections are shared.
    pub fn acting_as(&self, signin: Arc<SignIn>) -> GraphClient {
        let i = &self.inner;
        GraphClient {
            inner: Arc::new(Inner {
                http: i.http.clone(),
                base_url: i.base_url.clone(),
                scope: i.scope.clone(),
                tokens: i.tokens.clone(),
                signin: Some(signin),
                delegated: true,
                retry: i.retry.clone(),
            }),
        }
    }

    /// The HTTP client (shared connections), for the approvers' sign-ins.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The delegated sign-in, when decisions are made as the service account.
    pub fn signin(&self) -> Option<&Arc<SignIn>> {
        self.inner.signin.as_ref()
    }

    /// A token for Graph calls: the service account's (delegated) or the app's own.
    async fn graph_token(&self) -> Result<Secret, GraphError> {
        match (&self.inner.signin, self.inner.delegated) {
            (Some(s), _) => s.access_token().await,
            (None, true) => Err(GraphError::SignIn {
                reason: "is not available here (no journal)".into(),
            }),
            (None, false) => self.inner.tokens.token_for(&self.inner.scope).await,
        }
    }

    async fn forget_graph_token(&self, token: &Secret) {
        match &self.inner.signin {
            Some(s) => s.invalidate(token).await,
            None => self.inner.tokens.invalidate(&self.inner.scope, token).await,
        }
    }

    /// `graph.auth = "delegated"`: whether there is a usable sign-in now (cheap while one is
    /// cached or known lost); always `Ok` with client credentials.
    pub async fn ensure_signin(&self) -> Result<(), GraphError> {
        if !self.inner.delegated {
            return Ok(());
        }
        match self.graph_token().await {
            Err(e @ GraphError::SignIn { .. }) => Err(e),
            // Other failures (Entra busy) are the Graph step's to retry.
            _ => Ok(()),
        }
    }

    /// A token for `scope` from the shared cache.
    pub async fn token_for(&self, scope: &str) -> Result<Secret, GraphError> {
        self.inner.tokens.token_for(scope).await
    }

    /// For `reject-bridge check`: one attempt to get a Graph token.
    pub async fn check_token(&self) -> Result<(), GraphError> {
        self.graph_token().await.map(|_| ())
    }

    /// `GET {base_url}/{path}` as JSON (for `check`: policies, group membership), retried like
    /// [`status`](Self::status).
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, GraphError> {
        let url = format!("{}/{}", self.inner.base_url, path.trim_start_matches('/'));
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        loop {
            match self.call(reqwest::Method::GET, &url, None).await {
                Ok(answer) => {
                    return serde_json::from_str(&answer.body).map_err(|e| GraphError::Protocol {
                        what: "Graph".into(),
                        message: format!("{path}: not JSON: {e}"),
                    });
                }
                Err(e) => self.pause(&e, &mut attempt, deadline).await?,
            }
        }
    }

    /// For `check`: whether this identity may decide, by rejecting a request that cannot exist
    /// (the nil GUID). Intune checks the caller before the request, so a 403 means "not allowed
    /// to decide" and a 404 means "allowed"; nothing changes either way.
    pub async fn probe_decision(&self) -> Result<(), GraphError> {
        match self
            .post_reject(PROBE_REQUEST_ID, "reject-bridge check")
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The request `id` (retrying transient failures within the budget); 404 is an
    /// `Err(GraphError::Api { status: 404, .. })`.
    pub async fn status(&self, id: &str) -> Result<RequestStatus, GraphError> {
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        self.status_retrying(id, deadline, &mut attempt).await
    }

    /// All requests, optionally filtered (`status eq 'needsApproval'`), following
    /// `@odata.nextLink` (for the notifier). Each page is retried like [`status`](Self::status).
    pub async fn list(&self, filter: Option<&str>) -> Result<Vec<RequestStatus>, GraphError> {
        let mut url = reqwest::Url::parse(&format!(
            "{}/deviceManagement/operationApprovalRequests",
            self.inner.base_url
        ))
        .map_err(|e| GraphError::Config {
            key: "graph.base_url",
            message: e.to_string(),
        })?;
        if let Some(filter) = filter {
            url.query_pairs_mut().append_pair("$filter", filter);
        }
        self.get_pages(url.as_str(), "the request list").await
    }

    /// Every item of the collection at `url`, following `@odata.nextLink`; each page is retried
    /// like [`status`](Self::status), within one retry budget for the whole walk. `what` names
    /// the collection in errors.
    pub(crate) async fn get_pages<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<Vec<T>, GraphError> {
        #[derive(Deserialize)]
        struct Page<T> {
            #[serde(default = "Vec::new")]
            value: Vec<T>,
            #[serde(rename = "@odata.nextLink", default)]
            next_link: Option<String>,
        }
        let mut next = Some(url.to_string());
        let mut all = Vec::new();
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        while let Some(url) = next.take() {
            let answer = loop {
                match self.call(reqwest::Method::GET, &url, None).await {
                    Ok(a) => break a,
                    Err(e) => self.pause(&e, &mut attempt, deadline).await?,
                }
            };
            let page: Page<T> =
                serde_json::from_str(&answer.body).map_err(|e| GraphError::Protocol {
                    what: "Graph".into(),
                    message: format!("{what} is not the expected JSON: {e}"),
                })?;
            all.extend(page.value);
            next = page.next_link;
        }
        Ok(all)
    }

    /// One resource at `url`, retried like [`status`](Self::status); `what` names it in errors.
    pub(crate) async fn get_one<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, GraphError> {
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        let answer = loop {
            match self.call(reqwest::Method::GET, url, None).await {
                Ok(a) => break a,
                Err(e) => self.pause(&e, &mut attempt, deadline).await?,
            }
        };
        serde_json::from_str(&answer.body).map_err(|e| GraphError::Protocol {
            what: "Graph".into(),
            message: format!("{what} is not the expected JSON: {e}"),
        })
    }

    /// `graph.base_url`, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The whole SPEC §4 reject of request `id` with `justification` (the exact Graph string).
    ///
    /// GET the status: `needsApproval` → POST reject; already `rejected` with this very
    /// justification → ours ([`Outcome::Rejected`]: a POST whose answer was lost, or a retry after
    /// a crash); any other state → [`Outcome::AlreadyDecided`]; 404 → [`Outcome::NotFound`].
    /// Transient failures (429, 5xx, timeouts, dropped connections) are retried with backoff
    /// within `graph.retry_max_secs`, and every retry of the POST is preceded by a fresh GET, so
    /// there is never a second POST once one took effect.
    pub async fn reject(&self, id: &str, justification: &str) -> Outcome {
        self.reject_inner(id, justification, false).await
    }

    /// [`GraphClient::reject`] for a message whose earlier attempt may have POSTed (the process
    /// stopped during the call): a request already `rejected` with exactly this justification
    /// is then ours, `Rejected`, not `AlreadyDecided`.
    pub async fn resume_reject(&self, id: &str, justification: &str) -> Outcome {
        self.reject_inner(id, justification, true).await
    }

    async fn reject_inner(&self, id: &str, justification: &str, mut posted: bool) -> Outcome {
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        loop {
            let current = match self.status_retrying(id, deadline, &mut attempt).await {
                Ok(s) => s,
                Err(e) if e.status() == Some(404) => return Outcome::NotFound,
                Err(e) => return Outcome::failed(&e),
            };
            if let Some(done) = judge(&current, justification, posted) {
                tracing::info!(approval_request_id = id, status = %current.status, outcome = ?done, "request not pending");
                return done;
            }
            match self.post_reject(id, justification).await {
                Ok(()) => {
                    tracing::info!(approval_request_id = id, "request rejected");
                    return Outcome::Rejected;
                }
                Err(e) if e.status() == Some(404) => return Outcome::NotFound,
                Err(GraphError::Api {
                    status: 403,
                    code,
                    message,
                    ..
                }) => {
                    tracing::warn!(approval_request_id = id, %code, %message, "Intune refused the decision by this identity");
                    return Outcome::Forbidden {
                        message: format!("{code}: {message}"),
                    };
                }
                Err(e) if e.is_retryable() => {
                    // The POST may have taken effect (lost answer): the loop re-reads the status.
                    posted = true;
                    if let Err(e) = self.pause(&e, &mut attempt, deadline).await {
                        return Outcome::failed(&e);
                    }
                }
                Err(e) if matches!(e.status(), Some(400 | 409)) => {
                    // Most likely decided between our GET and POST: say what it is now.
                    return match self.status_retrying(id, deadline, &mut attempt).await {
                        Ok(now) => {
                            judge(&now, justification, posted).unwrap_or(Outcome::failed(&e))
                        }
                        Err(e2) if e2.status() == Some(404) => Outcome::NotFound,
                        Err(_) => Outcome::failed(&e),
                    };
                }
                Err(e) => return Outcome::failed(&e),
            }
        }
    }

    async fn status_retrying(
        &self,
        id: &str,
        deadline: Instant,
        attempt: &mut u32,
    ) -> Result<RequestStatus, GraphError> {
        let url = self.request_url(id, "");
        loop {
            match self.call(reqwest::Method::GET, &url, None).await {
                Ok(answer) => {
                    return serde_json::from_str(&answer.body).map_err(|e| GraphError::Protocol {
                        what: "Graph".into(),
                        message: format!(
                            "the operationApprovalRequest is not the expected JSON: {e}"
                        ),
                    });
                }
                Err(e) if e.is_retryable() => self.pause(&e, attempt, deadline).await?,
                Err(e) => return Err(e),
            }
        }
    }

    async fn post_reject(&self, id: &str, justification: &str) -> Result<(), GraphError> {
        let body = serde_json::json!({
            "justification": justification,
            "approvalSource": APPROVAL_SOURCE,
        });
        let answer = self
            .call(
                reqwest::Method::POST,
                &self.request_url(id, "/reject"),
                Some(&body),
            )
            .await?;
        tracing::debug!(
            approval_request_id = id,
            status = answer.status,
            "reject accepted"
        );
        Ok(())
    }

    fn request_url(&self, id: &str, suffix: &str) -> String {
        format!(
            "{}/deviceManagement/operationApprovalRequests/{}{suffix}",
            self.inner.base_url,
            path_segment(id)
        )
    }

    /// Sleeps before the next attempt, or returns `error` when the budget does not allow one.
    async fn pause(
        &self,
        error: &GraphError,
        attempt: &mut u32,
        deadline: Instant,
    ) -> Result<(), GraphError> {
        if !error.is_retryable() {
            return Err(error.clone());
        }
        let delay = self.inner.retry.delay(*attempt, error.retry_after());
        if Instant::now() + delay > deadline {
            tracing::warn!(%error, attempts = *attempt + 1, "giving up on Graph: retry budget spent");
            return Err(error.clone());
        }
        tracing::warn!(%error, attempt = *attempt + 1, delay_ms = delay.as_millis() as u64, "Graph call failed; retrying");
        crate::metrics::graph_retry();
        *attempt += 1;
        tokio::time::sleep(delay).await;
        Ok(())
    }

    /// One call, with the token refreshed and the call repeated once on a 401.
    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GraphError> {
        let mut token = self.graph_token().await?;
        let mut refreshed = false;
        loop {
            match self.send(method.clone(), url, body, &token).await {
                Err(e) if e.status() == Some(401) && !refreshed => {
                    tracing::info!(url, "Graph refused the token (401); fetching a new one");
                    self.forget_graph_token(&token).await;
                    token = self.graph_token().await?;
                    refreshed = true;
                }
                other => return other,
            }
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
        token: &Secret,
    ) -> Result<Answer, GraphError> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let mut request = self
            .inner
            .http
            .request(method.clone(), url)
            .header("Authorization", format!("Bearer {}", token.expose()))
            .header("Accept", "application/json")
            .header("client-request-id", &client_request_id);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let started = Instant::now();
        let result = request.send().await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                let error = transport_error("Graph", &e);
                tracing::warn!(%method, url, client_request_id, %error, "Graph call got no answer");
                return Err(error);
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| transport_error("Graph", &e))?;
        let graph_request_id = headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        tracing::debug!(
            %method,
            url,
            status,
            graph_request_id = graph_request_id.as_deref().unwrap_or(""),
            client_request_id,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Graph call"
        );
        if (200..300).contains(&status) {
            return Ok(Answer { status, body: text });
        }
        let (code, message, inner_request_id) = parse_graph_error(&text);
        let request_id = graph_request_id.or(inner_request_id);
        let error = GraphError::Api {
            status,
            code: code.unwrap_or_else(|| format!("HTTP{status}")),
            message: message.unwrap_or_else(|| "no error message".into()),
            request_id: request_id.clone(),
            retry_after: retry_after_of(&headers),
            retryable: status == 429 || status >= 500,
        };
        tracing::warn!(
            %method,
            url,
            status,
            graph_request_id = request_id.as_deref().unwrap_or(""),
            client_request_id,
            %error,
            "Graph answered with an error"
        );
        Err(error)
    }
}

/// `id` as one URL path segment: IDs come from a pattern the operator controls or from Graph's
/// own answers, so everything but letters, digits and `-` is percent-encoded.
pub(crate) fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The outcome a request's current state already decides, or `None` when it can be rejected.
/// `rejected` with our justification is ours only when a POST of ours may have taken effect
/// (SPEC §4: a lost answer); otherwise someone, or an earlier message, rejected it first.
fn judge(current: &RequestStatus, justification: &str, posted: bool) -> Option<Outcome> {
    match current.status.as_str() {
        NEEDS_APPROVAL => None,
        "rejected"
            if posted && current.approval_justification.as_deref() == Some(justification) =>
        {
            Some(Outcome::Rejected)
        }
        other => Some(Outcome::AlreadyDecided {
            status: other.to_string(),
        }),
    }
}

/// Graph's error body: `{"error": {"code", "message", "innerError": {"request-id", "date"}}}`.
fn parse_graph_error(text: &str) -> (Option<String>, Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return (None, None, None);
    };
    let error = &value["error"];
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let inner = if error["innerError"].is_object() {
        &error["innerError"]
    } else {
        &error["innererror"]
    };
    (
        s(&error["code"]),
        s(&error["message"]),
        s(&inner["request-id"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_error_json_is_read() {
        let (code, message, rid) = parse_graph_error(
            r#"{"error":{"code":"TooManyRequests","message":"slow down","innerError":{"request-id":"r-1","date":"2024-01-01T00:00:00"}}}"#,
        );
        assert_eq!(code.as_deref(), Some("TooManyRequests"));
        assert_eq!(message.as_deref(), Some("slow down"));
        assert_eq!(rid.as_deref(), Some("r-1"));
        assert_eq!(parse_graph_error("<html>"), (None, None, None));
    }

    #[test]
    fn current_state_decides_without_a_post() {
        let mut s = RequestStatus {
            id: "x".into(),
            status: "needsApproval".into(),
            ..Default::default()
        };
        assert_eq!(judge(&s, "j", false), None);
        s.status = "rejected".into();
        s.approval_justification = Some("j".into());
        assert_eq!(judge(&s, "j", true), Some(Outcome::Rejected));
        assert_eq!(
            judge(&s, "j", false),
            Some(Outcome::AlreadyDecided {
                status: "rejected".into()
            })
        );
        assert_eq!(
            judge(&s, "other", true),
            Some(Outcome::AlreadyDecided {
                status: "rejected".into()
            })
        );
        s.status = "approved".into();
        assert_eq!(
            judge(&s, "j", true),
            Some(Outcome::AlreadyDecided {
                status: "approved".into()
            })
        );
    }

    #[test]
    fn request_ids_stay_in_one_segment() {
        let cfg = crate::config::GraphConfig {
            base_url: "https://graph.example/beta/".into(),
            authority: "https://login.example".into(),
            tenant_id: "t".into(),
            client_id: "c".into(),
            auth: crate::config::GraphAuth::ClientCredentials,
            credential: Some(crate::config::GraphCredential::ClientSecret(Secret::new(
                "s",
            ))),
            delegated_scopes: vec![],
            keepalive: Duration::from_secs(3600),
            act_as: crate::config::ActAs::ServiceAccount,
            scope: "https://graph.example/.default".into(),
            retry_max: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            request_id_pattern: regex::Regex::new("x").unwrap(),
            justification_template: String::new(),
        };
        let client = GraphClient::new(&cfg).unwrap();
        assert_eq!(
            client.request_url("ab-12/../x?y", "/reject"),
            "https://graph.example/beta/deviceManagement/operationApprovalRequests/ab-12%2F%2E%2E%2Fx%3Fy/reject"
        );
    }
}
