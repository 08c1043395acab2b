//! Helpers for the end-to-end tests of `reject-bridge run` (tests/e2e.rs) against the real mail
//! stack of `scripts/stack-up.sh` and a `graph-sim` per test.
//!
//! A [`World`] is one test's private universe: its own bridge mailbox address, its own approver
//! addresses (made with [`unique`]), its own simulator and its own state folder (config file and
//! journal), so tests run in parallel against one shared stack. It delivers messages through
//! Postfix's plain delivery port as an MX would, runs the binary, lists the bridge's folders over
//! IMAP (with `BODY.PEEK`, so reading never sets `\Seen`), reads an approver's mailbox, and reads
//! the simulator's call record.
//!
//! The stack is found through `$RB_STACK_DIR/env` (default `.stack/env`); without it every test
//! fails with a message saying how to start it.

#![allow(dead_code)]

#[path = "../graph_support/mod.rs"]
pub mod graph_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use reject_bridge::config::{ImapConfig, MailAuth, TlsMode};
use reject_bridge::mailbox::Mailbox;
use reject_bridge::secret::Secret;

pub use graph_support::Sim;

/// The header a trusted MTA adds for an authenticated sender at example.test.
pub const AUTH_OK: &str = "Authentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test";

/// The running mail stack's ports and CA, from `$RB_STACK_DIR/env`.
#[derive(Clone, Debug)]
pub struct Stack {
    pub dir: PathBuf,
    pub imap: u16,
    pub smtp: u16,
    pub submission: u16,
    pub ca: PathBuf,
    /// The IMAP server's address announcing no MOVE (COPY + STORE + UID EXPUNGE path).
    pub nomove_host: String,
}

pub fn stack() -> Stack {
    let dir = std::env::var("RB_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".stack"));
    let file = dir.join("env");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "the mail stack is not set up ({}: {e}): run `scripts/stack-install.sh` once and \
             `scripts/stack-up.sh` (as root) before these tests, or set RB_STACK_DIR",
            file.display()
        )
    });
    let env: HashMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let get = |k: &str| -> String {
        env.get(k)
            .unwrap_or_else(|| panic!("{} lacks {k}: re-run scripts/stack-up.sh", file.display()))
            .to_string()
    };
    let port = |k: &str| get(k).parse::<u16>().expect("port number");
    let s = Stack {
        dir: dir.clone(),
        imap: port("RB_IMAP_PORT"),
        smtp: port("RB_SMTP_PORT"),
        submission: port("RB_SUBMISSION_PORT"),
        ca: PathBuf::from(get("RB_CA_FILE")),
        nomove_host: get("RB_IMAP_NOMOVE_HOST"),
    };
    for p in [s.imap, s.smtp, s.submission] {
        if std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
            panic!(
                "the mail stack is not running (127.0.0.1:{p} refuses connections): run \
                 `scripts/stack-up.sh` (as root) before these tests"
            );
        }
    }
    s
}

/// A fresh address at example.test (every address there has a mailbox).
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{tag}-{}-{nanos}-{}@example.test",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A port on which nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The knobs a test may turn in the bridge's config.
#[derive(Clone, Debug)]
pub struct Knobs {
    /// SMTP port for replies (default: the stack's submission port, STARTTLS + AUTH).
    pub smtp_port: Option<u16>,
    pub retry_max_secs: u64,
    pub max_message_bytes: u64,
    /// IMAP host (default 127.0.0.1; the stack's 127.0.0.2 announces no MOVE).
    pub imap_host: Option<String>,
    /// `approvers.allowed` entries besides `@example.test`.
    pub extra_allowed: Vec<String>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            smtp_port: None,
            retry_max_secs: 8,
            max_message_bytes: 2_000_000,
            imap_host: None,
            extra_allowed: Vec::new(),
        }
    }
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct RunOut {
    pub code: Option<i32>,
    pub stderr: String,
}

/// One message as found in a folder.
#[derive(Debug, Clone)]
pub struct Found {
    pub uid: u32,
    pub raw: Vec<u8>,
}

impl Found {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a message the test can parse")
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
    /// The value of the first header `name` (any case), unfolded, as raw text.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with(' ') || line.starts_with('\t') {
                    v.push(' ');
                    v.push_str(line.trim());
                    continue;
                }
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }
    /// The decoded text/plain body, with LF line ends.
    pub fn body_text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default()
    }
}

/// One test's bridge mailbox, simulator and state folder.
pub struct World {
    pub stack: Stack,
    pub sim: Sim,
    /// The bridge's own address (its IMAP user and `smtp.from`).
    pub bridge: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub state: PathBuf,
}

