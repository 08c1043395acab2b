//! Sending mail: a [`Sender`] built from `SmtpConfig` (implicit TLS, STARTTLS or plain on
//! loopback; the rustls roots of [`crate::tls`] plus `ca_file`; optional AUTH PLAIN/LOGIN, or
//! XOAUTH2 with a fixed token or with tokens from a [`BearerTokens`] source that is asked for each
//! new session and told when the server refused one) over sessions kept open between sends
//! (`session`: our own sockets with `TCP_NODELAY`, lettre's protocol steps), and the
//! distinctions callers need
//! (`classify`): a transient failure (4xx, network, timeout) keeps the message for a retry; a
//! refusal of *us* (a refused login — 535 and the other 53x —, a sender quota or rate limit, a
//! sender policy such as 5.7.x "not allowed to send as") keeps it too, and says so for
//! `/healthz`: the message is fine, the account is not; only a 5xx about the *recipient* (or the
//! message itself) is permanent.
//!
//! Every mail sent here carries `X-Auto-Response-Suppress: All` (Exchange's "no automatic
//! replies to this"), so out-of-office answers and read receipts never start a loop.

use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};
use std::sync::Arc;

use futures::future::BoxFuture;

mod classify;
mod session;
use classify::{classify, words};
pub use classify::{classify_5xx, error_chain, is_auth_refusal};
use session::{Endpoint, Failure, Login, Pool, Session, Transmit};

use crate::config::{MailAuth, SmtpConfig, TlsMode};
use crate::secret::Secret;
use crate::tls;

/// Where XOAUTH2 logins get their bearer token: asked before each login (the source caches and
/// refreshes before expiry), told when the server refused a token so the next ask fetches anew.
/// The I/O edge between the mail protocols and the token endpoint; errors are words, no secret.
pub trait BearerTokens: Send + Sync {
    fn token(&self) -> BoxFuture<'_, Result<Secret, String>>;
    fn refused<'a>(&'a self, token: &'a Secret) -> BoxFuture<'a, ()>;
}

/// The transport could not be set up or the server could not be reached / logged in to.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP configuration: {0}")]
    Config(String),
    #[error("SMTP TLS with {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error(
        "SMTP login to {host} refused: {reason} (check smtp.username and smtp.password / smtp.auth)"
    )]
    Auth { host: String, reason: String },
    #[error("SMTP server {host}:{port}: {reason}")]
    Connect {
        host: String,
        port: u16,
        reason: String,
    },
}

/// Sending one message failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later: a 4xx answer, a network problem or a timeout.
    #[error("SMTP temporary failure: {0}")]
    Transient(String),
    /// Will not work as is: a 5xx answer about the recipient or the message (or a message that
    /// cannot be sent at all).
    #[error("SMTP permanent failure: {0}")]
    Permanent(String),
    /// The server refused *us*: the login, a sending quota or rate limit, a sender policy. The
    /// message is fine and waits; the operator has to act (see `/healthz`).
    #[error("the SMTP server refused the bridge's account: {0}")]
    Refused(String),
}

/// The header every mail sent carries, and its value.
pub const AUTO_RESPONSE_SUPPRESS: (&str, &str) = ("X-Auto-Response-Suppress", "All");

/// `msg` as bytes, with `X-Auto-Response-Suppress: All` first when it has none.
pub fn formatted_with_suppress(msg: &lettre::Message) -> Vec<u8> {
    let (name, value) = AUTO_RESPONSE_SUPPRESS;
    let raw = msg.formatted();
    if msg.headers().get_raw(name).is_some() {
        return raw;
    }
    let mut out = format!("{name}: {value}\r\n").into_bytes();
    out.extend_from_slice(&raw);
    out
}

/// How to log in. [`Sender::new`] uses the configured user name and password; XOAUTH2 needs a
/// bearer token from the Graph app's credentials, given through [`Sender::with_login`].
#[derive(Clone, Copy, Debug)]
pub enum SmtpLogin<'a> {
    None,
    Password { user: &'a str, password: &'a Secret },
    Xoauth2 { user: &'a str, token: &'a Secret },
}

/// Sends mail over SMTP, keeping a few sessions open between sends (`session::Pool`). Cheap to
/// clone (the clones share the sessions).
#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    login: LoginSource,
    pool: Pool,
}

