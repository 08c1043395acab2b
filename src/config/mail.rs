//! `[imap]` and `[smtp]`: the mailbox replies arrive in and the server the bridge sends through.
//! Both take the same TLS modes and logins (a password, or XOAUTH2 with a token from the Graph
//! app), and both refuse a connection without TLS except to a loopback host.

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

use super::fields::Fields;
use super::values::{duration_secs, is_loopback};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS before login.
    Starttls,
    /// No TLS at all: only accepted for a loopback host.
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailAuth {
    Password,
    /// SASL XOAUTH2 with a token from the Graph app's credentials (Exchange Online).
    Xoauth2,
}

#[derive(Clone, Debug)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub password: Secret,
    pub auth: MailAuth,
    pub oauth_scope: String,
    pub ca_file: Option<PathBuf>,
    pub max_message_bytes: u64,
    pub mailbox: String,
    pub processed_mailbox: String,
    pub ignored_mailbox: String,
    pub failed_mailbox: String,
    pub idle: bool,
    pub poll_interval: Duration,
    /// How long one network operation may take before the connection is considered dead.
    pub timeout: Duration,
    /// A message whose reading fails (a crash, a budget exceeded, an error fetching it) this
    /// many times is filed to the failed folder (`imap.poison_attempts`).
    pub poison_attempts: u32,
    /// The CPU time and memory one message's reading may take (`imap.read_cpu_secs`,
    /// `imap.read_memory_mib`).
    pub read_budget: ReadBudget,
}

/// What reading one message (parsing, trimming, deciding) may cost; see [`crate::read::isolate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadBudget {
    pub cpu: Duration,
    /// Bytes of heap and other private memory.
    pub memory: u64,
}

/// The domain of `smtp.from`, for the Message-IDs the bridge makes.
pub fn message_id_domain(from: &lettre::message::Mailbox) -> String {
    from.email.domain().to_string()
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub auth: MailAuth,
    pub oauth_scope: String,
    pub ca_file: Option<PathBuf>,
    /// The bridge's own mailbox as written (`Approvals <bridge@example.test>`).
    pub from: lettre::message::Mailbox,
    /// `from`'s address alone, lower-cased.
    pub from_address: String,
    pub templates_dir: Option<PathBuf>,
    pub timeout: Duration,
}

const TLS_CHOICES: &[(&str, TlsMode)] = &[
    ("implicit", TlsMode::Implicit),
    ("starttls", TlsMode::Starttls),
    ("none", TlsMode::None),
];
const MAIL_AUTH_CHOICES: &[(&str, MailAuth)] = &[
    ("password", MailAuth::Password),
    ("xoauth2", MailAuth::Xoauth2),
];
const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";

/// What reading `[imap]` gave: the section (`None` when a required key is missing) and its login,
/// which `[graph]` checks against its credential.
pub(super) struct ImapRead {
    pub(super) config: Option<ImapConfig>,
    pub(super) auth: MailAuth,
}

pub(super) fn build_imap(f: &mut Fields<'_>) -> ImapRead {
    let host = f.required("imap", "host");
    let port = f.int("imap", "port", 993, 1, 65535) as u16;
    let tls = f.choice("imap", "tls", TlsMode::Implicit, TLS_CHOICES);
    let username = f.required("imap", "username");
    let password = Secret::new(f.str("imap", "password", ""));
    let auth = f.choice("imap", "auth", MailAuth::Password, MAIL_AUTH_CHOICES);
    let oauth_scope = f.str("imap", "oauth_scope", EXCHANGE_SCOPE);
    let ca_file = f.existing_file("imap", "ca_file");
    let max_message_bytes = f.int("imap", "max_message_bytes", 2_000_000, 1024, i64::MAX) as u64;
    let [mailbox, processed, ignored, failed] = imap_folders(f);
    let idle = f.bool("imap", "idle", true);
    let poll = f.int("imap", "poll_interval_secs", 60, 1, 86_400);
    let timeout = f.int("imap", "timeout_secs", 60, 1, 3600);
    let poison_attempts = f.int("imap", "poison_attempts", 3, 1, 100);
    let read_cpu = f.int("imap", "read_cpu_secs", 10, 1, 600);
    let read_memory = f.int("imap", "read_memory_mib", 512, 16, 65_536);
    check_plain_only_on_loopback(f, "imap", host.as_deref(), tls);
    let config = host.zip(username).map(|(host, username)| ImapConfig {
        host,
        port,
        tls,
        username,
        password,
        auth,
        oauth_scope,
        ca_file,
        max_message_bytes,
        mailbox,
        processed_mailbox: processed,
        ignored_mailbox: ignored,
        failed_mailbox: failed,
        idle,
        poll_interval: duration_secs(poll),
        timeout: duration_secs(timeout),
        poison_attempts: poison_attempts as u32,
        read_budget: ReadBudget {
            cpu: duration_secs(read_cpu),
            memory: read_memory as u64 * 1024 * 1024,
        },
    });
    ImapRead { config, auth }
}

