//! Configuration: the TOML file (SPEC §6) plus `REJECT_BRIDGE__<SECTION>__<KEY>` environment
//! overrides, checked against one schema ([`KEYS`]) and validated into ready types (compiled regex,
//! parsed addresses, resolved paths) before anything touches the network.
//!
//! Every problem is collected, not just the first: [`ConfigErrors`] holds one line per problem, each
//! naming its key (or the environment variable), and the command line exits 2 with all of them.
//!
//! Keys of features marked *(later)* in the SPEC (`graph.act_as = "approver"`, `[web]`) are
//! accepted and validated here even where the feature behind them is not built yet. `[notify]`
//! lives in [`notify`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use toml::{Table, Value};
use unicode_normalization::UnicodeNormalization;

use crate::secret::Secret;

mod notify;

pub use notify::{DEFAULT_PORTAL_URL, NotifyConfig, ReplyKeyMode, Resolve};

/// The prefix of environment overrides; `__` separates section and key.
pub const ENV_PREFIX: &str = "REJECT_BRIDGE__";

/// A GUID, any case, between ASCII word boundaries: `\b` alone is Unicode-aware, and a GUID
/// written against Chinese or Japanese text ("申请3f2a…已拒绝") has a letter on each side to it.
pub const DEFAULT_REQUEST_ID_PATTERN: &str =
    r"(?i)(?-u:\b)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?-u:\b)";

/// The delegated permission a decision needs (`graph.delegated_scopes` default).
pub const DEFAULT_DELEGATED_SCOPE: &str = "DeviceManagementConfiguration.ReadWrite.All";

/// A delegated permission as Entra wants it in a sign-in: qualified with the resource it is for
/// (`https://graph.microsoft.com/DeviceManagementConfiguration.ReadWrite.All`). Bare names would
/// mean the global cloud's Graph, which is wrong in a national cloud.
fn qualify_scope(scope: &str, origin: Option<&str>) -> String {
    match origin {
        Some(o) if !scope.contains("://") => format!("{o}/{scope}"),
        _ => scope.to_string(),
    }
}

pub const DEFAULT_JUSTIFICATION_TEMPLATE: &str = "{% if text %}{{ text }} (rejected by {{ approver }} via email){% else %}Rejected by {{ approver }} via email{% endif %}";

pub const DEFAULT_GREETING_WORDS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "dear",
    "good",
    "morning",
    "hallo",
    "liebe",
    "lieber",
    "guten",
    "bonjour",
    "salut",
    "hola",
    "buenos",
    "buenas",
    "ciao",
    "buongiorno",
    "hej",
    "hoi",
    "goedemorgen",
    "olá",
    "bom",
];

/// SPEC §3 rule 8: words that approve, in the languages we read.
pub const DEFAULT_APPROVAL_WORDS: &[&str] = &[
    "approve",
    "approved",
    "approving",
    "approval",
    "genehmigt",
    "genehmige",
    "freigegeben",
    "approuvé",
    "approuve",
    "aprobado",
    "apruebo",
    "goedgekeurd",
    "godkänd",
    "godkendt",
    "godkjent",
    "approvato",
    "aprovado",
    "zatwierdzam",
    "承認",
    "批准",
    "同意",
];

/// SPEC §3 rule 8: words and phrases of assent.
pub const DEFAULT_ASSENT_WORDS: &[&str] = &[
    "yes",
    "yep",
    "yeah",
    "ok",
    "okay",
    "sure",
    "fine",
    "lgtm",
    "agreed",
    "+1",
    "go ahead",
    "sounds good",
    "looks good",
    "no problem",
    "no worries",
    "not a problem",
    "ja",
    "jawohl",
    "kein problem",
    "oui",
    "d'accord",
    "pas de problème",
    "sí",
    "sim",
    "claro",
    "sin problema",
    "prima",
    "akkoord",
    "geen probleem",
    "inga problem",
    "nessun problema",
    "sem problema",
];

/// SPEC §3 rule 8: words and phrases that reject or negate.
pub const DEFAULT_REJECTION_WORDS: &[&str] = &[
    "no",
    "not",
    "don't",
    "do not",
    "never",
    "reject",
    "rejected",
    "deny",
    "denied",
    "decline",
    "stop",
    "cancel",
    "nein",
    "nicht",
    "kein",
    "keine",
    "abgelehnt",
    "ablehnen",
    "non",
    "pas",
    "refuse",
    "refusé",
    "rechazar",
    "rechazado",
    "nee",
    "niet",
    "afgewezen",
    "nej",
    "inte",
    "avvisa",
    "avvisad",
    "rifiuto",
    "rifiutato",
    "não",
    "rejeitado",
    "nie",
    "不",
    "拒绝",
    "驳回",
    "拒否",
    "却下",
    "ません",
    "ない",
];

/// The type a key's value must have, in TOML and when given as an environment variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Bool,
    /// A list of strings; JSON in an environment variable.
    List,
}

/// Every key the file may hold: (section, key, kind). Anything else is an error.
pub const KEYS: &[(&str, &str, Kind)] = &[
    ("imap", "host", Kind::Str),
    ("imap", "port", Kind::Int),
    ("imap", "tls", Kind::Str),
    ("imap", "username", Kind::Str),
    ("imap", "password", Kind::Str),
    ("imap", "auth", Kind::Str),
    ("imap", "oauth_scope", Kind::Str),
    ("imap", "ca_file", Kind::Str),
    ("imap", "max_message_bytes", Kind::Int),
    ("imap", "mailbox", Kind::Str),
    ("imap", "processed_mailbox", Kind::Str),
    ("imap", "ignored_mailbox", Kind::Str),
    ("imap", "failed_mailbox", Kind::Str),
    ("imap", "idle", Kind::Bool),
    ("imap", "poll_interval_secs", Kind::Int),
    ("imap", "timeout_secs", Kind::Int),
    ("imap", "poison_attempts", Kind::Int),
    ("imap", "read_cpu_secs", Kind::Int),
    ("imap", "read_memory_mib", Kind::Int),
    ("smtp", "host", Kind::Str),
    ("smtp", "port", Kind::Int),
    ("smtp", "tls", Kind::Str),
    ("smtp", "username", Kind::Str),
    ("smtp", "password", Kind::Str),
    ("smtp", "auth", Kind::Str),
    ("smtp", "oauth_scope", Kind::Str),
    ("smtp", "ca_file", Kind::Str),
    ("smtp", "from", Kind::Str),
    ("smtp", "templates_dir", Kind::Str),
    ("smtp", "timeout_secs", Kind::Int),
    ("graph", "base_url", Kind::Str),
    ("graph", "authority", Kind::Str),
    ("graph", "tenant_id", Kind::Str),
    ("graph", "client_id", Kind::Str),
    ("graph", "auth", Kind::Str),
    ("graph", "scope", Kind::Str),
    ("graph", "client_secret", Kind::Str),
    ("graph", "certificate_path", Kind::Str),
    ("graph", "private_key_path", Kind::Str),
    ("graph", "retry_max_secs", Kind::Int),
    ("graph", "timeout_secs", Kind::Int),
    ("graph", "request_id_pattern", Kind::Str),
    ("graph", "justification_template", Kind::Str),
    ("graph", "delegated_scopes", Kind::List),
    ("graph", "keepalive_hours", Kind::Int),
    ("graph", "act_as", Kind::Str),
    ("approvers", "allowed", Kind::List),
    ("approvers", "require_authentication", Kind::Bool),
    ("approvers", "authentication", Kind::Str),
    ("approvers", "trusted_authserv_id", Kind::Str),
    ("approvers", "require_notification_reference", Kind::Bool),
    ("approvers", "greeting_words", Kind::List),
    ("approvers", "approval_words", Kind::List),
    ("approvers", "assent_words", Kind::List),
    ("approvers", "rejection_words", Kind::List),
    ("approvers", "max_age_days", Kind::Int),
    ("approvers", "max_replies_per_hour", Kind::Int),
    ("state", "retention_days", Kind::Int),
    ("notify", "enabled", Kind::Bool),
    ("notify", "poll_interval_secs", Kind::Int),
    ("notify", "recipients", Kind::List),
    ("notify", "resolve", Kind::Str),
    ("notify", "directory_cache_secs", Kind::Int),
    ("notify", "reply_key", Kind::Str),
    ("notify", "followups", Kind::Bool),
    ("notify", "remind_before_hours", Kind::Int),
    ("notify", "portal_url", Kind::Str),
    ("notify", "reply_to", Kind::Str),
    ("state", "path", Kind::Str),
    ("state", "key_file", Kind::Str),
    ("state", "key", Kind::Str),
    ("alerts", "to", Kind::List),
    ("web", "listen", Kind::Str),
    ("web", "public_url", Kind::Str),
    ("web", "link_ttl_mins", Kind::Int),
    ("metrics", "listen", Kind::Str),
];

