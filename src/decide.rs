//! [`Reply`] + policy → [`Decision`]: the rules of SPEC §3, in order, the first that applies wins.
//!
//! Pure: no I/O. The one fact that needs the journal (which notification, if any, the reply
//! answers) is looked up by the caller and passed in as [`Notified`]. `reject-bridge parse` is
//! this function and nothing more, so what it prints is exactly what the service would do.

use std::fmt;

use regex::Regex;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use crate::authres::{self, AuthEvidence};
use crate::config::{ApproversConfig, Config};
use crate::justification;
use crate::message::Reply;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Reject,
    Refuse,
    Ignore,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reject => "reject",
            Verdict::Refuse => "refuse",
            Verdict::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        [Verdict::Reject, Verdict::Refuse, Verdict::Ignore]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The `reason` codes of SPEC §3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Malformed,
    OwnMessage,
    AutoSubmitted,
    Unauthenticated,
    SenderNotAllowed,
    UnknownNotification,
    NoRequestId,
    AmbiguousRequestId,
    LooksLikeApproval,
    Ok,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::OwnMessage => "own_message",
            Reason::AutoSubmitted => "auto_submitted",
            Reason::Unauthenticated => "unauthenticated",
            Reason::SenderNotAllowed => "sender_not_allowed",
            Reason::UnknownNotification => "unknown_notification",
            Reason::NoRequestId => "no_request_id",
            Reason::AmbiguousRequestId => "ambiguous_request_id",
            Reason::LooksLikeApproval => "looks_like_approval",
            Reason::Ok => "ok",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A notification the bridge sent that the reply names in `In-Reply-To`/`References` (SPEC §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notified {
    /// Lower-cased.
    pub request_id: String,
    /// Lower-cased: who the notification was sent to.
    pub recipient: String,
}

/// What the rules need besides the message: the `[approvers]` section, the bridge's own
/// addresses, the request ID pattern and the justification template.
#[derive(Clone, Debug)]
pub struct Policy {
    pub approvers: ApproversConfig,
    /// Lower-cased: `smtp.from` and `imap.username`.
    pub own_addresses: Vec<String>,
    pub request_id_pattern: Regex,
    pub justification_template: String,
}

impl Policy {
    pub fn from_config(config: &Config) -> Policy {
        Policy {
            approvers: config.approvers.clone(),
            own_addresses: vec![
                config.smtp.from_address.clone(),
                config.imap.username.to_lowercase(),
            ],
            request_id_pattern: config.graph.request_id_pattern.clone(),
            justification_template: config.graph.justification_template.clone(),
        }
    }
}

/// Where the request ID was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdSource {
    Notification,
    Subject,
    NewText,
    QuotedText,
}

/// The decision on one message (SPEC §2 `parse --json` fields and more).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub decision: Verdict,
    pub reason: Reason,
    pub request_id: Option<String>,
    pub approver: Option<String>,
    pub justification: Option<String>,
    pub graph_justification: Option<String>,
    pub message_id: Option<String>,
    /// The justification had to be cut to fit Graph's limit.
    pub truncated: bool,
    pub id_source: Option<IdSource>,
    /// Every distinct ID in the place that decided (more than one when ambiguous).
    pub ids_found: Vec<String>,
    /// One sentence: which rule decided and why.
    pub explanation: String,
}

/// Every distinct request ID in `text`, lower-cased, in order of appearance: the whole match, or the
/// group named `id` when the pattern has one.
pub fn find_ids(pattern: &Regex, text: &str) -> Vec<String> {
    let has_group = pattern.capture_names().any(|n| n == Some("id"));
    let mut out: Vec<String> = Vec::new();
    // Seen IDs in a set: a text holding tens of thousands of IDs stays linear.
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for caps in pattern.captures_iter(text) {
        let m = if has_group {
            caps.name("id")
        } else {
            caps.get(0)
        };
        if let Some(m) = m {
            let id = m.as_str().trim().to_lowercase();
            if !id.is_empty() && seen.insert(id.clone()) {
                out.push(id);
            }
        }
    }
    out
}

