//! Microsoft Graph: the token, the status of an Intune Multi Admin Approval request, and its
//! rejection (SPEC §4).
//!
//! - [`token`]: OAuth2 client credentials against Entra ID, cached per scope ([`TokenSource`]),
//!   with a client secret or a certificate ([`assertion`]).
//! - [`signin`]: the delegated sign-in (`graph.auth = "delegated"`, `reject-bridge login`) and the
//!   approvers' own sign-ins (`graph.act_as = "approver"`).
//! - [`retry`]: the backoff arithmetic ([`RetryPolicy`], `Retry-After`).
//! - [`directory`]: what the notifier reads besides the requests (policies, groups, users).
//! - `requests`: the operationApprovalRequests: [`RequestStatus`], [`RejectResult`], and the reject,
//!   which owns the one rule that matters most: **never a second POST when the first one took
//!   effect**. Every reject starts with a GET of the request; after any failed or unanswered POST
//!   the status is read again before anything else, and a request already `rejected` with our own
//!   justification counts as our rejection.
//! - `http`: one call on the wire (headers, the 401 refresh, Graph's error body) and the retry
//!   loop of the GETs, within `graph.retry_max_secs`.
//! - this file: [`GraphError`], [`GraphOptions`] and [`GraphClient`] itself: how it is built
//!   (app credentials, the service account, an approver) and where its tokens come from.
//!
//! Every call carries `Authorization: Bearer`, `Accept: application/json`, a fresh
//! `client-request-id` and `User-Agent: reject-bridge/<version>`; logs carry Graph's `request-id`
//! and our `client-request-id`, never a token. National clouds are configuration only
//! (`graph.base_url`, `graph.authority`, `graph.scope`).

pub mod assertion;
pub mod directory;
mod http;
mod requests;
pub mod retry;
pub mod signin;
pub mod token;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

pub use assertion::ClientCertificate;
pub use requests::{
    APPROVAL_SOURCE, NEEDS_APPROVAL, PROBE_REQUEST_ID, RejectResult, RequestStatus,
};
pub use retry::{RetryPolicy, parse_retry_after};
pub use token::TokenSource;

use crate::config::{Config, GraphAuth, GraphConfig};
use crate::graph::signin::SignIn;
use crate::journal::Journal;
use crate::secret::Secret;

/// `User-Agent` of every call, so Graph-side logs can tell the bridge apart.
pub const USER_AGENT: &str = concat!("reject-bridge/", env!("CARGO_PKG_VERSION"));

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

    /// A short machine-readable code for [`RejectResult::Failed`] and the journal.
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

    /// `graph.base_url`, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.inner.base_url
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