fn kind_of(section: &str, key: &str) -> Option<Kind> {
    KEYS.iter()
        .find(|(s, k, _)| *s == section && *k == key)
        .map(|(_, _, kind)| *kind)
}

fn is_section(section: &str) -> bool {
    KEYS.iter().any(|(s, _, _)| *s == section)
}

/// All the problems found in a configuration, one line each, every line naming its key.
#[derive(Debug, Default)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

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

/// The app registration's own credential (client credentials, client assertions, and a
/// confidential client's sign-in).
#[derive(Clone, Debug)]
pub enum GraphCredential {
    ClientSecret(Secret),
    Certificate {
        certificate_path: PathBuf,
        private_key_path: PathBuf,
    },
}

/// Whose token makes Graph decisions (`graph.auth`, SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphAuth {
    /// App-only: the client credentials grant. Microsoft documents that applications cannot
    /// approve or reject MAA requests; kept for tenants where it works.
    ClientCredentials,
    /// A user (the service account) signed in once with `reject-bridge login`.
    Delegated,
}

/// Whose delegated token a decision uses (`graph.act_as`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActAs {
    ServiceAccount,
    /// Each approver's own linked account (the `[web]` linking flow).
    Approver,
}

#[derive(Clone, Debug)]
pub struct GraphConfig {
    /// Without a trailing slash, e.g. `https://graph.microsoft.com/beta`.
    pub base_url: String,
    /// Without a trailing slash, e.g. `https://login.microsoftonline.com`.
    pub authority: String,
    pub tenant_id: String,
    pub client_id: String,
    pub auth: GraphAuth,
    /// The app's credential: required for client credentials, optional with `delegated` (a
    /// public client then signs in without one).
    pub credential: Option<GraphCredential>,
    /// The token scope of client credentials: `graph.scope`, or the origin of `base_url` +
    /// `/.default`.
    pub scope: String,
    /// `delegated`: the Graph permissions asked for at sign-in, each qualified with the Graph
    /// resource (`https://graph.microsoft.com/DeviceManagementConfiguration.ReadWrite.All`).
    pub delegated_scopes: Vec<String>,
    /// `delegated`: the sign-in is refreshed at least this often, even without mail.
    pub keepalive: Duration,
    pub act_as: ActAs,
    pub retry_max: Duration,
    pub timeout: Duration,
    pub request_id_pattern: Regex,
    pub justification_template: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// Trust the topmost `Authentication-Results` of `trusted_authserv_id`.
    AuthservId,
    /// Trust Exchange Online's `X-MS-Exchange-Organization-AuthAs` and its unnamed results header.
    ExchangeOnline,
}

/// One entry of `approvers.allowed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// A whole address, lower-cased.
    Address(String),
    /// `@domain`: that domain exactly, lower-cased, without the `@`.
    Domain(String),
}

#[derive(Clone, Debug)]
pub struct ApproversConfig {
    pub allowed: Vec<Allowed>,
    pub require_authentication: bool,
    pub authentication: AuthMode,
    /// Lower-cased.
    pub trusted_authserv_id: String,
    pub require_notification_reference: bool,
    /// NFC, lower-cased.
    pub greeting_words: Vec<String>,
    /// NFC, lower-cased.
    pub approval_words: Vec<String>,
    /// NFC, lower-cased.
    pub assent_words: Vec<String>,
    /// NFC, lower-cased.
    pub rejection_words: Vec<String>,
    /// Rule 3a: mail dated longer ago than this is ignored (`None`: `max_age_days = 0`, off).
    pub max_age: Option<Duration>,
    /// Answers per sender and hour; `None`: `max_replies_per_hour = 0`, no limit.
    pub max_replies_per_hour: Option<u32>,
}

impl ApproversConfig {
    /// Whether `address` (any case) is allowed by `approvers.allowed`. Case is folded in ASCII
    /// only: a Unicode fold would let `\u{212A}` (KELVIN SIGN) stand for `k`.
    pub fn allows(&self, address: &str) -> bool {
        allowed_by(&self.allowed, address)
    }
}

/// Whether `address` (any case) matches an entry of `approvers.allowed`.
fn allowed_by(allowed: &[Allowed], address: &str) -> bool {
    // ASCII only: a Unicode fold would let `\u{212A}` (KELVIN SIGN) stand for `k`.
    let address = address.to_ascii_lowercase();
    let domain = address.rsplit_once('@').map(|(_, d)| d);
    allowed.iter().any(|entry| match entry {
        Allowed::Address(a) => *a == address,
        Allowed::Domain(d) => domain == Some(d.as_str()),
    })
}

#[derive(Clone, Debug)]
pub struct StateConfig {
    /// Filed rows older than this are pruned from the journal (`None`: `retention_days = 0`,
    /// kept for ever).
    pub retention: Option<Duration>,
    pub path: PathBuf,
    /// The key that encrypts stored sign-ins: `state.key_file` (default: `reject-bridge.key`
    /// beside the journal), created by `login` when missing.
    pub key_file: PathBuf,
    /// `state.key` (given as `REJECT_BRIDGE__STATE__KEY`): the key itself, instead of the file.
    pub key: Option<Secret>,
}