/// The watched folder and the three a message is filed to: none empty, the three different from
/// the watched one.
fn imap_folders(f: &mut Fields<'_>) -> [String; 4] {
    let mailbox = f.str("imap", "mailbox", "INBOX");
    let processed = f.str("imap", "processed_mailbox", "Processed");
    let ignored = f.str("imap", "ignored_mailbox", "Ignored");
    let failed = f.str("imap", "failed_mailbox", "Failed");
    for (key, value) in [
        ("mailbox", &mailbox),
        ("processed_mailbox", &processed),
        ("ignored_mailbox", &ignored),
        ("failed_mailbox", &failed),
    ] {
        if value.trim().is_empty() {
            f.err("imap", key, "must not be empty");
        }
    }
    for (key, value) in [
        ("processed_mailbox", &processed),
        ("ignored_mailbox", &ignored),
        ("failed_mailbox", &failed),
    ] {
        if value.eq_ignore_ascii_case(&mailbox) {
            f.err(
                "imap",
                key,
                format!("must differ from imap.mailbox (\"{mailbox}\")"),
            );
        }
    }
    [mailbox, processed, ignored, failed]
}

/// `tls = "none"` is accepted only for a loopback host.
fn check_plain_only_on_loopback(
    f: &mut Fields<'_>,
    section: &str,
    host: Option<&str>,
    tls: TlsMode,
) {
    if let Some(h) = host
        && tls == TlsMode::None
        && !is_loopback(h)
    {
        f.err(
            section,
            "tls",
            format!("\"none\" is only allowed for a loopback host, not \"{h}\""),
        );
    }
}

/// What reading `[smtp]` gave: the section (`None` when a required key is missing), its login
/// (checked by `[graph]`), and the address of `smtp.from` (lower-cased; `[notify]` replies to it).
pub(super) struct SmtpRead {
    pub(super) config: Option<SmtpConfig>,
    pub(super) auth: MailAuth,
    pub(super) from_address: Option<String>,
}

pub(super) fn build_smtp(f: &mut Fields<'_>) -> SmtpRead {
    let host = f.required("smtp", "host");
    let port = f.int("smtp", "port", 587, 1, 65535) as u16;
    let tls = f.choice("smtp", "tls", TlsMode::Starttls, TLS_CHOICES);
    let username = f
        .opt_str("smtp", "username")
        .filter(|s| !s.trim().is_empty());
    let password = f
        .opt_str("smtp", "password")
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let auth = f.choice("smtp", "auth", MailAuth::Password, MAIL_AUTH_CHOICES);
    let oauth_scope = f.str("smtp", "oauth_scope", EXCHANGE_SCOPE);
    let ca_file = f.existing_file("smtp", "ca_file");
    let timeout = f.int("smtp", "timeout_secs", 60, 1, 3600);
    let from = smtp_from(f);
    let templates_dir = f.path("smtp", "templates_dir", "");
    if let Some(dir) = &templates_dir
        && !dir.is_dir()
    {
        f.err(
            "smtp",
            "templates_dir",
            format!("{} is not a folder", dir.display()),
        );
    }
    check_smtp_login(f, auth, password.is_some(), username.is_some());
    check_plain_only_on_loopback(f, "smtp", host.as_deref(), tls);
    let from_address = from
        .as_ref()
        .map(|m| m.email.to_string().to_ascii_lowercase());
    let config = host.zip(from).map(|(host, from)| SmtpConfig {
        host,
        port,
        tls,
        username,
        password,
        auth,
        oauth_scope,
        ca_file,
        from_address: from.email.to_string().to_ascii_lowercase(),
        from,
        templates_dir,
        timeout: duration_secs(timeout),
    });
    SmtpRead {
        config,
        auth,
        from_address,
    }
}

/// `smtp.from`: required, a mailbox as in a `From:` header.
fn smtp_from(f: &mut Fields<'_>) -> Option<lettre::message::Mailbox> {
    f.required("smtp", "from")
        .and_then(|s| match s.parse::<lettre::message::Mailbox>() {
            Ok(m) => Some(m),
            Err(e) => {
                f.err(
                    "smtp",
                    "from",
                    format!(
                        "not a valid address \"{s}\" ({e}); write \"Name <address>\" or \"address\""
                    ),
                );
                None
            }
        })
}

/// A password needs a user name to log in with; XOAUTH2 needs it to name the mailbox.
fn check_smtp_login(f: &mut Fields<'_>, auth: MailAuth, password: bool, username: bool) {
    if auth == MailAuth::Password && password && !username {
        f.err("smtp", "username", "is required when smtp.password is set");
    }
    if auth == MailAuth::Xoauth2 && !username {
        f.err(
            "smtp",
            "username",
            "is required when smtp.auth = \"xoauth2\" (the mailbox to send as)",
        );
    }
}
