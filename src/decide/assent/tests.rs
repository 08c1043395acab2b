//! Tests of rule 8's assent reading: approval and assent words, greetings, emoji, negations, scripts without spaces.

use super::*;
use crate::config::{
    Allowed, AuthMode, DEFAULT_APPROVAL_WORDS, DEFAULT_ASSENT_WORDS, DEFAULT_GREETING_WORDS,
    DEFAULT_REJECTION_WORDS,
};

fn words() -> ApproversConfig {
    let list = |l: &[&str]| l.iter().map(|s| s.nfc().collect::<String>()).collect();
    ApproversConfig {
        allowed: vec![Allowed::Domain("example.test".into())],
        require_authentication: false,
        authentication: AuthMode::AuthservId,
        trusted_authserv_id: String::new(),
        require_notification_reference: false,
        greeting_words: list(DEFAULT_GREETING_WORDS),
        approval_words: list(DEFAULT_APPROVAL_WORDS),
        assent_words: list(DEFAULT_ASSENT_WORDS),
        rejection_words: list(DEFAULT_REJECTION_WORDS),
        max_age: None,
        max_replies_per_hour: None,
    }
}

fn assent(text: &str) -> bool {
    reads_as_assent(text, &words()).is_some()
}

#[test]
fn the_spec_examples() {
    for yes in [
        "Yes",
        "OK, go ahead.",
        "LGTM",
        "👍",
        "I approve.",
        "Please approve this.",
        "Sure, approved",
        "Ja, genehmigt",
        "Hello,approved",
    ] {
        assert!(assent(yes), "{yes:?} should read as assent");
    }
    for no in [
        "I do not approve",
        "Yes, reject it",
        "No.",
        "The laptop is fine now, it was found",
    ] {
        assert!(!assent(no), "{no:?} should not read as assent");
    }
}

#[test]
fn assent_phrases_hide_their_negations() {
    assert!(assent("OK, no problem"));
    assert!(assent("No problem."));
    assert!(assent("Pas de problème !"));
    assert!(assent("Kein Problem, freigegeben"));
    assert!(!assent("OK, no."));
}

#[test]
fn greeting_lines_emoji_and_punctuation() {
    assert!(assent("Hi team,\n\nApproved."));
    assert!(assent("Hallo Bob,\ngenehmige"));
    assert!(assent("Hi Bob, approved."));
    assert!(assent("✔️ sure"));
    assert!(assent("👍🏽 Thanks"));
    assert!(assent("Hi,\n👍"));
    assert!(!assent("Hi,"));
    assert!(!assent("Hi Bob, not approved."));
    assert!(!assent("👎 nope"));
    // A greeting sentence on the same line: the next sentence is read too.
    assert!(assent("Hello! Approve"));
    assert!(!assent("Hello! Not this one."));
    // In doubt: a thumbs-up in the lead is assent whatever follows, but a rejection word.
    assert!(assent("👍👎"));
    assert!(!assent("👍 reject it"));
    // A greeting line has at most eight words.
    assert!(assent(
        "Good morning to the whole team of approvers,\nApproved."
    ));
    assert!(!assent(
        "Good morning to the whole team of approvers here,\nApproved."
    ));
    // A long first line is not a greeting: its sentence is read.
    assert!(assent(
        "Hi there, this is a long first line with approve\nok"
    ));
}

#[test]
fn words_in_scripts_without_spaces() {
    assert!(assent("承認します。"));
    assert!(assent("同意"));
    assert!(!assent("承認できません"));
    assert!(!assent("不同意"));
    assert!(!assent("拒绝"));
}

#[test]
fn tokens() {
    assert_eq!(tokenize("D’accord, +1!"), vec!["d'accord", "+1"]);
    assert_eq!(
        tokenize("go-ahead 'approve'"),
        vec!["go", "ahead", "approve"]
    );
    assert_eq!(tokenize("c++ ..."), vec!["c"]);
}