enum LoginSource {
    /// Credentials fixed at construction (none, a password, or one XOAUTH2 token).
    Fixed(Login),
    /// XOAUTH2 as `user` with tokens from a source, asked for each new session.
    Tokens {
        user: String,
        tokens: Arc<dyn BearerTokens>,
    },
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("host", &self.inner.endpoint.host)
            .field("port", &self.inner.endpoint.port)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender for `cfg`, logging in with `smtp.username`/`smtp.password` when both are set.
    pub fn new(cfg: &SmtpConfig) -> Result<Self, SmtpError> {
        let login = match (cfg.auth, &cfg.username, &cfg.password) {
            (MailAuth::Xoauth2, _, _) => {
                return Err(SmtpError::Config(
                    "smtp.auth = \"xoauth2\" needs an OAuth token: use Sender::with_login".into(),
                ));
            }
            (MailAuth::Password, Some(user), Some(password)) => SmtpLogin::Password {
                user: user.as_str(),
                password,
            },
            _ => SmtpLogin::None,
        };
        Self::with_login(cfg, login)
    }

    /// [`Sender::new`] with an explicit login (the XOAUTH2 seam).
    pub fn with_login(cfg: &SmtpConfig, login: SmtpLogin<'_>) -> Result<Self, SmtpError> {
        let login = match login {
            SmtpLogin::None => Login::None,
            SmtpLogin::Password { user, password } => Login::Password {
                user: user.to_owned(),
                password: password.clone(),
            },
            SmtpLogin::Xoauth2 { user, token } => Login::Xoauth2 {
                user: user.to_owned(),
                token: token.clone(),
            },
        };
        Self::build(cfg, LoginSource::Fixed(login))
    }

    /// A sender logging in with XOAUTH2 as `user`, with a token from `tokens` for each new
    /// session (sources cache). When the server refuses the token, the source is told and the
    /// login is tried once more with a fresh one.
    pub fn with_tokens(
        cfg: &SmtpConfig,
        user: &str,
        tokens: Arc<dyn BearerTokens>,
    ) -> Result<Self, SmtpError> {
        Self::build(
            cfg,
            LoginSource::Tokens {
                user: user.to_owned(),
                tokens,
            },
        )
    }

    fn build(cfg: &SmtpConfig, login: LoginSource) -> Result<Self, SmtpError> {
        Ok(Sender {
            inner: Arc::new(Inner {
                endpoint: endpoint(cfg)?,
                login,
                pool: Pool::default(),
            }),
        })
    }

    /// Sends one message to the recipients of its envelope (To/Cc/Bcc), with
    /// `X-Auto-Response-Suppress: All`, on a kept session when there is one.
    pub async fn send(&self, msg: &lettre::Message) -> Result<(), SendError> {
        let envelope = msg.envelope();
        let raw = formatted_with_suppress(msg);
        let recipients: Vec<String> = envelope.to().iter().map(|a| a.to_string()).collect();
        let inner = &self.inner;
        let timeout = inner.endpoint.timeout;
        // Each kept session may have been closed by the server while idle: such a failure at
        // MAIL FROM (nothing of the message sent) moves on to the next one, at worst a new one.
        for _ in 0..=session::POOL_SIZE {
            let (mut session, kept) = match inner.pool.take() {
                Some(s) => (s, true),
                None => (
                    self.open().await.map_err(|f| self.send_error(f, &[]))?,
                    false,
                ),
            };
            match session.transmit(envelope, &raw, timeout).await {
                Ok(response) => {
                    tracing::debug!(host = %inner.endpoint.host, code = %response.code(), "message accepted");
                    inner.pool.put(session);
                    return Ok(());
                }
                Err(Transmit::AtMail(f)) if kept && f.is_stale_session() => {
                    tracing::debug!(host = %inner.endpoint.host, "a kept SMTP session was closed by the server; using another");
                }
                Err(Transmit::AtMail(f) | Transmit::Later(f)) => {
                    return Err(self.send_error(f, &recipients));
                }
            }
        }
        Err(SendError::Transient(format!(
            "{}:{}: every SMTP session failed at MAIL FROM",
            inner.endpoint.host, inner.endpoint.port
        )))
    }