impl World {
    pub async fn new(tag: &str) -> World {
        Self::with(tag, Knobs::default()).await
    }

    pub async fn with(tag: &str, knobs: Knobs) -> World {
        let stack = stack();
        let sim = Sim::start(&[]);
        let bridge = unique(&format!("bridge-{tag}"));
        let dir = tempfile::tempdir().expect("a temporary folder");
        let config = dir.path().join("bridge.toml");
        let state = dir.path().join("state").join("bridge.db");
        let w = World {
            stack,
            sim,
            bridge,
            dir,
            config,
            state,
        };
        w.write_config(&knobs);
        w
    }

    /// (Re)writes the config file with `knobs`.
    pub fn write_config(&self, knobs: &Knobs) {
        let s = &self.stack;
        let smtp_port = knobs.smtp_port.unwrap_or(s.submission);
        let imap_host = knobs.imap_host.as_deref().unwrap_or("127.0.0.1");
        let allowed: Vec<String> = std::iter::once("@example.test".to_string())
            .chain(knobs.extra_allowed.iter().cloned())
            .map(|a| format!("{a:?}"))
            .collect();
        let text = format!(
            r#"[imap]
host = "{imap_host}"
port = {imap}
tls = "starttls"
ca_file = "{ca}"
username = "{bridge}"
password = "secret"
max_message_bytes = {max}
timeout_secs = 20

[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "starttls"
ca_file = "{ca}"
username = "{bridge}"
password = "secret"
from = "Intune Approvals <{bridge}>"
timeout_secs = 10

[graph]
base_url = "{url}/beta"
authority = "{url}"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret = "{secret}"
retry_max_secs = {retry}
timeout_secs = 5

[approvers]
allowed = [{allowed}]
trusted_authserv_id = "mx.example.test"

[state]
path = "state/bridge.db"
"#,
            imap = s.imap,
            ca = s.ca.display(),
            bridge = self.bridge,
            max = knobs.max_message_bytes,
            url = self.sim.url,
            tenant = graph_support::TENANT,
            client = graph_support::CLIENT_ID,
            secret = graph_support::SECRET,
            retry = knobs.retry_max_secs,
            allowed = allowed.join(", "),
        );
        std::fs::write(&self.config, text).expect("write the config");
    }

    /// Hands `raw` (LF or CRLF line ends) to Postfix's delivery port for the bridge mailbox.
    pub async fn deliver(&self, raw: &str) {
        deliver_to(&self.stack, &self.bridge, raw).await;
    }

    /// Runs `reject-bridge run --config … ARGS` and waits for it (at most 120 s).
    pub async fn run(&self, args: &[&str]) -> RunOut {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_reject-bridge"));
        cmd.arg("run").arg("--config").arg(&self.config).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("REJECT_BRIDGE__") {
                cmd.env_remove(k);
            }
        }
        cmd.env("RUST_LOG", "info");
        cmd.kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .expect("reject-bridge run finished within 120 s")
            .expect("reject-bridge starts");
        RunOut {
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn imap_config(&self, user: &str) -> ImapConfig {
        imap_config(&self.stack, user)
    }

    /// The messages in the bridge's `folder` (empty when the folder does not exist).
    pub async fn folder(&self, folder: &str) -> Vec<Found> {
        list(&self.stack, &self.bridge, folder).await
    }

    /// UIDs flagged `\Seen` in the bridge's `folder`.
    pub async fn seen(&self, folder: &str) -> Vec<u32> {
        let mut mb = Mailbox::connect(&self.imap_config(&self.bridge))
            .await
            .expect("IMAP login as the bridge");
        let out = match mb.select(folder).await {
            Ok(_) => mb.search("SEEN").await.expect("SEARCH SEEN"),
            Err(_) => Vec::new(),
        };
        mb.logout().await;
        out
    }

    /// Waits until the bridge's INBOX holds `n` messages (Postfix delivered them).
    pub async fn wait_inbox(&self, n: usize) {
        wait_count(&self.stack, &self.bridge, "INBOX", n).await;
    }

    /// The bridge's maildir on disk (for "no folder was created").
    pub fn maildir(&self) -> PathBuf {
        maildir(&self.stack, &self.bridge)
    }

    /// Calls the simulator received at `endpoint` (`token`, `get`, `reject`, …).
    pub async fn calls(&self, endpoint: &str) -> Vec<serde_json::Value> {
        self.sim.calls_to(endpoint).await
    }
}

pub fn imap_config(s: &Stack, user: &str) -> ImapConfig {
    ImapConfig {
        host: "127.0.0.1".into(),
        port: s.imap,
        tls: TlsMode::Starttls,
        username: user.into(),
        password: Secret::new("secret"),
        auth: MailAuth::Password,
        oauth_scope: String::new(),
        ca_file: Some(s.ca.clone()),
        max_message_bytes: 20_000_000,
        mailbox: "INBOX".into(),
        processed_mailbox: "Processed".into(),
        ignored_mailbox: "Ignored".into(),
        failed_mailbox: "Failed".into(),
        idle: false,
        poll_interval: Duration::from_secs(60),
        timeout: Duration::from_secs(20),
    }
}

/// The maildir of `user` under the stack's state folder.
pub fn maildir(s: &Stack, user: &str) -> PathBuf {
    let (local, domain) = user.split_once('@').expect("an address");
    s.dir.join("mail").join(domain).join(local).join("Maildir")
}

/// Hands `raw` to Postfix's plain delivery port for `to`, envelope sender = the From address.
pub async fn deliver_to(s: &Stack, to: &str, raw: &str) {
    let crlf = raw.replace("\r\n", "\n").replace('\n', "\r\n");
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(s.smtp)
        .build();
    let envelope = Envelope::new(
        Some("mta-test@example.org".parse().unwrap()),
        vec![to.parse().unwrap()],
    )
    .unwrap();
    transport
        .send_raw(&envelope, crlf.as_bytes())
        .await
        .expect("Postfix accepts mail for the test domain");
}

/// Every message in `user`'s `folder` (empty when it does not exist), read with BODY.PEEK.
pub async fn list(s: &Stack, user: &str, folder: &str) -> Vec<Found> {
    let mut mb = Mailbox::connect(&imap_config(s, user))
        .await
        .unwrap_or_else(|e| panic!("IMAP login as {user}: {e}"));
    let mut out = Vec::new();
    if mb.select(folder).await.is_ok() {
        for uid in mb.uids().await.expect("UID SEARCH") {
            if let Some(f) = mb.fetch(uid, 20_000_000).await.expect("UID FETCH") {
                out.push(Found { uid, raw: f.raw });
            }
        }
    }
    mb.logout().await;
    out
}

/// Waits (up to 20 s) until `user`'s `folder` holds at least `n` messages; returns them.
pub async fn wait_count(s: &Stack, user: &str, folder: &str, n: usize) -> Vec<Found> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = list(s, user, folder).await;
        if found.len() >= n {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{user}'s {folder} holds {} message(s) after 20 s, expected {n}: see the stack's \
             log/postfix.log",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The mail an approver received: waits for `n` messages, then a short while more so a
/// duplicate would have time to arrive, and returns all of them.
pub async fn approver_mail(s: &Stack, user: &str, n: usize) -> Vec<Found> {
    if n > 0 {
        wait_count(s, user, "INBOX", n).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    list(s, user, "INBOX").await
}

/// A reply as an approver's client would write it, as delivered by the trusted MTA.
pub struct Msg {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub body: String,
    /// Extra header lines (each without line end), placed after `Authentication-Results`.
    pub headers: Vec<String>,
    /// Put [`AUTH_OK`] on top (default true).
    pub authenticated: bool,
}

impl Msg {
    pub fn new(from: &str, to: &str, subject: &str, body: &str) -> Msg {
        Msg {
            from: from.into(),
            to: to.into(),
            subject: subject.into(),
            message_id: format!("{}@client.example.test", uuid::Uuid::new_v4()),
            body: body.into(),
            headers: Vec::new(),
            authenticated: true,
        }
    }

    pub fn header(mut self, line: &str) -> Msg {
        self.headers.push(line.into());
        self
    }

    pub fn unauthenticated(mut self) -> Msg {
        self.authenticated = false;
        self
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.authenticated {
            out.push_str(AUTH_OK);
            out.push('\n');
        }
        for h in &self.headers {
            out.push_str(h);
            out.push('\n');
        }
        out.push_str(&format!(
            "From: {}\nTo: {}\nSubject: {}\nMessage-ID: <{}>\nDate: Mon, 3 Mar 2025 10:00:00 +0000\n\
             MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{}\n",
            self.from, self.to, self.subject, self.message_id, self.body
        ));
        out
    }
}

/// Whether any path under `dir` (one level) has a name in `names`.
pub fn has_entry(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}
