//! `[approvers]` (SPEC §3 and §6): who may answer (`allowed`: addresses and `@domain`s), how
//! their mail must be authenticated, and the words their replies are read by (defaults in
//! `words.rs`), with the limits on old mail and on replies per hour. Validated here into
//! [`ApproversConfig`]; the decision itself is [`crate::decide`].

use std::time::Duration;

use unicode_normalization::UnicodeNormalization;

use super::fields::Fields;
use super::values::{duration_secs, plausible_address};
use super::words::{
    DEFAULT_APPROVAL_WORDS, DEFAULT_ASSENT_WORDS, DEFAULT_GREETING_WORDS, DEFAULT_REJECTION_WORDS,
};

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
pub(super) fn allowed_by(allowed: &[Allowed], address: &str) -> bool {
    // ASCII only: a Unicode fold would let `\u{212A}` (KELVIN SIGN) stand for `k`.
    let address = address.to_ascii_lowercase();
    let domain = address.rsplit_once('@').map(|(_, d)| d);
    allowed.iter().any(|entry| match entry {
        Allowed::Address(a) => *a == address,
        Allowed::Domain(d) => domain == Some(d.as_str()),
    })
}

/// A word as replies are compared with it: trimmed, NFC, lower-cased.
fn normalize_word(w: &str) -> String {
    w.trim().nfc().collect::<String>().to_lowercase()
}

/// Reads and checks `[approvers]`.
pub(super) fn build(f: &mut Fields<'_>) -> ApproversConfig {
    let allowed = allowed(f);
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
    let [
        greeting_words,
        approval_words,
        assent_words,
        rejection_words,
    ] = words(f);
    let max_age_days = f.int("approvers", "max_age_days", 14, 0, 3650);
    let max_replies = f.int("approvers", "max_replies_per_hour", 20, 0, 100_000);
    ApproversConfig {
        allowed,
        require_authentication,
        authentication,
        trusted_authserv_id: trusted,
        require_notification_reference,
        greeting_words,
        approval_words,
        assent_words,
        rejection_words,
        max_age: (max_age_days > 0).then(|| duration_secs(max_age_days * 86_400)),
        max_replies_per_hour: (max_replies > 0).then_some(max_replies as u32),
    }
}

/// `approvers.allowed`: required, not empty, each entry an address or `@domain` (lower-cased).
fn allowed(f: &mut Fields<'_>) -> Vec<Allowed> {
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
    allowed
}

/// The greeting, approval, assent and rejection words (each list its default when not set),
/// none empty; NFC and lower-cased.
fn words(f: &mut Fields<'_>) -> [Vec<String>; 4] {
    let lists = [
        ("greeting_words", DEFAULT_GREETING_WORDS),
        ("approval_words", DEFAULT_APPROVAL_WORDS),
        ("assent_words", DEFAULT_ASSENT_WORDS),
        ("rejection_words", DEFAULT_REJECTION_WORDS),
    ]
    .map(|(key, defaults)| {
        let words = f
            .list("approvers", key)
            .unwrap_or_else(|| defaults.iter().map(|s| s.to_string()).collect());
        (key, words)
    });
    for (key, words) in &lists {
        if words.iter().any(|w| w.trim().is_empty()) {
            f.err("approvers", key, "must not hold empty words");
        }
    }
    lists.map(|(_, words)| words.iter().map(|w| normalize_word(w)).collect())
}
