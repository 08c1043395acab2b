//! [`Incoming`] + policy → [`Decision`]: the rules of SPEC §3, in order, the first that applies wins.
//!
//! Pure: no I/O. The one fact that needs the journal (which notification, if any, the reply
//! answers) is looked up by the caller and passed in as [`Notified`]. `reject-bridge parse` is
//! this function and nothing more, so what it prints is exactly what the service would do.

pub mod assent;
pub mod justification;

use regex::Regex;
use serde::Serialize;

use crate::config::{ApproversConfig, Config};
use crate::model::{Notified, Reason, Verdict};
use crate::read::authres::{self, AuthEvidence};
use crate::read::incoming::Incoming;

/// What the rules need besides the message: the `[approvers]` section, the bridge's own
/// addresses, the request ID pattern and the justification template.
#[derive(Clone, Debug)]
pub struct Policy {
    pub approvers: ApproversConfig,
    /// Lower-cased: `smtp.from` and `imap.username`.
    pub own_addresses: Vec<String>,
    /// The domain of the Message-IDs of the bridge's own replies (`reply.…@DOMAIN`, see
    /// [`crate::config::message_id_domain`]): a message answering one of them is automatic.
    pub own_reply_domain: String,
    pub request_id_pattern: Regex,
    pub justification_template: String,
}

impl Policy {
    pub fn from_config(config: &Config) -> Policy {
        Policy {
            approvers: config.approvers.clone(),
            own_addresses: vec![
                config.smtp.from_address.clone(),
                config.imap.username.to_ascii_lowercase(),
            ],
            own_reply_domain: crate::config::message_id_domain(&config.smtp.from),
            request_id_pattern: config.graph.request_id_pattern.clone(),
            justification_template: config.graph.justification_template.clone(),
        }
    }