/// NFC first (a decomposed "á" ends in a combining mark, which is not alphanumeric), then
/// punctuation stripped at both ends, then lower case.
fn normalize(word: &str) -> String {
    let nfc: String = word.nfc().collect();
    nfc.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// Skips leading emoji, punctuation and symbols: the first word starts at the first letter or digit.
fn first_word(line: &str) -> Option<String> {
    let start = line.find(|c: char| c.is_alphanumeric())?;
    let word = line[start..].split_whitespace().next()?;
    let w = normalize(word);
    (!w.is_empty()).then_some(w)
}

/// SPEC §3 rule 8: is the first word of the new text (after an optional greeting line) an
/// approval word?
pub fn looks_like_approval(new_text: &str, approvers: &ApproversConfig) -> Option<String> {
    let mut lines = new_text
        .lines()
        .filter(|l| l.chars().any(|c| c.is_alphanumeric()));
    let first = lines.next()?;
    let first_words: Vec<&str> = first
        .split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_alphanumeric()))
        .collect();
    let is_greeting = first_words.len() <= 5
        && first_word(first).is_some_and(|w| approvers.greeting_words.contains(&w));
    let line = match (is_greeting, lines.next()) {
        (false, _) => first,
        (true, Some(next)) => next,
        // A greeting with nothing after it: "Hi Bob, approved." The words after the greeting's
        // first punctuation mark are the message; a lone greeting ("Hi,") has none.
        (true, None) => {
            let cut = first.find([',', '.', '!', ':', ';', '—', '–'])?;
            &first[cut..]
        }
    };
    let word = first_word(line)?;
    let matches =
        |a: &String| *a == word || (is_unspaced_script(a) && word.starts_with(a.as_str()));
    approvers.approval_words.iter().any(matches).then_some(word)
}

/// Words of Chinese and Japanese are not separated by spaces ("承認します。"), so a configured
/// approval word in those scripts matches the start of the first run of text.
fn is_unspaced_script(word: &str) -> bool {
    word.chars().any(|c| {
        matches!(c as u32,
            0x3040..=0x30FF      // Hiragana, Katakana
            | 0x3400..=0x4DBF    // CJK Extension A
            | 0x4E00..=0x9FFF    // CJK Unified Ideographs
            | 0xF900..=0xFAFF) // CJK Compatibility Ideographs
    })
}

