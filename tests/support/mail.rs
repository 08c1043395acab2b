//! Mail against the stack: delivering as an MX would (Postfix's plain delivery port), reading a
//! user's folders over IMAP (with `BODY.PEEK`, so reading never sets `\Seen`) or straight from
//! the maildir on disk, and writing an approver's reply as the trusted MTA delivers it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use reject_bridge::config::{ImapConfig, MailAuth, TlsMode};
use reject_bridge::imap::ImapSession;
use reject_bridge::secret::Secret;

use super::stack::Stack;

/// The header a trusted MTA adds for an authenticated sender at example.test.
pub const AUTH_OK: &str = "Authentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test";

/// Today's date as a Date field value: the bridge ignores mail dated longer ago than
/// `approvers.max_age_days` (SPEC §3 rule 3a).
pub fn date_now() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

/// Hands `raw` unchanged to Postfix's plain delivery port for `to`, envelope sender `from`.
pub async fn deliver(s: &Stack, from: &str, to: &str, raw: impl AsRef<[u8]>) {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(s.smtp)
        .build();
    let envelope = Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    transport
        .send_raw(&envelope, raw.as_ref())
        .await
        .expect("Postfix accepts mail for the test domain");
}

/// Hands `raw` (LF or CRLF line ends) to Postfix for `to`, envelope sender mta-test@example.org.
pub async fn deliver_to(s: &Stack, to: &str, raw: &str) {
    let crlf = raw.replace("\r\n", "\n").replace('\n', "\r\n");
    deliver(s, "mta-test@example.org", to, crlf.as_bytes()).await;
}

/// A password login as `user` on the stack's IMAP port (STARTTLS, the stack's CA).
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
        poison_attempts: 3,
        read_budget: reject_bridge::config::ReadBudget {
            cpu: Duration::from_secs(10),
            memory: 512 * 1024 * 1024,
        },
    }
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
        header(&self.raw, name)
    }
    /// The decoded text/plain body, with LF line ends.
    pub fn body_text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default()
    }
}

/// The value of the first header `name` (any case) of the message `raw` (CRLF or, as in a
/// maildir file, LF line ends), unfolded, as raw text.
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let mut value: Option<String> = None;
    for line in text.lines().take_while(|l| !l.is_empty()) {
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

/// Every message in `user`'s `folder` (empty when it does not exist), read with BODY.PEEK.
pub async fn list(s: &Stack, user: &str, folder: &str) -> Vec<Found> {
    let mut mb = ImapSession::connect(&imap_config(s, user))
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

impl Stack {
    /// The maildir of `address` (any address of the test domains has one).
    pub fn maildir(&self, address: &str) -> PathBuf {
        let (user, domain) = address.split_once('@').expect("an address");
        self.dir
            .join("mail")
            .join(domain)
            .join(user)
            .join("Maildir")
    }

    /// The messages in one folder of `address` ("INBOX" or a folder name), read as files
    /// (no IMAP session, so usable while Dovecot is down).
    pub fn messages(&self, address: &str, folder: &str) -> Vec<Vec<u8>> {
        let mut dir = self.maildir(address);
        if folder != "INBOX" {
            dir = dir.join(format!(".{folder}"));
        }
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
                for e in entries.flatten() {
                    if let Ok(b) = std::fs::read(e.path()) {
                        out.push(b);
                    }
                }
            }
        }
        out
    }

    /// How many messages one folder of `address` holds on disk.
    pub fn count(&self, address: &str, folder: &str) -> usize {
        self.messages(address, folder).len()
    }
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
            "From: {}\nTo: {}\nSubject: {}\nMessage-ID: <{}>\nDate: {}\n\
             MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{}\n",
            self.from,
            self.to,
            self.subject,
            self.message_id,
            date_now(),
            self.body
        ));
        out
    }
}
