//! The IMAP session: connect (implicit TLS, STARTTLS or plain on loopback), log in, make sure the
//! filing folders exist, list and fetch messages without marking them seen, file them (MOVE, or
//! COPY + \Deleted + UID EXPUNGE) and wait for new mail (IDLE, or a poll timer).
//!
//! Built on async-imap over tokio; every network step runs under `ImapConfig.timeout`. A message
//! above `max_message_bytes` is fetched as its header plus its text parts only (never
//! attachments), reassembled into a message a MIME parser reads like the original ([`plan`]). The
//! password and any OAuth token only ever go to the server. [`codec`] writes UID sets and folder
//! names; [`stream`] is the TCP or TLS transport under the session.

use std::time::Duration;

use async_imap::types::{Capability, UnsolicitedResponse};
use futures::TryStreamExt;
use tokio::net::TcpStream;

use crate::config::{ImapConfig, MailAuth, TlsMode};

mod codec;
mod plan;
mod stream;

use crate::secret::Secret;
use crate::tls::{self, TlsError};
use codec::folder_listed;
pub use codec::{encode_mailbox_name, uid_set};
use plan::{PartData, Plan, path_section};
use stream::ImapStream;

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

    /// [`ImapSession::connect`] with an explicit login method (the XOAUTH2 seam).
    pub async fn connect_with(cfg: &ImapConfig, login: Login<'_>) -> Result<Self, ImapError> {
        let t = cfg.timeout;
        let host = cfg.host.as_str();
        let tcp = timed(t, "connect", async {
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

        let tls_config = match cfg.tls {
            TlsMode::None => None,
            _ => Some(tls::client_config(cfg.ca_file.as_deref())?),
        };

        let stream = match (&cfg.tls, &tls_config) {
            (TlsMode::Implicit, Some(config)) => {
                let tls = timed(t, "TLS handshake", async {
                    Ok(tls::connect(config.clone(), host, tcp).await?)
                })
                .await?;
                ImapStream::Tls(Box::new(tls))
            }
            _ => ImapStream::Plain(tcp),
        };

        let mut client = async_imap::Client::new(stream);
        let greeting = timed(t, "greeting", async {
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

        if let (TlsMode::Starttls, Some(config)) = (&cfg.tls, &tls_config) {
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
            let tls = timed(t, "TLS handshake", async {
                Ok(tls::connect(config.clone(), host, tcp).await?)
            })
            .await?;
            client = async_imap::Client::new(ImapStream::Tls(Box::new(tls)));
        }

        let user = cfg.username.clone();
        let login_result = timed(t, "login", async {
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
        let mut session = login_result.map_err(|(e, _client)| match e {
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
        let caps = Caps {
            idle: has("IDLE"),
            move_: has("MOVE"),
            uidplus: has("UIDPLUS"),
        };
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

    pub fn capabilities(&self) -> Caps {
        self.caps
    }

    /// Creates each folder that does not exist yet (and subscribes it, so mail apps show it).
    pub async fn ensure_folders(&mut self, names: &[&str]) -> Result<(), ImapError> {
        let existing = self.list_folders().await?;
        for name in names {
            let encoded = encode_mailbox_name(name);
            if folder_listed(&existing, &encoded) {
                continue;
            }
            let t = self.timeout;
            let created = timed(t, "CREATE", async {
                Ok(self.session.create(&encoded).await)
            })
            .await?;
            if let Err(e) = created {
                // Someone else may have created it meanwhile: look again before failing.
                let again = self.list_folders().await?;
                if !folder_listed(&again, &encoded) {
                    return Err(map_imap_error("CREATE", e));
                }
            } else {
                tracing::info!(folder = %name, "created IMAP folder");
                let _ = timed(t, "SUBSCRIBE", async {
                    Ok(self.session.subscribe(&encoded).await)
                })
                .await?;
            }
        }
        self.drain_unsolicited();
        Ok(())
    }

    /// Of `names`, the folders that do not exist yet (what [`ImapSession::ensure_folders`] would
    /// create), in the order given. Changes nothing.
    pub async fn missing_folders(&mut self, names: &[&str]) -> Result<Vec<String>, ImapError> {
        let existing = self.list_folders().await?;
        self.drain_unsolicited();
        Ok(names
            .iter()
            .filter(|n| !folder_listed(&existing, &encode_mailbox_name(n)))
            .map(|n| n.to_string())
            .collect())
    }

    /// Opens `mailbox` read-only (EXAMINE) and returns how many messages it holds; `None` when
    /// the server says it does not exist (or cannot be opened). Changes nothing.
    pub async fn examine(&mut self, mailbox: &str) -> Result<Option<u32>, ImapError> {
        let t = self.timeout;
        let encoded = encode_mailbox_name(mailbox);
        let examined = timed(t, "EXAMINE", async {
            Ok(self.session.examine(&encoded).await)
        })
        .await?;
        self.drain_unsolicited();
        match examined {
            Ok(m) => Ok(Some(m.exists)),
            Err(async_imap::error::Error::No(_)) => Ok(None),
            Err(e) => Err(map_imap_error("EXAMINE", e)),
        }
    }

    async fn list_folders(&mut self) -> Result<Vec<String>, ImapError> {
        let t = self.timeout;
        timed(t, "LIST", async {
            let stream = self
                .session
                .list(Some(""), Some("*"))
                .await
                .map_err(|e| map_imap_error("LIST", e))?;
            let names: Vec<_> = stream
                .try_collect()
                .await
                .map_err(|e| map_imap_error("LIST", e))?;
            Ok(names.iter().map(|n| n.name().to_owned()).collect())
        })
        .await
    }

    /// Selects `mailbox` (read-write) and returns its UIDVALIDITY.
    pub async fn select(&mut self, mailbox: &str) -> Result<u32, ImapError> {
        let t = self.timeout;
        let encoded = encode_mailbox_name(mailbox);
        let selected = timed(t, "SELECT", async {
            self.session
                .select(&encoded)
                .await
                .map_err(|e| map_imap_error("SELECT", e))
        })
        .await?;
        self.drain_unsolicited();
        selected.uid_validity.ok_or(ImapError::Protocol {
            command: "SELECT",
            reason: format!("the server gave no UIDVALIDITY for {mailbox}"),
        })
    }

    /// UIDs of every message in the selected mailbox not marked \Deleted, ascending.
    pub async fn uids(&mut self) -> Result<Vec<u32>, ImapError> {
        self.search("UNDELETED").await
    }

    /// UIDs matching an IMAP SEARCH expression (e.g. `SEEN`, `HEADER Message-ID <x>`) in the
    /// selected mailbox, ascending. The expression goes to the server as written.
    pub async fn search(&mut self, query: &str) -> Result<Vec<u32>, ImapError> {
        if query.contains(['\r', '\n']) {
            return Err(ImapError::Config(
                "an IMAP SEARCH expression cannot contain a line break".into(),
            ));
        }
        let t = self.timeout;
        let found = timed(t, "UID SEARCH", async {
            self.session
                .uid_search(query)
                .await
                .map_err(|e| map_imap_error("UID SEARCH", e))
        })
        .await?;
        self.drain_unsolicited();
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Fetches one message without setting \Seen: whole when its size is at most `max_bytes`,
    /// else its header and text parts only. `None` when the UID no longer exists.
    pub async fn fetch(&mut self, uid: u32, max_bytes: u64) -> Result<Option<Fetched>, ImapError> {
        let Some(size) = self.fetch_size(uid).await? else {
            return Ok(None);
        };
        if size <= max_bytes {
            let fetches = self.uid_fetch(uid, "BODY.PEEK[]").await?;
            let Some(raw) = fetches.iter().find_map(|f| f.body().map(<[u8]>::to_vec)) else {
                return Ok(None);
            };
            return Ok(Some(Fetched {
                uid,
                size,
                raw,
                truncated: false,
            }));
        }
        self.fetch_text_parts(uid, size, max_bytes).await
    }

    /// The size (RFC822.SIZE) of each of the messages `uids` still in the selected mailbox, with
    /// one command.
    pub async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u64)>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sizes = Vec::with_capacity(uids.len());
        self.uid_fetch_each(&uid_set(uids), "(UID RFC822.SIZE)", |f| {
            if let (Some(uid), Some(size)) = (f.uid, f.size) {
                sizes.push((uid, u64::from(size)));
            }
        })
        .await?;
        sizes.sort_unstable();
        sizes.dedup_by_key(|(uid, _)| *uid);
        Ok(sizes)
    }

    /// Fetches the messages `items` (UID, size) like [`ImapSession::fetch`]: the ones of at most
    /// `max_bytes` with one command, the larger ones one by one (header and text parts). Each
    /// message gets its own result; when the server refuses the whole command, each message is
    /// fetched alone, so that a failure is pinned on the message it belongs to. `Err` only when the
    /// session is unusable.
    pub async fn fetch_many(
        &mut self,
        items: &[(u32, u64)],
        max_bytes: u64,
    ) -> Result<Vec<(u32, Result<Option<Fetched>, ImapError>)>, ImapError> {
        let whole: Vec<u32> = items
            .iter()
            .filter(|(_, size)| *size <= max_bytes)
            .map(|(uid, _)| *uid)
            .collect();
        let mut bodies = std::collections::HashMap::new();
        let mut one_by_one = false;
        if !whole.is_empty() {
            let fetched = self
                .uid_fetch_each(&uid_set(&whole), "BODY.PEEK[]", |f| {
                    if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                        bodies.insert(uid, body.to_vec());
                    }
                })
                .await;
            match fetched {
                Ok(()) => {}
                Err(e) if e.ends_session() => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "fetching several messages at once failed; one by one");
                    one_by_one = true;
                }
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for &(uid, size) in items {
            let result = if size > max_bytes || one_by_one {
                match self.fetch(uid, max_bytes).await {
                    Err(e) if e.ends_session() => return Err(e),
                    other => other,
                }
            } else {
                Ok(bodies.remove(&uid).map(|raw| Fetched {
                    uid,
                    size,
                    raw,
                    truncated: false,
                }))
            };
            out.push((uid, result));
        }
        Ok(out)
    }

    async fn fetch_size(&mut self, uid: u32) -> Result<Option<u64>, ImapError> {
        let fetches = self.uid_fetch(uid, "(UID RFC822.SIZE)").await?;
        Ok(fetches
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.size)
            .map(u64::from))
    }

    async fn fetch_text_parts(
        &mut self,
        uid: u32,
        size: u64,
        max_bytes: u64,
    ) -> Result<Option<Fetched>, ImapError> {
        let fetches = self
            .uid_fetch(uid, "(UID BODYSTRUCTURE BODY.PEEK[HEADER])")
            .await?;
        let Some(first) = fetches.iter().find(|f| f.uid == Some(uid)) else {
            return Ok(None);
        };
        let header = first.header().map(<[u8]>::to_vec).unwrap_or_default();
        let Some(structure) = first.bodystructure() else {
            return Err(ImapError::Protocol {
                command: "UID FETCH",
                reason: "the server sent no BODYSTRUCTURE".into(),
            });
        };
        let plan = Plan::of(structure);
        let budget = max_bytes.saturating_sub(header.len() as u64);
        let items = plan.fetch_items(budget);
        let mut parts = PartData::default();
        if !items.is_empty() {
            let fetched = self
                .uid_fetch(uid, &format!("(UID {})", items.join(" ")))
                .await?;
            for f in fetched.iter().filter(|f| f.uid == Some(uid)) {
                for path in plan.paths() {
                    let mime = path_section(&path, true);
                    if let Some(data) = f.section(&mime) {
                        parts.mime.insert(path.clone(), data.to_vec());
                    }
                    if let Some(data) = f.section(&path_section(&path, false)) {
                        parts.body.insert(path.clone(), data.to_vec());
                    }
                }
            }
        }
        let raw = plan.assemble(&header, &parts);
        Ok(Some(Fetched {
            uid,
            size,
            raw,
            truncated: true,
        }))
    }

    async fn uid_fetch(
        &mut self,
        uid: u32,
        query: &str,
    ) -> Result<Vec<async_imap::types::Fetch>, ImapError> {
        self.uid_fetch_set(&uid.to_string(), query).await
    }

    /// A UID FETCH whose answers are handed to `each` as they arrive and dropped: each answer
    /// holds the read buffer it was parsed from (4 KB or more), so keeping a thousand of them
    /// would hold megabytes.
    async fn uid_fetch_each(
        &mut self,
        set: &str,
        query: &str,
        mut each: impl FnMut(&async_imap::types::Fetch),
    ) -> Result<(), ImapError> {
        let t = self.timeout;
        timed(t, "UID FETCH", async {
            let mut stream = self
                .session
                .uid_fetch(set, query)
                .await
                .map_err(|e| map_imap_error("UID FETCH", e))?;
            while let Some(f) = stream
                .try_next()
                .await
                .map_err(|e| map_imap_error("UID FETCH", e))?
            {
                each(&f);
            }
            Ok(())
        })
        .await?;
        self.drain_unsolicited();
        Ok(())
    }

    async fn uid_fetch_set(
        &mut self,
        set: &str,
        query: &str,
    ) -> Result<Vec<async_imap::types::Fetch>, ImapError> {
        let t = self.timeout;
        let fetches = timed(t, "UID FETCH", async {
            let stream = self
                .session
                .uid_fetch(set, query)
                .await
                .map_err(|e| map_imap_error("UID FETCH", e))?;
            stream
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| map_imap_error("UID FETCH", e))
        })
        .await?;
        self.drain_unsolicited();
        Ok(fetches)
    }

    /// Moves one message of the selected mailbox to `folder`: UID MOVE, or where MOVE is missing
    /// UID COPY + UID STORE \Deleted + UID EXPUNGE of that UID alone (UIDPLUS).
    pub async fn move_to(&mut self, uid: u32, folder: &str) -> Result<(), ImapError> {
        self.move_set(&[uid], folder).await
    }

    /// Moves the messages `uids` of the selected mailbox to `folder` with one command (UID MOVE
    /// of the set; or COPY, STORE and UID EXPUNGE of the set). UIDs no longer there are skipped
    /// by the server.
    pub async fn move_set(&mut self, uids: &[u32], folder: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let t = self.timeout;
        let target = encode_mailbox_name(folder);
        let set = uid_set(uids);
        if self.caps.move_ {
            timed(t, "UID MOVE", async {
                self.session
                    .uid_mv(&set, &target)
                    .await
                    .map_err(|e| map_imap_error("UID MOVE", e))
            })
            .await?;
        } else {
            timed(t, "UID COPY", async {
                self.session
                    .uid_copy(&set, &target)
                    .await
                    .map_err(|e| map_imap_error("UID COPY", e))
            })
            .await?;
            self.drain_unsolicited();
            timed(t, "UID STORE", async {
                let stream = self
                    .session
                    .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                    .await
                    .map_err(|e| map_imap_error("UID STORE", e))?;
                stream
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(|e| map_imap_error("UID STORE", e))
            })
            .await?;
            self.drain_unsolicited();
            timed(t, "UID EXPUNGE", async {
                let stream = self
                    .session
                    .uid_expunge(&set)
                    .await
                    .map_err(|e| map_imap_error("UID EXPUNGE", e))?;
                stream
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(|e| map_imap_error("UID EXPUNGE", e))
            })
            .await?;
        }
        self.drain_unsolicited();
        tracing::debug!(uids = %set, folder = %folder, "messages filed");
        Ok(())
    }

    /// Waits for new mail in the selected mailbox for at most `timeout`: IMAP IDLE when the
    /// server offers it and `imap.idle` is on, else a plain timer followed by a NOOP. Returns the
    /// session and whether the server announced something (new mail, expunges).
    pub async fn idle_wait(self, timeout: Duration) -> Result<(Self, bool), ImapError> {
        self.idle_wait_until(timeout, std::future::pending()).await
    }

    /// [`ImapSession::idle_wait`] that also ends as soon as `stop` completes (e.g. on SIGTERM),
    /// leaving the session usable (IDLE is ended with DONE).
    pub async fn idle_wait_until(
        mut self,
        timeout: Duration,
        stop: impl Future<Output = ()>,
    ) -> Result<(Self, bool), ImapError> {
        if self.drain_unsolicited() {
            return Ok((self, true));
        }
        let t = self.timeout;
        if !(self.caps.idle && self.idle_enabled) {
            tokio::select! {
                _ = tokio::time::sleep(timeout) => {}
                _ = stop => {}
            }
            timed(t, "NOOP", async {
                self.session
                    .noop()
                    .await
                    .map_err(|e| map_imap_error("NOOP", e))
            })
            .await?;
            let woken = self.drain_unsolicited();
            return Ok((self, woken));
        }

        let ImapSession {
            session,
            caps,
            host,
            timeout: op_timeout,
            idle_enabled,
        } = self;
        let mut handle = session.idle();
        timed(t, "IDLE", async {
            handle.init().await.map_err(|e| map_imap_error("IDLE", e))
        })
        .await?;
        let woken = {
            let (wait, _interrupt) = handle.wait_with_timeout(timeout);
            tokio::select! {
                result = tokio::time::timeout(timeout, wait) => match result {
                    Ok(Ok(async_imap::extensions::idle::IdleResponse::NewData(_))) => true,
                    Ok(Ok(_)) | Err(_) => false,
                    Ok(Err(e)) => return Err(map_imap_error("IDLE", e)),
                },
                _ = stop => false,
            }
        };
        let session = timed(t, "IDLE DONE", async {
            handle.done().await.map_err(|e| map_imap_error("IDLE", e))
        })
        .await?;
        let mut mailbox = ImapSession {
            session,
            caps,
            host,
            timeout: op_timeout,
            idle_enabled,
        };
        let announced = mailbox.drain_unsolicited();
        Ok((mailbox, woken || announced))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_whether_to_retry() {
        assert!(
            ImapError::Timeout {
                step: "LOGIN",
                after: Duration::from_secs(3)
            }
            .is_retryable()
        );
        let auth = ImapError::Auth {
            user: "u".into(),
            reason: "no".into(),
        };
        assert!(!auth.is_retryable());
        assert!(auth.to_string().contains("imap.password"));
    }
}
