//! Opening a session, step by step: TCP, TLS (implicit, or STARTTLS after the greeting), the
//! greeting, the login (LOGIN with the password, or SASL XOAUTH2 with an OAuth token) and the
//! capabilities. Every network step runs under `imap.timeout` and names itself when it fails or
//! times out ([`ImapError::Timeout`]`{ step }`), which `check` turns into words.

use std::sync::Arc;
use std::time::Duration;

use async_imap::types::Capability;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::stream::ImapStream;
use super::{Caps, ImapError, ImapSession, Login, io_error, map_imap_error, timed};
use crate::config::{ImapConfig, TlsMode};
use crate::secret::Secret;
use crate::tls;

type Client = async_imap::Client<ImapStream>;
type Session = async_imap::Session<ImapStream>;

impl ImapSession {
    /// [`ImapSession::connect`] with an explicit login method (the XOAUTH2 seam).
    pub async fn connect_with(cfg: &ImapConfig, login: Login<'_>) -> Result<Self, ImapError> {
        let t = cfg.timeout;
        let host = cfg.host.as_str();
        let tcp = open_tcp(cfg).await?;

        let tls_config = match cfg.tls {
            TlsMode::None => None,
            _ => Some(tls::client_config(cfg.ca_file.as_deref())?),
        };

        let stream = match (&cfg.tls, &tls_config) {
            (TlsMode::Implicit, Some(config)) => {
                let tls = handshake(config, host, tcp, t).await?;
                ImapStream::Tls(Box::new(tls))
            }
            _ => ImapStream::Plain(tcp),
        };

        let mut client = async_imap::Client::new(stream);
        read_greeting(&mut client, cfg).await?;

        if let (TlsMode::Starttls, Some(config)) = (&cfg.tls, &tls_config) {
            client = starttls(client, config, host, t).await?;
        }

        let mut session = log_in(client, cfg, login).await?;
        let caps = capabilities_of(&mut session, t).await?;
        let mut mailbox = ImapSession {
            session,
            caps,
            host: host.to_owned(),
            timeout: t,
            idle_enabled: cfg.idle,
        };
        mailbox.drain_unsolicited();
        if !caps.move_ && !caps.uidplus {
            mailbox.logout().await;
            return Err(ImapError::Unsupported {
                host: host.to_owned(),
                reason: "it offers neither MOVE nor UIDPLUS, so messages could not be filed \
                         without risking the deletion of others"
                    .into(),
            });
        }
        tracing::debug!(host = %host, idle = caps.idle, r#move = caps.move_, uidplus = caps.uidplus, "imap session ready");
        Ok(mailbox)
    }
}

/// The TCP connection to `imap.host`:`imap.port`, with `TCP_NODELAY` set.
async fn open_tcp(cfg: &ImapConfig) -> Result<TcpStream, ImapError> {
    let host = cfg.host.as_str();
    let tcp = timed(cfg.timeout, "connect", async {
        TcpStream::connect((host, cfg.port))
            .await
            .map_err(|e| ImapError::Connect {
                host: host.to_owned(),
                port: cfg.port,
                reason: e.to_string(),
            })
    })
    .await?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// The TLS handshake over `tcp` (implicit TLS, or after STARTTLS), verifying `host`.
async fn handshake(
    config: &Arc<ClientConfig>,
    host: &str,
    tcp: TcpStream,
    t: Duration,
) -> Result<TlsStream<TcpStream>, ImapError> {
    timed(t, "TLS handshake", async {
        Ok(tls::connect(config.clone(), host, tcp).await?)
    })
    .await
}

/// Reads the server's greeting; a closed connection or a BYE ends the attempt.
async fn read_greeting(client: &mut Client, cfg: &ImapConfig) -> Result<(), ImapError> {
    let host = cfg.host.as_str();
    let greeting = timed(cfg.timeout, "greeting", async {
        client
            .read_response()
            .await
            .map_err(|e| io_error("greeting", e))
    })
    .await?;
    match greeting {
        None => {
            return Err(ImapError::Connection {
                step: "greeting",
                reason: "the server closed the connection before greeting".into(),
            });
        }
        Some(response) => {
            if let async_imap::imap_proto::Response::Data {
                status: async_imap::imap_proto::Status::Bye,
                outcome,
                ..
            } = response.parsed()
            {
                return Err(ImapError::Connect {
                    host: host.to_owned(),
                    port: cfg.port,
                    reason: format!(
                        "server said BYE: {}",
                        outcome.information.as_deref().unwrap_or("")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// STARTTLS on the plain connection, then the TLS handshake: the returned client talks TLS.
async fn starttls(
    mut client: Client,
    config: &Arc<ClientConfig>,
    host: &str,
    t: Duration,
) -> Result<Client, ImapError> {
    timed(t, "STARTTLS", async {
        client
            .run_command_and_check_ok("STARTTLS", None)
            .await
            .map_err(|e| map_imap_error("STARTTLS", e))
    })
    .await?;
    let ImapStream::Plain(tcp) = client.into_inner() else {
        return Err(ImapError::Config(
            "STARTTLS over an existing TLS layer".into(),
        ));
    };
    let tls = handshake(config, host, tcp, t).await?;
    Ok(async_imap::Client::new(ImapStream::Tls(Box::new(tls))))
}

/// LOGIN as `imap.username` with the password, or AUTHENTICATE XOAUTH2 with the token; the
/// server's NO or BAD is a refused login ([`ImapError::Auth`]).
async fn log_in(client: Client, cfg: &ImapConfig, login: Login<'_>) -> Result<Session, ImapError> {
    let user = cfg.username.clone();
    let login_result = timed(cfg.timeout, "login", async {
        Ok(match login {
            Login::Password(password) => client.login(&user, password.expose()).await,
            Login::Xoauth2 { token } => {
                client
                    .authenticate(
                        "XOAUTH2",
                        Xoauth2 {
                            user: &user,
                            token,
                            sent: false,
                        },
                    )
                    .await
            }
        })
    })
    .await?;
    let session = login_result.map_err(|(e, _client)| match e {
        async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => {
            ImapError::Auth {
                user: user.clone(),
                reason: text,
            }
        }
        async_imap::error::Error::Validate(_) => ImapError::Auth {
            user: user.clone(),
            reason: "the user name or password contains a line break, which IMAP cannot carry"
                .into(),
        },
        other => map_imap_error("login", other),
    })?;
    Ok(session)
}

/// CAPABILITY, asked after the login: whether the server offers IDLE, MOVE and UIDPLUS.
async fn capabilities_of(session: &mut Session, t: Duration) -> Result<Caps, ImapError> {
    let capabilities = timed(t, "CAPABILITY", async {
        session
            .capabilities()
            .await
            .map_err(|e| map_imap_error("CAPABILITY", e))
    })
    .await?;
    let has = |name: &str| {
        capabilities.iter().any(|c| match c {
            Capability::Atom(a) => a.eq_ignore_ascii_case(name),
            _ => false,
        })
    };
    Ok(Caps {
        idle: has("IDLE"),
        move_: has("MOVE"),
        uidplus: has("UIDPLUS"),
    })
}

/// SASL XOAUTH2: `user=…^Aauth=Bearer …^A^A`; an error challenge is answered with an empty line
/// so the server finishes with its tagged NO.
struct Xoauth2<'a> {
    user: &'a str,
    token: &'a Secret,
    sent: bool,
}

impl async_imap::Authenticator for Xoauth2<'_> {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        if self.sent {
            return Vec::new();
        }
        self.sent = true;
        format!(
            "user={}\x01auth=Bearer {}\x01\x01",
            self.user,
            self.token.expose()
        )
        .into_bytes()
    }
}
