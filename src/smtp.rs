//! Sending mail: a lettre SMTP transport built from `SmtpConfig` (implicit TLS, STARTTLS or plain
//! on loopback; the rustls roots of [`crate::tls`] plus `ca_file`; optional AUTH PLAIN/LOGIN, with
//! a seam for XOAUTH2), and the one distinction callers need: a transient failure (4xx, network,
//! timeout) keeps the message for a retry, a permanent one (5xx) does not.

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{MailAuth, SmtpConfig, TlsMode};
use crate::secret::Secret;
use crate::tls;

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
    /// Will not work as is: a 5xx answer (or a message that cannot be sent at all).
    #[error("SMTP permanent failure: {0}")]
    Permanent(String),
}

/// How to log in. [`Sender::new`] uses the configured user name and password; XOAUTH2 needs a
/// bearer token from the Graph app's credentials, given through [`Sender::with_login`].
#[derive(Clone, Copy, Debug)]
pub enum SmtpLogin<'a> {
    None,
    Password { user: &'a str, password: &'a Secret },
    Xoauth2 { user: &'a str, token: &'a Secret },
}

/// A ready SMTP transport. It keeps a small connection pool whose clean-up task runs on tokio:
/// build and drop a `Sender` inside a tokio runtime (lettre panics otherwise).
#[derive(Clone)]
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    port: u16,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("host", &self.host)
            .field("port", &self.port)
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
        let host = cfg.host.as_str();
        let tls_params = || -> Result<TlsParameters, SmtpError> {
            let mut builder = TlsParameters::builder(host.to_owned())
                .certificate_store(CertificateStore::WebpkiRoots);
            if let Some(path) = &cfg.ca_file {
                let pem = tls::read_ca_pem(path).map_err(|e| SmtpError::Config(e.to_string()))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| SmtpError::Config(format!("ca_file {}: {e}", path.display())))?;
                builder = builder.add_root_certificate(cert);
            }
            builder.build_rustls().map_err(|e| SmtpError::Tls {
                host: host.to_owned(),
                reason: e.to_string(),
            })
        };
        let tls = match cfg.tls {
            TlsMode::Implicit => Tls::Wrapper(tls_params()?),
            TlsMode::Starttls => Tls::Required(tls_params()?),
            TlsMode::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(cfg.timeout));
        match login {
            SmtpLogin::None => {}
            SmtpLogin::Password { user, password } => {
                builder = builder
                    .credentials(Credentials::new(
                        user.to_owned(),
                        password.expose().to_owned(),
                    ))
                    .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            }
            SmtpLogin::Xoauth2 { user, token } => {
                builder = builder
                    .credentials(Credentials::new(user.to_owned(), token.expose().to_owned()))
                    .authentication(vec![Mechanism::Xoauth2]);
            }
        }
        Ok(Sender {
            transport: builder.build(),
            host: host.to_owned(),
            port: cfg.port,
        })
    }

    /// Sends one message to the recipients of its envelope (To/Cc/Bcc).
    pub async fn send(&self, msg: &lettre::Message) -> Result<(), SendError> {
        match self.transport.send(msg.clone()).await {
            Ok(response) => {
                tracing::debug!(host = %self.host, code = %response.code(), "message accepted");
                Ok(())
            }
            Err(e) => Err(classify(&e)),
        }
    }

    /// Connects, sets up TLS and logs in (when configured) without sending anything.
    pub async fn check(&self) -> Result<(), SmtpError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(SmtpError::Connect {
                host: self.host.clone(),
                port: self.port,
                reason: "the server did not answer NOOP after connecting".into(),
            }),
            Err(e) => Err(self.setup_error(&e)),
        }
    }

    fn setup_error(&self, e: &lettre::transport::smtp::Error) -> SmtpError {
        if let Some(reason) = tls::describe(e) {
            return SmtpError::Tls {
                host: self.host.clone(),
                reason,
            };
        }
        if e.is_tls() {
            return SmtpError::Tls {
                host: self.host.clone(),
                reason: words(e),
            };
        }
        if let Some(code) = e.status()
            && code.to_string().starts_with("53")
        {
            return SmtpError::Auth {
                host: self.host.clone(),
                reason: words(e),
            };
        }
        SmtpError::Connect {
            host: self.host.clone(),
            port: self.port,
            reason: words(e),
        }
    }
}

/// 5xx is permanent; 4xx, network trouble and timeouts are transient. A TLS trust failure is
/// reported as transient too: the message is fine, the operator has to fix the configuration.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = words(e);
    if e.is_permanent() {
        SendError::Permanent(text)
    } else if e.is_client() {
        // lettre refused the message itself (e.g. no recipient): sending again cannot help.
        SendError::Permanent(text)
    } else {
        SendError::Transient(text)
    }
}

/// The error with its sources, TLS failures in words; never any credential (lettre's errors
/// carry server answers and I/O errors, not what was sent).
fn words(e: &lettre::transport::smtp::Error) -> String {
    if let Some(tls) = tls::describe(e) {
        return tls;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cfg(tls: TlsMode, port: u16) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls,
            username: None,
            password: None,
            auth: MailAuth::Password,
            oauth_scope: String::new(),
            ca_file: None,
            from: "Approvals <bridge@example.test>".parse().unwrap(),
            from_address: "bridge@example.test".into(),
            templates_dir: None,
            timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn xoauth2_without_token_is_a_config_error() {
        let mut c = cfg(TlsMode::Starttls, 587);
        c.auth = MailAuth::Xoauth2;
        let err = Sender::new(&c).unwrap_err();
        assert!(matches!(err, SmtpError::Config(_)), "{err}");
        let token = Secret::new("t");
        Sender::with_login(
            &c,
            SmtpLogin::Xoauth2 {
                user: "bridge@example.test",
                token: &token,
            },
        )
        .unwrap();
    }

    #[tokio::test]
    async fn missing_ca_file_is_named() {
        let mut c = cfg(TlsMode::Implicit, 465);
        c.ca_file = Some("/nonexistent/ca.pem".into());
        let err = Sender::new(&c).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[tokio::test]
    async fn unreachable_server_is_transient() {
        // Bind then drop a listener: the port is very likely closed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let sender = Sender::new(&cfg(TlsMode::None, port)).unwrap();
        let msg = lettre::Message::builder()
            .from("bridge@example.test".parse().unwrap())
            .to("alice@example.test".parse().unwrap())
            .subject("x")
            .body(String::from("x"))
            .unwrap();
        let err = sender.send(&msg).await.unwrap_err();
        assert!(matches!(err, SendError::Transient(_)), "{err:?}");
        let check = sender.check().await.unwrap_err();
        assert!(matches!(check, SmtpError::Connect { .. }), "{check}");
    }
}
