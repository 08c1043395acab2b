//! The IMAP session: connect (implicit TLS, STARTTLS or plain on loopback), log in, make sure the
//! filing folders exist, list and fetch messages without marking them seen, file them (MOVE, or
//! COPY + \Deleted + UID EXPUNGE) and wait for new mail (IDLE, or a poll timer).
//!
//! Built on async-imap over tokio; every network step runs under `ImapConfig.timeout`. A message
//! above `max_message_bytes` is fetched as its header plus its text parts only (never
//! attachments), reassembled into a message a MIME parser reads like the original (`plan`). The
//! password and any OAuth token only ever go to the server.
//!
//! - this file: [`ImapSession`], its errors ([`ImapError`]: which ones end the session, which
//!   ones are worth a retry), [`ImapSession::connect`], and the helpers every command uses (the
//!   timeout of a step, async-imap's errors in ours, the unsolicited responses).
//! - `connect`: [`ImapSession::connect_with`], one function per step (TCP, TLS, greeting,
//!   STARTTLS, login or XOAUTH2, capabilities).
//! - `folders`: the filing folders (LIST, CREATE), EXAMINE and SELECT.
//! - `fetch`: SEARCH and FETCH, whole messages or (over `max_message_bytes`) header and text parts.
//! - `filing`: MOVE, or COPY + STORE \Deleted + UID EXPUNGE.
//! - `idle`: waiting for new mail (IDLE, or a timer and NOOP).
//! - `codec` writes UID sets and folder names; `stream` is the TCP or TLS transport under the
//!   session.

mod codec;
mod connect;
mod fetch;
mod filing;
mod folders;
mod idle;
mod plan;
mod stream;

#[cfg(test)]
mod tests;

use std::time::Duration;

use async_imap::types::UnsolicitedResponse;

pub use codec::{encode_mailbox_name, uid_set};
use stream::ImapStream;

use crate::config::{ImapConfig, MailAuth};
use crate::secret::Secret;
use crate::tls::{self, TlsError};

/// Why an IMAP step failed. [`ImapError::is_retryable`] tells a passing problem (network, timeout,
/// a server hiccup) from one that needs the operator (credentials, TLS trust, server features).
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to IMAP server {host}:{port}: {reason}")]
    Connect {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("IMAP TLS: {0}")]
    Tls(#[from] TlsError),
    #[error(
        "IMAP login as {user} refused: {reason} (check imap.username and imap.password / imap.auth)"
    )]
    Auth { user: String, reason: String },
    #[error("IMAP server {host} cannot be used: {reason}")]
    Unsupported { host: String, reason: String },
    #[error("IMAP configuration: {0}")]
    Config(String),
    #[error("IMAP {command} failed: {reason}")]
    Protocol {
        command: &'static str,
        reason: String,
    },
    #[error("IMAP {step} timed out after {}s", after.as_secs())]
    Timeout { step: &'static str, after: Duration },
    #[error("IMAP connection lost during {step}: {reason}")]
    Connection { step: &'static str, reason: String },
}

impl ImapError {
    /// True when the session cannot be used any further (the pass ends and the connection is
    /// made again): everything but a server's NO/BAD to one command, which concerns that
    /// command alone (one message's fetch or move) and leaves the session usable.
    pub fn ends_session(&self) -> bool {
        !matches!(self, ImapError::Protocol { .. })
    }

    /// True when trying again later (on a new connection) may succeed without anyone changing
    /// anything: network trouble, timeouts, a server answering NO/BAD for a while.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ImapError::Connect { .. }
                | ImapError::Protocol { .. }
                | ImapError::Timeout { .. }
                | ImapError::Connection { .. }
        )
    }
}

/// What the server offers after login, as far as the bridge cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub idle: bool,
    pub move_: bool,
    pub uidplus: bool,
}

