//! Tests of the decision rules (SPEC §3): each rule, their order, and where request IDs are found.

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