    /// Whether `message_id` (without `<>`) is one the bridge gave one of its replies:
    /// `reply.` + 24 hex digits + `@` + its domain (see `journal::derive_reply_id`).
    pub fn is_own_reply_id(&self, message_id: &str) -> bool {
        let Some((local, domain)) = message_id.rsplit_once('@') else {
            return false;
        };
        domain.eq_ignore_ascii_case(&self.own_reply_domain)
            && local
                .strip_prefix("reply.")
                .is_some_and(|h| h.len() == 24 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    }
}

crate::model::names! {
    /// Where the request ID was found.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum IdSource {
        Notification = "notification",
        Subject = "subject",
        NewText = "new_text",
        QuotedText = "quoted_text",
    }
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

/// Applies SPEC §3 to one message, without rule 3a (no reading time given: `parse` without
/// `--at`).
pub fn decide(reply: &Incoming, notified: Option<&Notified>, policy: &Policy) -> Decision {
    decide_at(reply, notified, policy, None)
}

/// Applies SPEC §3 to one message read at `now` (seconds since 1970), rule 3a included.
pub fn decide_at(
    reply: &Incoming,
    notified: Option<&Notified>,
    policy: &Policy,
    now: Option<i64>,
) -> Decision {
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
    let answers_our_reply = reply
        .in_reply_to
        .iter()
        .find(|id| policy.is_own_reply_id(id));
    if let Some(marker) = &reply.auto_submitted {
        return ignore(
            d,
            Reason::AutoSubmitted,
            format!("rule 3: auto-generated ({marker})"),
        );
    }
    if let Some(id) = answers_our_reply {
        return ignore(
            d,
            Reason::AutoSubmitted,
            format!("rule 3: answers the bridge's own reply <{id}>"),
        );
    }
    let a = &policy.approvers;
    // Rule 3a.
    if let (Some(now), Some(date), Some(max_age)) = (now, reply.date, a.max_age)
        && now.saturating_sub(date) > max_age.as_secs() as i64
    {
        let days = now.saturating_sub(date) / 86_400;
        return ignore(
            d,
            Reason::Stale,
            format!(
                "rule 3a: dated {days} days before it was read (approvers.max_age_days = {})",
                max_age.as_secs() / 86_400
            ),
        );
    }
    // Rule 4.
    if a.require_authentication
        && let Some(anomaly) = &reply.header_anomaly
    {
        return ignore(
            d,
            Reason::Unauthenticated,
            format!("rule 4: sender not authenticated: the header block is ambiguous ({anomaly})"),
        );
    }
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
    // Rule 5b.
    if let Some(kind) = &reply.encrypted {
        return refuse(
            d,
            Reason::Encrypted,
            format!("rule 5b: the body is encrypted ({kind}) and cannot be read"),
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
    if let Some(word) = crate::decide::assent::reads_as_assent(&reply.new_text, a) {
        return refuse(
            d,
            Reason::LooksLikeApproval,
            format!("rule 8: the reply reads as assent (\"{word}\")"),
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
        Allowed, AuthMode, DEFAULT_APPROVAL_WORDS, DEFAULT_ASSENT_WORDS, DEFAULT_GREETING_WORDS,
        DEFAULT_JUSTIFICATION_TEMPLATE, DEFAULT_REJECTION_WORDS, DEFAULT_REQUEST_ID_PATTERN,
    };
    use crate::read::incoming::Author;
    use std::time::Duration;
    use unicode_normalization::UnicodeNormalization;

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
                assent_words: DEFAULT_ASSENT_WORDS
                    .iter()
                    .map(|s| s.nfc().collect())
                    .collect(),
                rejection_words: DEFAULT_REJECTION_WORDS
                    .iter()
                    .map(|s| s.nfc().collect())
                    .collect(),
                max_age: Some(Duration::from_secs(14 * 86_400)),
                max_replies_per_hour: Some(20),
            },
            own_addresses: vec!["bridge@example.test".into()],
            own_reply_domain: "example.test".into(),
            request_id_pattern: Regex::new(DEFAULT_REQUEST_ID_PATTERN).unwrap(),
            justification_template: DEFAULT_JUSTIFICATION_TEMPLATE.into(),
        }
    }

    fn reply(subject: &str, text: &str) -> Incoming {
        Incoming {
            from: Some(Author {
                address: "alice@example.test".into(),
                name: None,
            }),
            subject: Some(subject.into()),
            new_text: text.into(),
            message_id: Some("m@x".into()),
            ..Incoming::default()
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
            "Rejecting: not approved, by mistake",
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
        // Words in scripts without spaces are found inside the sentence.
        for text in ["承認します。", "批准", "👍 承認"] {
            assert_eq!(
                decide(&reply(ID, text), None, &p).reason,
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
    fn stale_mail_is_ignored_only_with_a_reading_time() {
        let p = policy();
        let mut r = reply(ID, "no");
        let now = 1_800_000_000;
        r.date = Some(now - 15 * 86_400);
        let d = decide_at(&r, None, &p, Some(now));
        assert_eq!((d.decision, d.reason), (Verdict::Ignore, Reason::Stale));
        assert_eq!(d.request_id.as_deref(), Some(ID));
        assert_eq!(
            decide(&r, None, &p).reason,
            Reason::Ok,
            "parse without --at"
        );
        r.date = Some(now - 13 * 86_400);
        assert_eq!(decide_at(&r, None, &p, Some(now)).reason, Reason::Ok);
        r.date = None;
        assert_eq!(
            decide_at(&r, None, &p, Some(now)).reason,
            Reason::Ok,
            "no Date: not stale"
        );
        r.date = Some(now + 86_400);
        assert_eq!(
            decide_at(&r, None, &p, Some(now)).reason,
            Reason::Ok,
            "the future is not stale"
        );
        let mut off = policy();
        off.approvers.max_age = None;
        r.date = Some(0);
        assert_eq!(decide_at(&r, None, &off, Some(now)).reason, Reason::Ok);
    }

    #[test]
    fn a_reply_to_our_own_reply_is_automatic() {
        let p = policy();
        let mut r = reply(ID, "no");
        r.in_reply_to = vec!["reply.0123456789abcdef01234567@example.test".into()];
        let d = decide(&r, None, &p);
        assert_eq!(d.reason, Reason::AutoSubmitted, "{}", d.explanation);
        for other in [
            "reply.0123456789abcdef01234567@other.test",
            "reply.0123@example.test",
            "notify.0123456789abcdef01234567@example.test",
            "CAB123@mail.example.test",
        ] {
            r.in_reply_to = vec![other.into()];
            assert_eq!(decide(&r, None, &p).reason, Reason::Ok, "{other}");
        }
    }

    #[test]
    fn an_ambiguous_header_block_authenticates_nobody() {
        let mut strict = policy();
        strict.approvers.require_authentication = true;
        strict.approvers.trusted_authserv_id = "mx.example.test".into();
        let mut r = reply(ID, "no");
        r.auth_results = vec!["mx.example.test; dmarc=pass header.from=example.test".to_string()];
        assert_eq!(decide(&r, None, &strict).reason, Reason::Ok);
        r.header_anomaly = Some("a bare CR in the header block".into());
        let d = decide(&r, None, &strict);
        assert_eq!(d.reason, Reason::Unauthenticated);
        assert!(d.explanation.contains("bare CR"), "{}", d.explanation);
    }

    #[test]
    fn rules_apply_in_order() {
        let p = policy();
        let mut r = reply(ID, "no");
        r.from = Some(Author {
            address: "bridge@example.test".into(),
            name: None,
        });
        assert_eq!(decide(&r, None, &p).reason, Reason::OwnMessage);
        let mut r = reply(ID, "no");
        r.auto_submitted = Some("Auto-Submitted: auto-replied".into());
        assert_eq!(decide(&r, None, &p).reason, Reason::AutoSubmitted);
        let mut r = reply(ID, "no");
        r.from = Some(Author {
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
    fn default_pattern_finds_guids_touching_cjk_text_but_not_inside_words() {
        let re = Regex::new(crate::config::DEFAULT_REQUEST_ID_PATTERN).unwrap();
        let id = "3f2a9c1e-7b4d-4e8a-9f01-2c3d4e5f6a7b";
        for text in [
            format!("申请{id}已拒绝"),
            format!("リクエスト{id}を却下します"),
            format!("요청{id}거부"),
            format!("طلب{id}مرفوض"),
            format!("(ID: {}).", id.to_uppercase()),
        ] {
            assert_eq!(find_ids(&re, &text), vec![id.to_string()], "{text}");
        }
        // ASCII letters or digits on either side: part of something longer, not a request ID.
        for text in [format!("x{id}"), format!("{id}0"), format!("_{id}")] {
            assert!(find_ids(&re, &text).is_empty(), "{text}");
        }
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