/// Applies SPEC §3 to one message.
pub fn decide(reply: &Reply, notified: Option<&Notified>, policy: &Policy) -> Decision {
    let approver = reply.from.as_ref().map(|f| f.address.clone());
    let mut d = Decision {
        decision: Verdict::Ignore,
        reason: Reason::Malformed,
        request_id: None,
        approver: approver.clone(),
        justification: Some(reply.new_text.clone()),
        graph_justification: None,
        message_id: reply.message_id.clone(),
        truncated: false,
        id_source: None,
        ids_found: Vec::new(),
        explanation: String::new(),
    };

    // Rule 1.
    let (Some(from), None) = (&reply.from, &reply.malformed) else {
        d.approver = None;
        d.justification = None;
        d.explanation = format!(
            "rule 1: malformed message ({})",
            reply.malformed.as_deref().unwrap_or("no usable From")
        );
        return d;
    };

    // Request IDs are reported whatever the decision, so find them first.
    let pattern = &policy.request_id_pattern;
    let places: [(IdSource, Vec<String>); 3] = [
        (
            IdSource::Subject,
            find_ids(pattern, reply.subject.as_deref().unwrap_or("")),
        ),
        (IdSource::NewText, find_ids(pattern, &reply.new_text)),
        (IdSource::QuotedText, find_ids(pattern, &reply.rest)),
    ];
    if let Some(n) = notified {
        d.id_source = Some(IdSource::Notification);
        d.ids_found = vec![n.request_id.to_lowercase()];
    } else if let Some((source, ids)) = places.into_iter().find(|(_, ids)| !ids.is_empty()) {
        d.id_source = Some(source);
        d.ids_found = ids;
    }
    if d.ids_found.len() == 1 {
        d.request_id = d.ids_found.first().cloned();
    }

    let refuse = |mut d: Decision, reason: Reason, why: String| {
        d.decision = if reason == Reason::Ok {
            Verdict::Reject
        } else {
            Verdict::Refuse
        };
        d.reason = reason;
        d.explanation = why;
        d
    };
    let ignore = |mut d: Decision, reason: Reason, why: String| {
        d.decision = Verdict::Ignore;
        d.reason = reason;
        d.explanation = why;
        d
    };

    // Rule 2.
    if policy.own_addresses.contains(&from.address) {
        return ignore(
            d,
            Reason::OwnMessage,
            format!("rule 2: sent by the bridge's own address {}", from.address),
        );
    }
    // Rule 3.
    if let Some(marker) = &reply.auto_submitted {
        return ignore(
            d,
            Reason::AutoSubmitted,
            format!("rule 3: auto-generated ({marker})"),
        );
    }
    // Rule 4.
    let a = &policy.approvers;
    if a.require_authentication {
        let evidence = AuthEvidence {
            results_headers: reply.auth_results.iter().map(String::as_str).collect(),
            exchange_auth_as: reply.exchange_auth_as.iter().map(String::as_str).collect(),
        };
        let (ok, why) = authres::authenticated(
            &evidence,
            from.domain(),
            a.authentication,
            &a.trusted_authserv_id,
        );
        if !ok {
            return ignore(
                d,
                Reason::Unauthenticated,
                format!("rule 4: sender not authenticated: {why}"),
            );
        }
    }
    // Rule 5.
    if !a.allows(&from.address) {
        return ignore(
            d,
            Reason::SenderNotAllowed,
            format!("rule 5: {} is not in approvers.allowed", from.address),
        );
    }
    // Rule 5a.
    if a.require_notification_reference && notified.is_none_or(|n| n.recipient != from.address) {
        return refuse(
            d,
            Reason::UnknownNotification,
            "rule 5a: the reply answers no notification the bridge sent to this sender".into(),
        );
    }
    // Rules 6 and 7.
    match d.ids_found.len() {
        0 => {
            return refuse(
                d,
                Reason::NoRequestId,
                "rule 6: no request ID in the subject or the text".into(),
            );
        }
        1 => {}
        n => {
            let place = match d.id_source {
                Some(IdSource::Subject) => "the subject",
                Some(IdSource::NewText) => "the new text",
                _ => "the quoted text",
            };
            return refuse(
                d,
                Reason::AmbiguousRequestId,
                format!("rule 7: {n} different request IDs in {place}"),
            );
        }
    }
    // Rule 8.
    if let Some(word) = looks_like_approval(&reply.new_text, a) {
        return refuse(
            d,
            Reason::LooksLikeApproval,
            format!("rule 8: the reply starts with the approval word \"{word}\""),
        );
    }
    // Rule 9.
    match justification::render(
        &policy.justification_template,
        &reply.new_text,
        &from.address,
    ) {
        Ok(j) => {
            d.graph_justification = Some(j.text);
            d.truncated = j.truncated;
        }
        Err(e) => {
            // The template was checked at start; this cannot happen with a valid config.
            d.graph_justification = Some(format!("Rejected by {} via email", from.address));
            tracing::error!(error = %e, "justification template failed; using the plain form");
        }
    }
    let id = d.request_id.clone().unwrap_or_default();
    refuse(d, Reason::Ok, format!("rule 9: reject request {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        Allowed, AuthMode, DEFAULT_APPROVAL_WORDS, DEFAULT_GREETING_WORDS,
        DEFAULT_JUSTIFICATION_TEMPLATE, DEFAULT_REQUEST_ID_PATTERN,
    };
    use crate::message::Sender;

    const ID: &str = "0b5e6f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    const ID2: &str = "1b5e6f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";

    fn policy() -> Policy {
        Policy {
            approvers: ApproversConfig {
                allowed: vec![Allowed::Domain("example.test".into())],
                require_authentication: false,
                authentication: AuthMode::AuthservId,
                trusted_authserv_id: "mx.example.test".into(),
                require_notification_reference: false,
                greeting_words: DEFAULT_GREETING_WORDS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                approval_words: DEFAULT_APPROVAL_WORDS
                    .iter()
                    .map(|s| s.nfc().collect::<String>())
                    .collect(),
            },
            own_addresses: vec!["bridge@example.test".into()],
            request_id_pattern: Regex::new(DEFAULT_REQUEST_ID_PATTERN).unwrap(),
            justification_template: DEFAULT_JUSTIFICATION_TEMPLATE.into(),
        }
    }

    fn reply(subject: &str, text: &str) -> Reply {
        Reply {
            from: Some(Sender {
                address: "alice@example.test".into(),
                name: None,
            }),
            subject: Some(subject.into()),
            new_text: text.into(),
            message_id: Some("m@x".into()),
            ..Reply::default()
        }
    }

    #[test]
    fn plain_reject() {
        let d = decide(
            &reply(
                &format!("Re: Request {}", ID.to_uppercase()),
                "Not during the freeze.",
            ),
            None,
            &policy(),
        );
        assert_eq!((d.decision, d.reason), (Verdict::Reject, Reason::Ok));
        assert_eq!(d.request_id.as_deref(), Some(ID));
        assert_eq!(
            d.graph_justification.as_deref(),
            Some("Not during the freeze. (rejected by alice@example.test via email)")
        );
    }

    #[test]
    fn subject_wins_over_text_and_ambiguity_is_per_place() {
        let d = decide(
            &reply(&format!("Re: {ID}"), &format!("see also {ID2}")),
            None,
            &policy(),
        );
        assert_eq!(d.request_id.as_deref(), Some(ID));
        let d = decide(
            &reply("Re: two", &format!("{ID} and {ID2}")),
            None,
            &policy(),
        );
        assert_eq!(d.reason, Reason::AmbiguousRequestId);
        assert_eq!(d.request_id, None);
        let mut r = reply("Re: x", "no");
        r.rest = format!("> {ID}\n> {}", ID.to_uppercase());
        let d = decide(&r, None, &policy());
        assert_eq!(
            d.request_id.as_deref(),
            Some(ID),
            "same ID in two cases is one ID"
        );
    }

    #[test]
    fn notification_wins_outright() {
        let n = Notified {
            request_id: ID2.into(),
            recipient: "alice@example.test".into(),
        };
        let d = decide(&reply(&format!("{ID} {ID2}"), ""), Some(&n), &policy());
        assert_eq!(d.reason, Reason::Ok);
        assert_eq!(d.request_id.as_deref(), Some(ID2));
    }

    #[test]
    fn notification_reference_required() {
        let mut p = policy();
        p.approvers.require_notification_reference = true;
        let d = decide(&reply(ID, "no"), None, &p);
        assert_eq!(d.reason, Reason::UnknownNotification);
        let n = Notified {
            request_id: ID.into(),
            recipient: "bob@example.test".into(),
        };
        assert_eq!(
            decide(&reply(ID, "no"), Some(&n), &p).reason,
            Reason::UnknownNotification
        );
        let n = Notified {
            request_id: ID.into(),
            recipient: "alice@example.test".into(),
        };
        assert_eq!(decide(&reply(ID, "no"), Some(&n), &p).reason, Reason::Ok);
    }

    #[test]
    fn approval_words_with_greetings_emoji_and_case() {
        let p = policy();
        for text in [
            "Approved",
            "👍 APPROVED!",
            "Hi team,\n\nApproved.",
            "\"Approve\"",
            "Genehmigt.",
            "approuvé",
            "Hallo Bob,\ngenehmige",
            "Hi Bob, approved.",
            "Hello! Approve",
        ] {
            assert_eq!(
                decide(&reply(ID, text), None, &p).reason,
                Reason::LooksLikeApproval,
                "{text}"
            );
        }
        for text in [
            "Not approved",
            "Rejecting: approved by mistake",
            "Hi there, this is a long first line with approve\nok",
            "",
            "Please hold.",
            "Hi Bob, not approved.",
            "Hi,",
        ] {
            assert_ne!(
                decide(&reply(ID, text), None, &p).reason,
                Reason::LooksLikeApproval,
                "{text}"
            );
        }
        // Configured words in scripts without spaces match the start of the text.
        let mut cjk = policy();
        cjk.approvers.approval_words.push("承認".into());
        cjk.approvers.approval_words.push("批准".into());
        for text in ["承認します。", "批准", "👍 承認"] {
            assert_eq!(
                decide(&reply(ID, text), None, &cjk).reason,
                Reason::LooksLikeApproval,
                "{text}"
            );
        }
        assert_eq!(
            decide(&reply(ID, "承認できません"), None, &p).reason,
            Reason::Ok
        );
        // NFD input: a decomposed greeting and approval word still match.
        let nfd: String = "Olá Maria,\nAprovado".nfd().collect();
        assert_eq!(
            decide(&reply(ID, &nfd), None, &p).reason,
            Reason::LooksLikeApproval
        );
        let mut only_accented = policy();
        only_accented.approvers.approval_words = vec!["approuvé".into()];
        let nfd: String = "Approuvé.".nfd().collect();
        assert_eq!(
            decide(&reply(ID, &nfd), None, &only_accented).reason,
            Reason::LooksLikeApproval
        );
        // NFD input still matches.
        let nfd: String = "approuvé".nfd().collect();
        assert_eq!(
            decide(&reply(ID, &nfd), None, &p).reason,
            Reason::LooksLikeApproval
        );
    }

    #[test]
    fn rules_apply_in_order() {
        let p = policy();
        let mut r = reply(ID, "no");
        r.from = Some(Sender {
            address: "bridge@example.test".into(),
            name: None,
        });
        assert_eq!(decide(&r, None, &p).reason, Reason::OwnMessage);
        let mut r = reply(ID, "no");
        r.auto_submitted = Some("Auto-Submitted: auto-replied".into());
        assert_eq!(decide(&r, None, &p).reason, Reason::AutoSubmitted);
        let mut r = reply(ID, "no");
        r.from = Some(Sender {
            address: "x@sub.example.test".into(),
            name: None,
        });
        let d = decide(&r, None, &p);
        assert_eq!(
            (d.decision, d.reason),
            (Verdict::Ignore, Reason::SenderNotAllowed)
        );
        assert_eq!(
            d.request_id.as_deref(),
            Some(ID),
            "IDs are reported whatever the decision"
        );
        let mut strict = policy();
        strict.approvers.require_authentication = true;
        assert_eq!(
            decide(&reply(ID, "no"), None, &strict).reason,
            Reason::Unauthenticated
        );
        assert_eq!(
            decide(&reply("hello", "no"), None, &p).reason,
            Reason::NoRequestId
        );
        let mut r = reply(ID, "no");
        r.malformed = Some("x".into());
        let d = decide(&r, None, &p);
        assert_eq!(
            (d.reason, d.approver, d.justification),
            (Reason::Malformed, None, None)
        );
    }

    #[test]
    fn named_group_in_pattern() {
        let re = Regex::new(r"(?i)REQ-(?P<id>[0-9]+)").unwrap();
        assert_eq!(
            find_ids(&re, "see REQ-12 and req-12, REQ-7"),
            vec!["12", "7"]
        );
    }
}
