//! SMTP sessions: opening one (TCP with `TCP_NODELAY`, implicit TLS or STARTTLS, EHLO, AUTH),
//! sending a message on it step by step, and a small pool that keeps sessions open between sends.
//!
//! Why not lettre's own transport: its sockets keep Nagle's algorithm on, so the `\r\n.\r\n` that
//! ends every message (written after the body) waits for the server's delayed ACK, about 40 ms a
//! message; and its pool checks every reused connection with a NOOP, one more round trip per
//! send. Here the protocol steps are still lettre's ([`AsyncSmtpConnection`]), over a socket we
//! open ourselves, and a reused session is trusted until it fails: when the server closed it
//! while it was idle, the failure comes at `MAIL FROM`, before anything of the message was
//! sent, and the message goes out once on a fresh session (nothing can be sent twice that way).
//!
//! A session is kept for at most [`MAX_MESSAGES`] messages and [`MAX_IDLE`] of idleness (servers
//! end idle sessions after a few minutes, Postfix after 300 s), and at most [`POOL_SIZE`] are kept.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use tokio::net::TcpStream;

use crate::config::TlsMode;
use crate::secret::Secret;

/// Sessions kept open between sends.
pub const POOL_SIZE: usize = 8;
/// A session idle longer than this is closed rather than reused.
pub const MAX_IDLE: Duration = Duration::from_secs(60);
/// Messages sent on one session before it is closed (some servers limit messages per session).
pub const MAX_MESSAGES: u32 = 100;

/// How a session logs in (the secret is only held while opening it).
#[derive(Clone)]
pub enum Login {
    None,
    Password { user: String, password: Secret },
    Xoauth2 { user: String, token: Secret },
}

/// Why a step with the server failed.
#[derive(Debug)]
pub enum Failure {
    /// The server answered with an error, or the connection failed (lettre's error).
    Smtp(lettre::transport::smtp::Error),
    /// The TCP connection could not be made.
    Connect(std::io::Error),
    /// Setting up TLS failed (implicit TLS, before the greeting).
    Tls(crate::tls::TlsError),
    /// The server took longer than `smtp.timeout` to answer `step`.
    Timeout(&'static str),
    /// The message cannot be sent to this server as it is (no 8BITMIME for an 8-bit message), or
    /// the server lacks what the configuration asks for (STARTTLS).
    Unsendable(String),
    /// No OAuth token could be had for the login.
    NoToken(String),
    /// The server refused the login, also with a fresh token.
    LoginRefused(String),
}

impl Failure {
    /// What a session the server closed while it was idle looks like: the connection broke
    /// (no answer, or no complete one) or the server said 421 (closing).
    pub fn is_stale_session(&self) -> bool {
        match self {
            Failure::Smtp(e) => match e.status() {
                Some(code) => code.to_string() == "421",
                None => !e.is_client(),
            },
            Failure::Timeout(_) => true,
            _ => false,
        }
    }
}

/// One open, logged-in SMTP session.
pub struct Session {
    conn: AsyncSmtpConnection,
    sent: u32,
    idle_since: Instant,
}

/// Where [`Session::transmit`] failed: at `MAIL FROM` (nothing of the message was sent yet) or
/// later.
pub enum Transmit {
    AtMail(Failure),
    Later(Failure),
}

/// The rustls configuration and lettre TLS parameters for a server, made once.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub mode: TlsMode,
    pub timeout: Duration,
    /// Implicit TLS: our rustls configuration (the same trust as IMAP).
    pub rustls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// STARTTLS: lettre's parameters (the same trust).
    pub starttls: Option<TlsParameters>,
}