#[derive(Clone, Debug, Default)]
pub struct AlertsConfig {
    /// Who is told when the service needs a person (a lost sign-in, …); lower-cased addresses.
    pub to: Vec<String>,
}

/// `[web]`: the linking endpoint of `graph.act_as = "approver"` (validated now, built later).
#[derive(Clone, Debug, Default)]
pub struct WebConfig {
    pub listen: Option<std::net::SocketAddr>,
    pub public_url: Option<String>,
    pub link_ttl: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct MetricsConfig {
    /// Where to serve `/metrics` and `/healthz` over plain HTTP; `None` (the default): no endpoint.
    pub listen: Option<std::net::SocketAddr>,
}

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from (for messages only).
    pub source: PathBuf,
    pub imap: ImapConfig,
    pub smtp: SmtpConfig,
    pub graph: GraphConfig,
    pub approvers: ApproversConfig,
    pub notify: NotifyConfig,
    pub state: StateConfig,
    pub metrics: MetricsConfig,
    pub alerts: AlertsConfig,
    pub web: WebConfig,
}

impl Config {
    /// Reads `path`, applies the process environment's overrides and validates everything.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![format!(
                "--config: cannot read {}: {e}",
                path.display()
            )])
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base_dir = if base_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base_dir
        };
        // vars_os: a variable that is not valid Unicode must not abort the program. One of ours
        // becomes an error naming it (its value, possibly a secret, is never shown).
        let env = std::env::vars_os().filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let value = value
                .into_string()
                .unwrap_or_else(|_| NOT_UNICODE.to_string());
            Some((name, value))
        });
        Config::from_parts(path, &text, &base_dir, env)
    }

    /// Validates `text` with `env` as the environment; relative paths resolve against `base_dir`.
    pub fn from_parts(
        source: &Path,
        text: &str,
        base_dir: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        let mut table: Table = match text.parse::<Table>() {
            Ok(t) => t,
            Err(e) => {
                let msg = e.message().to_string();
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
                let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                return Err(ConfigErrors(vec![format!(
                    "{}{at}: not valid TOML: {msg}",
                    source.display()
                )]));
            }
        };
        check_unknown(&table, &mut errors);
        apply_env(&mut table, env, &mut errors);
        let mut f = Fields {
            table: &table,
            errors: &mut errors,
            base_dir,
        };
        let config = build(&mut f, source);
        if errors.is_empty() {
            Ok(config.expect("a config is built whenever no error was recorded"))
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

fn check_unknown(table: &Table, errors: &mut Vec<String>) {
    for (section, value) in table {
        if !is_section(section) {
            errors.push(format!("{section}: unknown section"));
            continue;
        }
        let Some(inner) = value.as_table() else {
            errors.push(format!("{section}: must be a table ([{section}])"));
            continue;
        };
        for key in inner.keys() {
            if kind_of(section, key).is_none() {
                errors.push(format!("{section}.{key}: unknown key"));
            }
        }
    }
}

/// Stands for an environment value that is not valid Unicode (it cannot be a setting).
const NOT_UNICODE: &str = "\u{0}not-unicode\u{0}";

fn apply_env(
    table: &mut Table,
    env: impl IntoIterator<Item = (String, String)>,
    errors: &mut Vec<String>,
) {
    let mut overrides: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in env {
        if name.starts_with(ENV_PREFIX) {
            overrides.insert(name, value);
        }
    }
    for (name, raw) in overrides {
        let rest = &name[ENV_PREFIX.len()..];
        let Some((section, key)) = rest.split_once("__") else {
            errors.push(format!(
                "{name}: not a setting (write {ENV_PREFIX}<SECTION>__<KEY>)"
            ));
            continue;
        };
        let (section, key) = (section.to_lowercase(), key.to_lowercase());
        let Some(kind) = kind_of(&section, &key) else {
            errors.push(format!("{name}: unknown setting {section}.{key}"));
            continue;
        };
        if raw == NOT_UNICODE {
            errors.push(format!("{name}: the value is not valid UTF-8"));
            continue;
        }
        let value = match kind {
            Kind::Str => Value::String(raw),
            Kind::Int => match raw.trim().parse::<i64>() {
                Ok(n) => Value::Integer(n),
                Err(_) => {
                    errors.push(format!("{name}: {section}.{key} must be a whole number"));
                    continue;
                }
            },
            Kind::Bool => match raw.trim().to_lowercase().as_str() {
                "true" | "1" | "yes" => Value::Boolean(true),
                "false" | "0" | "no" => Value::Boolean(false),
                _ => {
                    errors.push(format!("{name}: {section}.{key} must be true or false"));
                    continue;
                }
            },
            Kind::List => match serde_json::from_str::<Vec<String>>(&raw) {
                Ok(items) => Value::Array(items.into_iter().map(Value::String).collect()),
                Err(_) => {
                    errors.push(format!(
                        "{name}: {section}.{key} must be a JSON list of strings, e.g. '[\"@example.test\"]'"
                    ));
                    continue;
                }
            },
        };
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if let Some(t) = entry.as_table_mut() {
            t.insert(key, value);
        }
    }
}

/// Typed reads of the merged table; each failed read records one error naming its key.
struct Fields<'a> {
    table: &'a Table,
    errors: &'a mut Vec<String>,
    base_dir: &'a Path,
}

impl Fields<'_> {
    fn raw(&self, section: &str, key: &str) -> Option<&Value> {
        self.table.get(section)?.as_table()?.get(key)
    }

    fn err(&mut self, section: &str, key: &str, what: impl fmt::Display) {
        self.errors.push(format!("{section}.{key}: {what}"));
    }

    fn opt_str(&mut self, section: &str, key: &str) -> Option<String> {
        match self.raw(section, key) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.err(section, key, "must be a string");
                None
            }
        }
    }

    fn str(&mut self, section: &str, key: &str, default: &str) -> String {
        self.opt_str(section, key)
            .unwrap_or_else(|| default.to_string())
    }

    /// A required string: missing or empty is an error.
    fn required(&mut self, section: &str, key: &str) -> Option<String> {
        match self.opt_str(section, key) {
            Some(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(_) => {
                self.err(section, key, "is required and must not be empty");
                None
            }
            None if self.raw(section, key).is_some() => None,
            None => {
                self.err(section, key, "is required");
                None
            }
        }
    }

    fn int(&mut self, section: &str, key: &str, default: i64, min: i64, max: i64) -> i64 {
        match self.raw(section, key) {
            None => default,
            Some(Value::Integer(n)) if (min..=max).contains(n) => *n,
            Some(Value::Integer(n)) => {
                self.err(
                    section,
                    key,
                    format!("must be between {min} and {max} (got {n})"),
                );
                default
            }
            Some(_) => {
                self.err(section, key, "must be a whole number");
                default
            }
        }
    }

    fn bool(&mut self, section: &str, key: &str, default: bool) -> bool {
        match self.raw(section, key) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(_) => {
                self.err(section, key, "must be true or false");
                default
            }
        }
    }

    fn list(&mut self, section: &str, key: &str) -> Option<Vec<String>> {
        match self.raw(section, key) {
            None => None,
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        _ => {
                            self.err(section, key, "must be a list of strings");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Some(_) => {
                self.err(section, key, "must be a list of strings");
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        section: &str,
        key: &str,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let Some(value) = self.opt_str(section, key) else {
            return default;
        };
        if let Some((_, v)) = options.iter().find(|(name, _)| *name == value) {
            return *v;
        }
        let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        self.err(
            section,
            key,
            format!("must be one of {} (got \"{value}\")", names.join(", ")),
        );
        default
    }

    /// A path key: empty means unset; relative paths resolve against the config file's folder.
    fn path(&mut self, section: &str, key: &str, default: &str) -> Option<PathBuf> {
        let value = self.str(section, key, default);
        if value.trim().is_empty() {
            return None;
        }
        let p = PathBuf::from(value.trim());
        Some(if p.is_absolute() {
            p
        } else {
            self.base_dir.join(p)
        })
    }

    /// A path that must name a readable file when set.
    fn existing_file(&mut self, section: &str, key: &str) -> Option<PathBuf> {
        let p = self.path(section, key, "")?;
        if !p.is_file() {
            self.err(
                section,
                key,
                format!("{} is not a readable file", p.display()),
            );
        }
        Some(p)
    }
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

const PLAIN_HTTP_ONLY_ON_LOOPBACK: &str = "http:// is only allowed for a loopback host (tokens and rejections travel over it); use https://";

/// An `https://` URL with a host, or `http://` to a loopback host (a local simulator): tokens
/// and rejections never cross a network in clear text, as IMAP and SMTP never do.
fn web_url_allowed(u: &reqwest::Url) -> bool {
    match (u.scheme(), u.host_str()) {
        ("https", Some(_)) => true,
        ("http", Some(h)) => is_loopback(h),
        _ => false,
    }
}

/// True for `localhost`, `127.0.0.0/8` and `::1`: the only hosts where `tls = "none"` is accepted.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

fn duration_secs(n: i64) -> Duration {
    Duration::from_secs(n.max(0) as u64)
}

fn normalize_word(w: &str) -> String {
    w.trim().nfc().collect::<String>().to_lowercase()
}

/// A bare e-mail address as written in the config: something@domain, no spaces.
fn plausible_address(a: &str) -> bool {
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !a.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
        }
        None => false,
    }
}

fn build(f: &mut Fields<'_>, source: &Path) -> Option<Config> {
    // [imap]
    let imap_host = f.required("imap", "host");
    let imap_port = f.int("imap", "port", 993, 1, 65535) as u16;
    let imap_tls = f.choice("imap", "tls", TlsMode::Implicit, TLS_CHOICES);
    let imap_username = f.required("imap", "username");
    let imap_password = Secret::new(f.str("imap", "password", ""));
    let imap_auth = f.choice("imap", "auth", MailAuth::Password, MAIL_AUTH_CHOICES);
    let imap_oauth_scope = f.str("imap", "oauth_scope", EXCHANGE_SCOPE);
    let imap_ca = f.existing_file("imap", "ca_file");
    let max_message_bytes = f.int("imap", "max_message_bytes", 2_000_000, 1024, i64::MAX) as u64;
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
    let idle = f.bool("imap", "idle", true);
    let poll = f.int("imap", "poll_interval_secs", 60, 1, 86_400);
    let imap_timeout = f.int("imap", "timeout_secs", 60, 1, 3600);
    let poison_attempts = f.int("imap", "poison_attempts", 3, 1, 100);
    let read_cpu = f.int("imap", "read_cpu_secs", 10, 1, 600);
    let read_memory = f.int("imap", "read_memory_mib", 512, 16, 65_536);
    if let Some(h) = &imap_host
        && imap_tls == TlsMode::None
        && !is_loopback(h)
    {
        f.err(
            "imap",
            "tls",
            format!("\"none\" is only allowed for a loopback host, not \"{h}\""),
        );
    }
    // [smtp]
    let smtp_host = f.required("smtp", "host");
    let smtp_port = f.int("smtp", "port", 587, 1, 65535) as u16;
    let smtp_tls = f.choice("smtp", "tls", TlsMode::Starttls, TLS_CHOICES);
    let smtp_username = f
        .opt_str("smtp", "username")
        .filter(|s| !s.trim().is_empty());
    let smtp_password = f
        .opt_str("smtp", "password")
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let smtp_auth = f.choice("smtp", "auth", MailAuth::Password, MAIL_AUTH_CHOICES);
    let smtp_oauth_scope = f.str("smtp", "oauth_scope", EXCHANGE_SCOPE);
    let smtp_ca = f.existing_file("smtp", "ca_file");
    let smtp_timeout = f.int("smtp", "timeout_secs", 60, 1, 3600);
    let from =
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
            });
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
    if smtp_auth == MailAuth::Password && smtp_password.is_some() && smtp_username.is_none() {
        f.err("smtp", "username", "is required when smtp.password is set");
    }
    if smtp_auth == MailAuth::Xoauth2 && smtp_username.is_none() {
        f.err(
            "smtp",
            "username",
            "is required when smtp.auth = \"xoauth2\" (the mailbox to send as)",
        );
    }
    if let Some(h) = &smtp_host
        && smtp_tls == TlsMode::None
        && !is_loopback(h)
    {
        f.err(
            "smtp",
            "tls",
            format!("\"none\" is only allowed for a loopback host, not \"{h}\""),
        );
    }

    // [graph]
    let base_url = f.str("graph", "base_url", "https://graph.microsoft.com/beta");
    let base_url = base_url.trim().trim_end_matches('/').to_string();
    let base_origin = match reqwest::Url::parse(&base_url) {
        Ok(u) if web_url_allowed(&u) => Some(u.origin().ascii_serialization()),
        Ok(u) if u.scheme() == "http" => {
            f.err("graph", "base_url", PLAIN_HTTP_ONLY_ON_LOOPBACK);
            None
        }
        _ => {
            f.err(
                "graph",
                "base_url",
                format!("not an http(s) URL: \"{base_url}\""),
            );
            None
        }
    };
    let authority = f.str("graph", "authority", "https://login.microsoftonline.com");
    let authority = authority.trim().trim_end_matches('/').to_string();
    match reqwest::Url::parse(&authority) {
        Ok(u) if web_url_allowed(&u) => {}
        Ok(u) if u.scheme() == "http" => f.err("graph", "authority", PLAIN_HTTP_ONLY_ON_LOOPBACK),
        _ => f.err(
            "graph",
            "authority",
            format!("not an http(s) URL: \"{authority}\""),
        ),
    }
    let tenant_id = f.required("graph", "tenant_id");
    let client_id = f.required("graph", "client_id");
    let graph_auth = f.choice(
        "graph",
        "auth",
        GraphAuth::ClientCredentials,
        &[
            ("client_credentials", GraphAuth::ClientCredentials),
            ("delegated", GraphAuth::Delegated),
        ],
    );
    let scope = f.str("graph", "scope", "");
    let scope = if scope.trim().is_empty() {
        base_origin
            .as_ref()
            .map(|o| format!("{o}/.default"))
            .unwrap_or_default()
    } else {
        scope.trim().to_string()
    };
    let client_secret = f
        .opt_str("graph", "client_secret")
        .filter(|s| !s.is_empty());
    let cert = f.existing_file("graph", "certificate_path");
    let key = f.existing_file("graph", "private_key_path");
    let credential = match (client_secret, cert, key) {
        (Some(s), None, None) => Some(Some(GraphCredential::ClientSecret(Secret::new(s)))),
        (None, Some(c), Some(k)) => Some(Some(GraphCredential::Certificate {
            certificate_path: c,
            private_key_path: k,
        })),
        (None, Some(_), None) => {
            f.err(
                "graph",
                "private_key_path",
                "is required with graph.certificate_path",
            );
            None
        }
        (None, None, Some(_)) => {
            f.err(
                "graph",
                "certificate_path",
                "is required with graph.private_key_path",
            );
            None
        }
        (None, None, None) if graph_auth == GraphAuth::Delegated => Some(None),
        (None, None, None) => {
            f.err(
                "graph",
                "client_secret",
                "a Graph credential is required: client_secret, or certificate_path + private_key_path, or auth = \"delegated\"",
            );
            None
        }
        (Some(_), _, _) => {
            f.err(
                "graph",
                "client_secret",
                "give either client_secret or certificate_path + private_key_path, not both",
            );
            None
        }
    };
    let delegated_scopes = f
        .list("graph", "delegated_scopes")
        .unwrap_or_else(|| vec![DEFAULT_DELEGATED_SCOPE.to_string()]);
    if delegated_scopes.is_empty() || delegated_scopes.iter().any(|s| s.trim().is_empty()) {
        f.err(
            "graph",
            "delegated_scopes",
            "must name at least one permission and no empty ones",
        );
    }
    let delegated_scopes: Vec<String> = delegated_scopes
        .iter()
        .map(|s| qualify_scope(s.trim(), base_origin.as_deref()))
        .collect();
    let keepalive_hours = f.int("graph", "keepalive_hours", 24, 1, 24 * 80);
    let act_as = f.choice(
        "graph",
        "act_as",
        ActAs::ServiceAccount,
        &[
            ("service-account", ActAs::ServiceAccount),
            ("approver", ActAs::Approver),
        ],
    );
    if act_as == ActAs::Approver && graph_auth != GraphAuth::Delegated {
        f.err(
            "graph",
            "act_as",
            "\"approver\" needs graph.auth = \"delegated\" (decisions are made with the approvers' own sign-ins)",
        );
    }
    if matches!(credential, Some(None)) {
        for (section, auth) in [("imap", imap_auth), ("smtp", smtp_auth)] {
            if auth == MailAuth::Xoauth2 {
                f.err(
                    section,
                    "auth",
                    "\"xoauth2\" logs in with the app's own token: give graph.client_secret, or certificate_path + private_key_path (graph.auth = \"delegated\" alone has no app credential)",
                );
            }
        }
    }
    let retry_max = f.int("graph", "retry_max_secs", 600, 0, 86_400);
    let graph_timeout = f.int("graph", "timeout_secs", 30, 1, 600);
    let pattern_text = f.str("graph", "request_id_pattern", DEFAULT_REQUEST_ID_PATTERN);
    let pattern = match Regex::new(&pattern_text) {
        Ok(r) => Some(r),
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().last().unwrap_or("invalid").to_string();
            f.err(
                "graph",
                "request_id_pattern",
                format!("not a valid regular expression: {first}"),
            );
            None
        }
    };
    let template = f.str(
        "graph",
        "justification_template",
        DEFAULT_JUSTIFICATION_TEMPLATE,
    );

    // [approvers]
    let allowed_raw = f.list("approvers", "allowed");
    let mut allowed = Vec::new();
    match &allowed_raw {
        None if f.raw("approvers", "allowed").is_none() => {
            f.err("approvers", "allowed", "is required (addresses or @domain)")
        }
        None => {}
        Some(list) if list.is_empty() => f.err(
            "approvers",
            "allowed",
            "must name at least one address or @domain",
        ),
        Some(list) => {
            for entry in list {
                let e = entry.trim().to_ascii_lowercase();
                if let Some(domain) = e.strip_prefix('@') {
                    if domain.is_empty()
                        || domain.contains('@')
                        || domain.chars().any(char::is_whitespace)
                    {
                        f.err(
                            "approvers",
                            "allowed",
                            format!("\"{entry}\" is not an address or @domain"),
                        );
                    } else {
                        allowed.push(Allowed::Domain(domain.to_string()));
                    }
                } else if plausible_address(&e) {
                    allowed.push(Allowed::Address(e));
                } else {
                    f.err(
                        "approvers",
                        "allowed",
                        format!("\"{entry}\" is not an address or @domain"),
                    );
                }
            }
        }
    }
    let require_authentication = f.bool("approvers", "require_authentication", true);
    let authentication = f.choice(
        "approvers",
        "authentication",
        AuthMode::AuthservId,
        &[
            ("authserv-id", AuthMode::AuthservId),
            ("exchange-online", AuthMode::ExchangeOnline),
        ],
    );
    let trusted = f.str("approvers", "trusted_authserv_id", "");
    let trusted = trusted.trim().to_ascii_lowercase();
    if authentication == AuthMode::AuthservId && require_authentication && trusted.is_empty() {
        f.err(
            "approvers",
            "trusted_authserv_id",
            "is required when authentication = \"authserv-id\" and require_authentication = true (the name your MTA writes in Authentication-Results)",
        );
    }
    let require_notification_reference =
        f.bool("approvers", "require_notification_reference", false);
    let greeting_words = f.list("approvers", "greeting_words").unwrap_or_else(|| {
        DEFAULT_GREETING_WORDS
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    let mut words = |key: &str, defaults: &[&str]| {
        f.list("approvers", key)
            .unwrap_or_else(|| defaults.iter().map(|s| s.to_string()).collect())
    };
    let approval_words = words("approval_words", DEFAULT_APPROVAL_WORDS);
    let assent_words = words("assent_words", DEFAULT_ASSENT_WORDS);
    let rejection_words = words("rejection_words", DEFAULT_REJECTION_WORDS);
    for (key, words) in [
        ("greeting_words", &greeting_words),
        ("approval_words", &approval_words),
        ("assent_words", &assent_words),
        ("rejection_words", &rejection_words),
    ] {
        if words.iter().any(|w| w.trim().is_empty()) {
            f.err("approvers", key, "must not hold empty words");
        }
    }
    let max_age_days = f.int("approvers", "max_age_days", 14, 0, 3650);
    let max_replies = f.int("approvers", "max_replies_per_hour", 20, 0, 100_000);

    // [notify]
    let from_address = from
        .as_ref()
        .map(|m: &lettre::message::Mailbox| m.email.to_string().to_ascii_lowercase());
    let notify = notify::build(f, &allowed, from_address.as_deref());

    // [state]
    let retention_days = f.int("state", "retention_days", 400, 0, 36_500);
    let state_path = f.path("state", "path", "state/reject-bridge.db");
    if state_path.is_none() {
        f.err("state", "path", "must not be empty");
    }
    let key_file = f.path("state", "key_file", "").or_else(|| {
        state_path
            .as_ref()
            .map(|p| p.with_file_name("reject-bridge.key"))
    });
    let state_key = f
        .opt_str("state", "key")
        .filter(|k| !k.trim().is_empty())
        .map(Secret::new);
    if let Some(k) = &state_key
        && crate::secret::key_bytes(k.expose()).is_none()
    {
        f.err(
            "state",
            "key",
            "must be 32 bytes written as 64 hex digits or in base64 (e.g. `openssl rand -base64 32`)",
        );
    }

    // [alerts]
    let alerts_to = f.list("alerts", "to").unwrap_or_default();
    for a in &alerts_to {
        if !plausible_address(a.trim()) {
            f.err("alerts", "to", format!("\"{a}\" is not an address"));
        }
    }

    // [web] (graph.act_as = "approver")
    let web_listen = f.str("web", "listen", "127.0.0.1:8443");
    let web_listen = match web_listen.trim().parse::<std::net::SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            f.err(
                "web",
                "listen",
                format!("not a socket address \"{web_listen}\": write IP:port"),
            );
            None
        }
    };
    let public_url = f
        .opt_str("web", "public_url")
        .filter(|u| !u.trim().is_empty());
    if let Some(u) = &public_url {
        match reqwest::Url::parse(u.trim()) {
            Ok(url) if url.scheme() == "https" => {}
            Ok(url) if url.scheme() == "http" && url.host_str().is_some_and(is_loopback) => {}
            _ => f.err(
                "web",
                "public_url",
                format!("must be an https:// URL (http:// only on loopback), not \"{u}\""),
            ),
        }
    }
    if act_as == ActAs::Approver && public_url.is_none() {
        f.err(
            "web",
            "public_url",
            "is required with graph.act_as = \"approver\" (approvers open links to it)",
        );
    }
    let link_ttl = f.int("web", "link_ttl_mins", 30, 1, 24 * 60);

    // [metrics]
    let listen = f.str("metrics", "listen", "");
    let listen = listen.trim();
    let metrics_listen = if listen.is_empty() {
        None
    } else {
        match listen.parse::<std::net::SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                f.err(
                    "metrics",
                    "listen",
                    format!(
                        "not a socket address \"{listen}\": write IP:port, e.g. \"127.0.0.1:9464\" or \"[::1]:9464\" (empty turns the endpoint off)"
                    ),
                );
                None
            }
        }
    };

    let from = from?;
    let from_address = from.email.to_string().to_ascii_lowercase();
    Some(Config {
        source: source.to_path_buf(),
        imap: ImapConfig {
            host: imap_host?,
            port: imap_port,
            tls: imap_tls,
            username: imap_username?,
            password: imap_password,
            auth: imap_auth,
            oauth_scope: imap_oauth_scope,
            ca_file: imap_ca,
            max_message_bytes,
            mailbox,
            processed_mailbox: processed,
            ignored_mailbox: ignored,
            failed_mailbox: failed,
            idle,
            poll_interval: duration_secs(poll),
            timeout: duration_secs(imap_timeout),
            poison_attempts: poison_attempts as u32,
            read_budget: ReadBudget {
                cpu: duration_secs(read_cpu),
                memory: read_memory as u64 * 1024 * 1024,
            },
        },
        smtp: SmtpConfig {
            host: smtp_host?,
            port: smtp_port,
            tls: smtp_tls,
            username: smtp_username,
            password: smtp_password,
            auth: smtp_auth,
            oauth_scope: smtp_oauth_scope,
            ca_file: smtp_ca,
            from,
            from_address,
            templates_dir,
            timeout: duration_secs(smtp_timeout),
        },
        graph: GraphConfig {
            base_url,
            authority,
            tenant_id: tenant_id?,
            client_id: client_id?,
            auth: graph_auth,
            credential: credential?,
            scope,
            delegated_scopes,
            keepalive: Duration::from_secs(keepalive_hours as u64 * 3600),
            act_as,
            retry_max: duration_secs(retry_max),
            timeout: duration_secs(graph_timeout),
            request_id_pattern: pattern?,
            justification_template: template,
        },
        approvers: ApproversConfig {
            allowed,
            require_authentication,
            authentication,
            trusted_authserv_id: trusted,
            require_notification_reference,
            greeting_words: greeting_words.iter().map(|w| normalize_word(w)).collect(),
            approval_words: approval_words.iter().map(|w| normalize_word(w)).collect(),
            assent_words: assent_words.iter().map(|w| normalize_word(w)).collect(),
            rejection_words: rejection_words.iter().map(|w| normalize_word(w)).collect(),
            max_age: (max_age_days > 0).then(|| duration_secs(max_age_days * 86_400)),
            max_replies_per_hour: (max_replies > 0).then_some(max_replies as u32),
        },
        notify,
        state: StateConfig {
            retention: (retention_days > 0).then(|| duration_secs(retention_days * 86_400)),
            path: state_path?,
            key_file: key_file?,
            key: state_key,
        },
        metrics: MetricsConfig {
            listen: metrics_listen,
        },
        alerts: AlertsConfig {
            to: alerts_to
                .iter()
                .map(|a| a.trim().to_ascii_lowercase())
                .collect(),
        },
        web: WebConfig {
            listen: web_listen,
            public_url: public_url.map(|u| u.trim().trim_end_matches('/').to_string()),
            link_ttl: Duration::from_secs(link_ttl as u64 * 60),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const MINIMAL: &str = r#"
[imap]
host = "127.0.0.1"
username = "bridge@example.test"
password = "pw"
[smtp]
host = "127.0.0.1"
from = "Approvals <bridge@example.test>"
[graph]
tenant_id = "t"
client_id = "c"
client_secret = "s3cret-value"
[approvers]
allowed = ["alice@example.test", "@Example.org"]
trusted_authserv_id = "mx.example.test"
"#;

    pub(super) fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        Config::from_parts(
            Path::new("test.toml"),
            text,
            Path::new("/etc/rb"),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    fn errors(text: &str, env: &[(&str, &str)]) -> Vec<String> {
        load(text, env).expect_err("config should be refused").0
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = load(MINIMAL, &[]).unwrap();
        assert_eq!(c.imap.port, 993);
        assert_eq!(c.imap.tls, TlsMode::Implicit);
        assert_eq!(c.smtp.port, 587);
        assert_eq!(c.smtp.from_address, "bridge@example.test");
        assert_eq!(c.graph.scope, "https://graph.microsoft.com/.default");
        assert_eq!(c.graph.retry_max, Duration::from_secs(600));
        assert_eq!(
            c.state.path,
            PathBuf::from("/etc/rb/state/reject-bridge.db")
        );
        assert!(c.approvers.allows("ALICE@example.test"));
        assert!(c.approvers.allows("bob@example.org"));
        assert!(!c.approvers.allows("bob@sub.example.org"));
        assert!(!c.approvers.allows("bob@example.test"));
        assert_eq!(c.approvers.approval_words.len(), 21);
        assert_eq!(c.approvers.assent_words.len(), 32);
        assert_eq!(c.approvers.rejection_words.len(), 43);
        assert_eq!(c.approvers.max_age, Some(Duration::from_secs(14 * 86_400)));
        assert_eq!(c.approvers.max_replies_per_hour, Some(20));
        assert_eq!(c.imap.poison_attempts, 3);
        assert_eq!(c.state.retention, Some(Duration::from_secs(400 * 86_400)));
    }

    #[test]
    fn missing_required_keys_are_all_named() {
        let errs = errors("[imap]\nport = 993\n", &[]);
        for key in [
            "imap.host",
            "imap.username",
            "smtp.host",
            "smtp.from",
            "graph.tenant_id",
            "graph.client_id",
            "graph.client_secret",
            "approvers.allowed",
            "approvers.trusted_authserv_id",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(key)),
                "no error names {key}: {errs:?}"
            );
        }
    }

    #[test]
    fn unknown_keys_and_sections_are_refused() {
        let text = format!("{MINIMAL}\n[extra]\na = 1\n");
        let text = text.replace("[smtp]\n", "[smtp]\nhots = \"x\"\n");
        let errs = errors(&text, &[]);
        assert!(errs.iter().any(|e| e.starts_with("extra: unknown section")));
        assert!(errs.iter().any(|e| e.starts_with("smtp.hots: unknown key")));
    }

    #[test]
    fn bad_values_name_their_keys() {
        let text = MINIMAL
            .replace(
                "password = \"pw\"",
                "password = \"pw\"\nport = 0\ntls = \"ssl\"",
            )
            .replace(
                "tenant_id = \"t\"",
                "tenant_id = \"t\"\nrequest_id_pattern = \"([\"",
            );
        let errs = errors(&text, &[]);
        assert!(errs.iter().any(|e| e.starts_with("imap.port:")), "{errs:?}");
        assert!(errs.iter().any(|e| e.starts_with("imap.tls:")), "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e.starts_with("graph.request_id_pattern:")),
            "{errs:?}"
        );
    }

    #[test]
    fn tls_none_only_on_loopback() {
        let text = MINIMAL.replace(
            "host = \"127.0.0.1\"\nusername",
            "host = \"imap.example.test\"\ntls = \"none\"\nusername",
        );
        let errs = errors(&text, &[]);
        assert!(errs.iter().any(|e| e.starts_with("imap.tls:")), "{errs:?}");
        let ok = MINIMAL.replace("username = \"bridge", "tls = \"none\"\nusername = \"bridge");
        assert_eq!(load(&ok, &[]).unwrap().imap.tls, TlsMode::None);
    }

    #[test]
    fn environment_overrides_apply_with_types() {
        let c = load(
            MINIMAL,
            &[
                ("REJECT_BRIDGE__IMAP__PORT", "1143"),
                ("REJECT_BRIDGE__IMAP__IDLE", "false"),
                ("REJECT_BRIDGE__APPROVERS__ALLOWED", "[\"@example.net\"]"),
                ("REJECT_BRIDGE__GRAPH__CLIENT_SECRET", "from-env"),
                ("UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c.imap.port, 1143);
        assert!(!c.imap.idle);
        assert!(c.approvers.allows("x@example.net"));
        assert!(!c.approvers.allows("alice@example.test"));
        match c.graph.credential {
            Some(GraphCredential::ClientSecret(s)) => assert_eq!(s.expose(), "from-env"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_environment_overrides_are_named() {
        let errs = errors(
            MINIMAL,
            &[
                ("REJECT_BRIDGE__IMAP__PORTS", "1"),
                ("REJECT_BRIDGE__IMAP__PORT", "abc"),
                ("REJECT_BRIDGE__APPROVERS__ALLOWED", "@x"),
                ("REJECT_BRIDGE__NOPE", "1"),
            ],
        );
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e.starts_with("REJECT_BRIDGE__IMAP__PORTS:"))
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("REJECT_BRIDGE__IMAP__PORT:"))
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("REJECT_BRIDGE__APPROVERS__ALLOWED:"))
        );
        assert!(errs.iter().any(|e| e.starts_with("REJECT_BRIDGE__NOPE:")));
    }

    #[test]
    fn secrets_never_appear_in_errors_or_debug() {
        let text = MINIMAL.replace("port", "x");
        let c = load(&text, &[]).unwrap();
        assert!(!format!("{c:?}").contains("s3cret-value"));
        let bad = MINIMAL.replace(
            "client_secret = \"s3cret-value\"",
            "client_secret = \"s3cret-value\"\ncertificate_path = \"/nonexistent\"",
        );
        let errs = errors(&bad, &[]);
        assert!(!errs.iter().any(|e| e.contains("s3cret-value")));
    }

    #[test]
    fn credentials_are_exclusive_and_complete() {
        let none = MINIMAL.replace("client_secret = \"s3cret-value\"\n", "");
        assert!(
            errors(&none, &[])
                .iter()
                .any(|e| e.starts_with("graph.client_secret:"))
        );
        let delegated = none.replace(
            "client_id = \"c\"",
            "client_id = \"c\"\nauth = \"delegated\"",
        );
        let c = load(&delegated, &[]).unwrap();
        assert_eq!(c.graph.auth, GraphAuth::Delegated);
        assert!(c.graph.credential.is_none(), "a public client");
        // A confidential client signs in with its secret.
        let confidential = MINIMAL.replace(
            "client_id = \"c\"",
            "client_id = \"c\"\nauth = \"delegated\"",
        );
        let c = load(&confidential, &[]).unwrap();
        assert_eq!(c.graph.auth, GraphAuth::Delegated);
        assert!(matches!(
            c.graph.credential,
            Some(GraphCredential::ClientSecret(_))
        ));
    }

    #[test]
    fn xoauth2_needs_an_app_credential_even_when_decisions_are_delegated() {
        let text = MINIMAL
            .replace("client_secret = \"s3cret-value\"\n", "")
            .replace(
                "client_id = \"c\"",
                "client_id = \"c\"\nauth = \"delegated\"",
            )
            .replace("[smtp]", "auth = \"xoauth2\"\n[smtp]");
        let errs = errors(&text, &[]);
        assert!(errs.iter().any(|e| e.starts_with("imap.auth:")), "{errs:?}");
    }

    #[test]
    fn delegated_keys_have_defaults_and_are_checked() {
        let c = load(MINIMAL, &[]).unwrap();
        assert_eq!(
            c.graph.delegated_scopes,
            vec!["https://graph.microsoft.com/DeviceManagementConfiguration.ReadWrite.All"]
        );
        assert_eq!(c.graph.keepalive, Duration::from_secs(24 * 3600));
        assert_eq!(c.graph.act_as, ActAs::ServiceAccount);
        assert_eq!(
            c.state.key_file,
            c.state.path.with_file_name("reject-bridge.key")
        );
        assert!(c.alerts.to.is_empty());
        let us = MINIMAL.replace(
            "client_id = \"c\"",
            "client_id = \"c\"\nbase_url = \"https://graph.microsoft.us/beta\"\ndelegated_scopes = [\"A.Read\", \"https://x.test/B\"]",
        );
        assert_eq!(
            load(&us, &[]).unwrap().graph.delegated_scopes,
            vec!["https://graph.microsoft.us/A.Read", "https://x.test/B"]
        );
        let bad = format!(
            "{}[alerts]\nto = [\"nobody\"]\n[web]\nlisten = \"x\"\n",
            MINIMAL.replace(
                "client_id = \"c\"",
                "client_id = \"c\"\nkeepalive_hours = 0\nact_as = \"approver\"\ndelegated_scopes = []"
            )
        );
        let errs = errors(&bad, &[("REJECT_BRIDGE__STATE__KEY", "short")]);
        for key in [
            "graph.keepalive_hours:",
            "graph.act_as:",
            "graph.delegated_scopes:",
            "alerts.to:",
            "web.listen:",
            "web.public_url:",
            "state.key:",
        ] {
            assert!(errs.iter().any(|e| e.starts_with(key)), "{key} in {errs:?}");
        }
        assert!(
            !errs.iter().any(|e| e.contains("short")),
            "the key's value is never shown"
        );
    }

    #[test]
    fn metrics_listen_is_off_by_default_and_must_be_a_socket_address() {
        assert_eq!(load(MINIMAL, &[]).unwrap().metrics.listen, None);
        let on = format!("{MINIMAL}[metrics]\nlisten = \"127.0.0.1:9464\"\n");
        assert_eq!(
            load(&on, &[]).unwrap().metrics.listen,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let off = format!("{MINIMAL}[metrics]\nlisten = \"\"\n");
        assert_eq!(load(&off, &[]).unwrap().metrics.listen, None);
        let env = load(MINIMAL, &[("REJECT_BRIDGE__METRICS__LISTEN", "[::1]:9000")]).unwrap();
        assert_eq!(env.metrics.listen, Some("[::1]:9000".parse().unwrap()));
        for bad in ["localhost:9464", "9464", "127.0.0.1", "127.0.0.1:99999"] {
            let text = format!("{MINIMAL}[metrics]\nlisten = \"{bad}\"\n");
            let errs = errors(&text, &[]);
            assert!(
                errs.iter().any(|e| e.starts_with("metrics.listen:")),
                "{bad}: {errs:?}"
            );
        }
    }

    #[test]
    fn graph_over_plain_http_only_on_loopback() {
        for (key, url) in [
            ("base_url", "http://graph.example.test/beta"),
            ("authority", "http://login.example.test"),
        ] {
            let text = MINIMAL.replace(
                "tenant_id = \"t\"",
                &format!("tenant_id = \"t\"\n{key} = \"{url}\""),
            );
            let errs = errors(&text, &[]);
            assert!(
                errs.iter()
                    .any(|e| e.starts_with(&format!("graph.{key}:")) && e.contains("loopback")),
                "{errs:?}"
            );
        }
        let local = MINIMAL.replace(
            "tenant_id = \"t\"",
            "tenant_id = \"t\"\nbase_url = \"http://127.0.0.1:8080/beta\"\nauthority = \"http://[::1]:8080\"",
        );
        assert_eq!(
            load(&local, &[]).unwrap().graph.base_url,
            "http://127.0.0.1:8080/beta"
        );
    }

    #[test]
    fn hostile_mail_keys_have_defaults_ranges_and_an_off_switch() {
        let text = MINIMAL
            .replace(
                "password = \"pw\"",
                "password = \"pw\"\npoison_attempts = 0\nread_memory_mib = 1",
            )
            .replace(
                "[approvers]\n",
                "[approvers]\nmax_age_days = -1\nrejection_words = [\"\"]\n",
            );
        let errs = errors(&text, &[]);
        for key in [
            "imap.poison_attempts",
            "imap.read_memory_mib",
            "approvers.max_age_days",
            "approvers.rejection_words",
        ] {
            assert!(errs.iter().any(|e| e.starts_with(key)), "{key}: {errs:?}");
        }
        let off = MINIMAL.replace(
            "[approvers]\n",
            "[approvers]\nmax_age_days = 0\nmax_replies_per_hour = 0\nassent_words = [\"Jo\"]\n",
        ) + "[state]\nretention_days = 0\n";
        let c = load(&off, &[]).unwrap();
        assert_eq!(c.approvers.max_age, None);
        assert_eq!(c.approvers.max_replies_per_hour, None);
        assert_eq!(c.approvers.assent_words, vec!["jo".to_string()]);
        assert_eq!(c.state.retention, None);
        assert_eq!(c.imap.read_budget.memory, 512 * 1024 * 1024);
    }

    #[test]
    fn the_example_config_documents_the_hostile_mail_keys_and_loads() {
        let text = include_str!("../../config/example.toml");
        let c = load(text, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.imap.poison_attempts, 3);
        assert_eq!(c.approvers.rejection_words.len(), 43);
        for key in [
            "poison_attempts",
            "read_cpu_secs",
            "read_memory_mib",
            "max_age_days",
            "max_replies_per_hour",
            "assent_words",
            "rejection_words",
            "retention_days",
        ] {
            assert!(
                text.contains(&format!("\n{key} = ")),
                "{key} is not in config/example.toml"
            );
        }
    }

    #[test]
    fn addresses_fold_case_in_ascii_only() {
        let text = MINIMAL.replace("\"@Example.org\"", "\"@KONTOSO.test\"");
        let c = load(&text, &[]).unwrap();
        assert!(c.approvers.allows("bob@kontoso.TEST"));
        // U+212A KELVIN SIGN lower-cases to `k` in Unicode, never here.
        assert!(!c.approvers.allows("bob@\u{212A}ontoso.test"));
    }

    #[test]
    fn toml_syntax_error_gives_a_line() {
        let errs = errors("[imap]\nhost = \n", &[]);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].contains("line 2"), "{errs:?}");
    }

    #[test]
    fn trusted_authserv_id_needed_only_when_used() {
        let text = MINIMAL.replace("trusted_authserv_id = \"mx.example.test\"\n", "");
        assert!(
            errors(&text, &[])
                .iter()
                .any(|e| e.starts_with("approvers.trusted_authserv_id"))
        );
        let eo = text.replace(
            "[approvers]\n",
            "[approvers]\nauthentication = \"exchange-online\"\n",
        );
        assert!(load(&eo, &[]).is_ok());
        let off = text.replace(
            "[approvers]\n",
            "[approvers]\nrequire_authentication = false\n",
        );
        assert!(load(&off, &[]).is_ok());
    }
}