    /// A new logged-in session; with a token source, a refused token is reported to it and a
    /// fresh one tried once.
    async fn open(&self) -> Result<Session, Failure> {
        let inner = &self.inner;
        match &inner.login {
            LoginSource::Fixed(login) => inner.endpoint.open(login).await,
            LoginSource::Tokens { user, tokens } => {
                let mut retried = false;
                loop {
                    let token = tokens.token().await.map_err(Failure::NoToken)?;
                    let login = Login::Xoauth2 {
                        user: user.clone(),
                        token: token.clone(),
                    };
                    match inner.endpoint.open(&login).await {
                        Ok(s) => return Ok(s),
                        Err(Failure::Smtp(e)) if is_auth_refusal(&e) => {
                            tokens.refused(&token).await;
                            inner.pool.clear();
                            if retried {
                                return Err(Failure::LoginRefused(format!(
                                    "XOAUTH2 login refused: {}",
                                    words(&e)
                                )));
                            }
                            tracing::info!(host = %inner.endpoint.host, "SMTP server refused the OAuth token; fetching a new one");
                            retried = true;
                        }
                        Err(f) => return Err(f),
                    }
                }
            }
        }
    }

    fn send_error(&self, f: Failure, recipients: &[String]) -> SendError {
        let (host, port) = (&self.inner.endpoint.host, self.inner.endpoint.port);
        match f {
            Failure::Smtp(e) => classify(&e, recipients),
            Failure::Connect(e) => SendError::Transient(format!("{host}:{port}: {e}")),
            Failure::Tls(e) => SendError::Transient(e.to_string()),
            Failure::Timeout(step) => SendError::Transient(format!(
                "{host}:{port} did not answer within {:?} ({step})",
                self.inner.endpoint.timeout
            )),
            Failure::Unsendable(why) => SendError::Permanent(why),
            Failure::NoToken(reason) => {
                SendError::Transient(format!("no OAuth token for the SMTP login: {reason}"))
            }
            Failure::LoginRefused(why) => SendError::Refused(why),
        }
    }

    /// Connects, sets up TLS and logs in (when configured) without sending anything.
    pub async fn check(&self) -> Result<(), SmtpError> {
        let session = self.open().await.map_err(|e| self.check_error(e))?;
        session.quit(self.inner.endpoint.timeout).await;
        Ok(())
    }

    /// What went wrong while opening a session, as `check` says it.
    fn check_error(&self, f: Failure) -> SmtpError {
        let host = self.inner.endpoint.host.clone();
        match f {
            Failure::Tls(e) => SmtpError::Tls {
                host,
                reason: e.to_string(),
            },
            Failure::Smtp(e) if e.is_tls() || tls::describe(&e).is_some() => SmtpError::Tls {
                host,
                reason: words(&e),
            },
            Failure::Smtp(e) if is_auth_refusal(&e) => SmtpError::Auth {
                host,
                reason: words(&e),
            },
            Failure::LoginRefused(reason) => SmtpError::Auth { host, reason },
            // At open, only a missing STARTTLS.
            Failure::Unsendable(reason) => SmtpError::Tls { host, reason },
            other => SmtpError::Connect {
                host,
                port: self.inner.endpoint.port,
                reason: match self.send_error(other, &[]) {
                    SendError::Transient(r) | SendError::Permanent(r) | SendError::Refused(r) => r,
                },
            },
        }
    }
}

/// Where and how to reach the server of `cfg` (TLS trust made once: web roots plus `ca_file`).
fn endpoint(cfg: &SmtpConfig) -> Result<Endpoint, SmtpError> {
    let rustls = match cfg.tls {
        TlsMode::Implicit => Some(
            tls::client_config(cfg.ca_file.as_deref())
                .map_err(|e| SmtpError::Config(e.to_string()))?,
        ),
        _ => None,
    };
    let starttls = match cfg.tls {
        TlsMode::Starttls => tls_for(cfg)?,
        _ => None,
    };
    Ok(Endpoint {
        host: cfg.host.clone(),
        port: cfg.port,
        mode: cfg.tls,
        timeout: cfg.timeout,
        rustls,
        starttls,
    })
}

/// The rustls parameters for `cfg` (web roots plus `ca_file`), or `None` without TLS.
pub fn tls_for(cfg: &SmtpConfig) -> Result<Option<TlsParameters>, SmtpError> {
    if cfg.tls == TlsMode::None {
        return Ok(None);
    }
    let host = cfg.host.as_str();
    let mut builder =
        TlsParameters::builder(host.to_owned()).certificate_store(CertificateStore::WebpkiRoots);
    if let Some(path) = &cfg.ca_file {
        let pem = tls::read_ca_pem(path).map_err(|e| SmtpError::Config(e.to_string()))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| SmtpError::Config(format!("ca_file {}: {e}", path.display())))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map(Some)
        .map_err(|e| SmtpError::Tls {
            host: host.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests;