/// A TLS stream lettre can drive (implicit TLS, set up before the greeting).
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl tokio::io::AsyncRead for TlsTcp {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

async fn timed<T>(
    limit: Duration,
    step: &'static str,
    fut: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or(Err(Failure::Timeout(step)))
}

impl Endpoint {
    /// Connects (`TCP_NODELAY` on), sets up TLS as configured and says EHLO; no login.
    pub async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let t = self.timeout;
        let hello = ClientId::default();
        let tcp = timed(t, "connect", async {
            TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(Failure::Connect)
        })
        .await?;
        // Every step ends with a small write (a command, the message's last line): without
        // NODELAY each would wait for the server's delayed ACK.
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn AsyncTokioStream> = match (&self.mode, &self.rustls) {
            (TlsMode::Implicit, Some(config)) => {
                let tls = timed(t, "TLS handshake", async {
                    crate::tls::connect(config.clone(), &self.host, tcp)
                        .await
                        .map_err(Failure::Tls)
                })
                .await?;
                Box::new(TlsTcp(tls))
            }
            _ => Box::new(tcp),
        };
        let mut conn = timed(t, "greeting", async {
            AsyncSmtpConnection::connect_with_transport(stream, &hello)
                .await
                .map_err(Failure::Smtp)
        })
        .await?;
        if let (TlsMode::Starttls, Some(params)) = (&self.mode, &self.starttls) {
            if !conn.can_starttls() {
                return Err(Failure::Unsendable(format!(
                    "{}:{} does not offer STARTTLS (check smtp.port and smtp.tls)",
                    self.host, self.port
                )));
            }
            timed(t, "STARTTLS", async {
                conn.starttls(params.clone(), &hello)
                    .await
                    .map_err(Failure::Smtp)
            })
            .await?;
        }
        Ok(conn)
    }

    /// [`Endpoint::connect`] and the login.
    pub async fn open(&self, login: &Login) -> Result<Session, Failure> {
        let mut conn = self.connect().await?;
        let t = self.timeout;
        let (mechanisms, credentials): (&[Mechanism], _) = match login {
            Login::None => (&[], None),
            Login::Password { user, password } => (
                &[Mechanism::Plain, Mechanism::Login],
                Some(Credentials::new(user.clone(), password.expose().to_owned())),
            ),
            Login::Xoauth2 { user, token } => (
                &[Mechanism::Xoauth2],
                Some(Credentials::new(user.clone(), token.expose().to_owned())),
            ),
        };
        if let Some(credentials) = credentials {
            timed(t, "AUTH", async {
                conn.auth(mechanisms, &credentials)
                    .await
                    .map_err(Failure::Smtp)
            })
            .await?;
        }
        Ok(Session {
            conn,
            sent: 0,
            idle_since: Instant::now(),
        })
    }
}

impl Session {
    /// Sends one message: MAIL FROM, RCPT TO for each recipient, DATA and the message.
    pub async fn transmit(
        &mut self,
        envelope: &Envelope,
        raw: &[u8],
        timeout: Duration,
    ) -> Result<Response, Transmit> {
        let info = self.conn.server_info();
        let mut params = Vec::new();
        let non_ascii = |a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii();
        if envelope.from().is_some_and(non_ascii) || envelope.to().iter().any(non_ascii) {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(Transmit::AtMail(Failure::Unsendable(
                    "the recipient's address is not ASCII and the server has no SMTPUTF8".into(),
                )));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if !raw.is_ascii() {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(Transmit::AtMail(Failure::Unsendable(
                    "the message is 8-bit and the server has no 8BITMIME".into(),
                )));
            }
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let conn = &mut self.conn;
        let mail = Mail::new(envelope.from().cloned(), params);
        timed(timeout, "MAIL FROM", async {
            conn.command(mail).await.map_err(Failure::Smtp)
        })
        .await
        .map_err(Transmit::AtMail)?;
        let rest = async {
            for to in envelope.to() {
                conn.command(Rcpt::new(to.clone(), Vec::new()))
                    .await
                    .map_err(Failure::Smtp)?;
            }
            conn.command(Data).await.map_err(Failure::Smtp)?;
            conn.message(raw).await.map_err(Failure::Smtp)
        };
        let response = timed(timeout, "sending the message", rest)
            .await
            .map_err(Transmit::Later)?;
        self.sent += 1;
        self.idle_since = Instant::now();
        Ok(response)
    }

    /// Ends the session politely (best effort, bounded).
    pub async fn quit(mut self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.conn.quit()).await;
    }

    fn reusable(&self) -> bool {
        !self.conn.has_broken() && self.sent < MAX_MESSAGES && self.idle_since.elapsed() < MAX_IDLE
    }
}

/// Sessions kept open between sends, most recently used last.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<Session>>,
}

impl Pool {
    /// A kept session still fit for use, if any (the others are dropped).
    pub fn take(&self) -> Option<Session> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(s) = idle.pop() {
            if s.reusable() {
                return Some(s);
            }
        }
        None
    }

    /// Keeps `session` for the next send, when it may be reused and there is room.
    pub fn put(&self, session: Session) {
        if !session.reusable() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < POOL_SIZE {
            idle.push(session);
        }
    }

    /// Forgets every kept session (after the server refused the login they were opened with).
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
