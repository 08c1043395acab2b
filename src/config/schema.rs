//! The schema: every key the file and the environment may set, with the type its value must have
//! ([`KEYS`]), and the check that refuses unknown sections and keys in the file.

use toml::Table;

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

pub(super) fn kind_of(section: &str, key: &str) -> Option<Kind> {
    KEYS.iter()
        .find(|(s, k, _)| *s == section && *k == key)
        .map(|(_, _, kind)| *kind)
}

fn is_section(section: &str) -> bool {
    KEYS.iter().any(|(s, _, _)| *s == section)
}

/// Records an error for each section of `table` that is not in [`KEYS`], is not a table, or holds
/// a key [`KEYS`] does not list.
pub(super) fn check_unknown(table: &Table, errors: &mut Vec<String>) {
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
