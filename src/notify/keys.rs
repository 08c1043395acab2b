//! Reply keys (SPEC §7): one random key per (request, recipient), carried three ways so that a
//! reply finds its notification whatever the approver's mail client keeps: the `Reply-To`
//! plus-address (`bridge+KEY@example.test`, as GitLab and Discourse do it), the Message-IDs
//! (`notify.KEY@domain`, so `In-Reply-To`/`References` carry it) and a short footer reference
//! (`rb-KEY`) that survives in quoted text.
//!
//! Making keys and finding the references a reply carries is pure; the journal resolves them
//! ([`crate::journal::Journal::notification_named`]) in [`notification_in`].

use std::sync::LazyLock;

use rand::Rng;
use regex::Regex;

use crate::config::Config;
use crate::journal::{Journal, Reference};
use crate::model::Notified;
use crate::read::incoming::Incoming;

/// Key length in characters: 16 of base32 are 80 random bits, far beyond guessing, and short
/// enough for an address's local part (64 characters at most, RFC 5321).
pub const KEY_LEN: usize = 16;

/// Lower-case RFC 4648 base32: no characters that case-folding mail systems could change, none
/// that need quoting in an address, no `0`/`1` to confuse with `o`/`l` when read aloud.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A fresh random reply key.
pub fn new_key() -> String {
    let mut rng = rand::rng();
    (0..KEY_LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// `base` (`local@domain`) with `+key` added to its local part.
pub fn plus_address(base: &str, key: &str) -> String {
    match base.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{key}@{domain}"),
        None => base.to_string(),
    }
}

/// The footer reference of `key`, as the mails print it.
pub fn footer_reference(key: &str) -> String {
    format!("rb-{key}")
}

static FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)rb-([a-z2-7]{16})(?-u:\b)").expect("a valid constant regex")
});

static MESSAGE_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^<?(?:notify|followup|reminder)\.([a-z2-7]{16})@").expect("a valid regex")
});

static PLUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\+([a-z2-7]{16})@").expect("a valid constant regex"));

/// Everything in `reply` that may name a notification, most reliable first, each once:
/// `In-Reply-To`, then `References` from the newest, as Message-IDs (and the key inside one of
/// ours); the plus-address keys of `To`, `Cc`, `Delivered-To`, `X-Original-To`; then footer
/// references in the quoted text and, for clients that quote without markers, the new text.
pub fn references(reply: &Incoming) -> Vec<Reference> {
    let mut out: Vec<Reference> = Vec::new();
    let mut push = |r: Reference| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    for id in reply
        .in_reply_to
        .iter()
        .chain(reply.references.iter().rev())
    {
        push(Reference::MessageId(id.clone()));
        if let Some(c) = MESSAGE_ID.captures(id) {
            push(Reference::Key(c[1].to_lowercase()));
        }
    }
    for address in &reply.recipients {
        if let Some(c) = PLUS.captures(address) {
            push(Reference::Key(c[1].to_lowercase()));
        }
    }
    for text in [&reply.rest, &reply.new_text] {
        for c in FOOTER.captures_iter(text) {
            push(Reference::Key(c[1].to_lowercase()));
        }
    }
    out
}

/// The notification (SPEC §7) a reply answers, from the journal at `state.path` when it exists.
/// `parse` opens the journal read-only and never creates it; a journal that cannot be read means
/// "no notification known".
pub fn lookup_notification(config: &Config, reply: &Incoming) -> Option<Notified> {
    if !config.state.path.exists() {
        return None;
    }
    let journal = Journal::open_read_only(&config.state.path).ok()?;
    notification_in(&journal, reply)
}

/// The notification a reply answers: named by a reply key or a Message-ID it carries (see
/// [`references`] for where and in which order), preferring one that was sent to the reply's
/// sender.
pub fn notification_in(journal: &Journal, reply: &Incoming) -> Option<Notified> {
    let refs = references(reply);
    if refs.is_empty() {
        return None;
    }
    let sender = reply.from.as_ref().map(|f| f.address.as_str());
    let n = journal.notification_named(&refs, sender).ok()??;
    Some(Notified {
        request_id: n.request_id.to_lowercase(),
        recipient: n.recipient.to_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_in_the_alphabet() {
        let a = new_key();
        let b = new_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
    }

    #[test]
    fn plus_addresses() {
        assert_eq!(
            plus_address("bridge@example.test", "abc"),
            "bridge+abc@example.test"
        );
        assert_eq!(plus_address("odd", "abc"), "odd");
    }

    #[test]
    fn references_in_order_of_trust() {
        let k1 = "aaaaaaaaaaaaaaaa";
        let k2 = "bbbbbbbbbbbbbbb2";
        let k3 = "ccccccccccccccc3";
        let k4 = "ddddddddddddddd4";
        let reply = Incoming {
            in_reply_to: vec![format!("notify.{k1}@bridge.test")],
            references: vec!["old@x.test".into(), format!("notify.{k1}@bridge.test")],
            recipients: vec![
                format!("bridge+{}@example.test", k2.to_uppercase()),
                "bridge+short@example.test".into(),
            ],
            rest: format!("> Reply reference: RB-{k3}\n> rb-{k3}\n> xrb-{k4}z"),
            new_text: format!("see rb-{k4}."),
            ..Incoming::default()
        };
        assert_eq!(
            references(&reply),
            vec![
                Reference::MessageId(format!("notify.{k1}@bridge.test")),
                Reference::Key(k1.into()),
                Reference::MessageId("old@x.test".into()),
                Reference::Key(k2.into()),
                Reference::Key(k3.into()),
                Reference::Key(k4.into()),
            ]
        );
        assert!(references(&Incoming::default()).is_empty());
    }

    #[test]
    fn footer_references_are_found_where_they_are_printed() {
        let key = new_key();
        let reply = Incoming {
            rest: format!("> Reference: {}\n", footer_reference(&key)),
            ..Incoming::default()
        };
        assert_eq!(references(&reply), vec![Reference::Key(key)]);
    }
}