/// How to log in. [`ImapSession::connect`] uses the password from the config; XOAUTH2 needs a bearer
/// token from the Graph app's credentials, given through [`ImapSession::connect_with`].
#[derive(Clone, Copy, Debug)]
pub enum Login<'a> {
    Password(&'a Secret),
    /// SASL XOAUTH2 (Exchange Online): `imap.username` plus an OAuth access token.
    Xoauth2 {
        token: &'a Secret,
    },
}

/// One message as fetched. `raw` is the whole message, or when `truncated` its header and text
/// parts only (attachments left out), still a parseable RFC 5322 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub uid: u32,
    /// RFC822.SIZE: the size of the whole message on the server.
    pub size: u64,
    pub raw: Vec<u8>,
    pub truncated: bool,
}

/// A logged-in IMAP session.
pub struct ImapSession {
    session: async_imap::Session<ImapStream>,
    caps: Caps,
    host: String,
    timeout: Duration,
    idle_enabled: bool,
}

impl std::fmt::Debug for ImapSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSession")
            .field("host", &self.host)
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

impl ImapSession {
    /// Connects, reads the greeting, sets up TLS as configured and logs in with the password.
    /// Refuses a server that offers neither MOVE nor UIDPLUS (it could not file messages
    /// without deleting them).
    pub async fn connect(cfg: &ImapConfig) -> Result<Self, ImapError> {
        match cfg.auth {
            MailAuth::Password => Self::connect_with(cfg, Login::Password(&cfg.password)).await,
            MailAuth::Xoauth2 => Err(ImapError::Config(
                "imap.auth = \"xoauth2\" needs an OAuth token: use ImapSession::connect_with"
                    .into(),
            )),
        }
    }

    /// What the server offered after login.
    pub fn capabilities(&self) -> Caps {
        self.caps
    }

    /// Says goodbye; errors are ignored (the connection is going away anyway).
    pub async fn logout(mut self) {
        let t = self.timeout;
        let _ = tokio::time::timeout(t, self.session.logout()).await;
    }

    /// Empties the unsolicited-response channel (it is bounded and drops when full); true when
    /// the server announced new or removed messages.
    fn drain_unsolicited(&mut self) -> bool {
        let mut changed = false;
        while let Ok(response) = self.session.unsolicited_responses.try_recv() {
            if matches!(
                response,
                UnsolicitedResponse::Exists(_)
                    | UnsolicitedResponse::Recent(_)
                    | UnsolicitedResponse::Expunge(_)
            ) {
                changed = true;
            }
        }
        changed
    }
}

/// Runs one network step under the operation timeout.
async fn timed<T>(
    after: Duration,
    step: &'static str,
    fut: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(after, fut).await {
        Ok(result) => result,
        Err(_) => Err(ImapError::Timeout { step, after }),
    }
}

fn io_error(step: &'static str, e: std::io::Error) -> ImapError {
    match tls::describe(&e) {
        Some(reason) => ImapError::Tls(TlsError::Handshake {
            host: String::new(),
            reason,
        }),
        None => ImapError::Connection {
            step,
            reason: e.to_string(),
        },
    }
}

fn map_imap_error(command: &'static str, e: async_imap::error::Error) -> ImapError {
    use async_imap::error::Error;
    match e {
        Error::Io(io) => io_error(command, io),
        Error::ConnectionLost => ImapError::Connection {
            step: command,
            reason: "the server closed the connection".into(),
        },
        Error::No(text) => ImapError::Protocol {
            command,
            reason: format!("server answered NO: {text}"),
        },
        Error::Bad(text) => ImapError::Protocol {
            command,
            reason: format!("server answered BAD: {text}"),
        },
        Error::Validate(_) => ImapError::Config(format!(
            "a value given to {command} contains a line break, which IMAP cannot carry"
        )),
        // A response that could not be parsed (or anything else) may leave the session out of
        // step with the server: the connection is made again.
        other => ImapError::Connection {
            step: command,
            reason: other.to_string(),
        },
    }
}
