//! Tests of `[notify]`: its defaults, every key read, the example config documenting each key,
//! and mistakes named by key.

use super::super::tests::{MINIMAL, load};
use super::*;

fn with(section: &str) -> String {
    format!("{MINIMAL}\n[notify]\n{section}\n")
}

fn errors(section: &str) -> Vec<String> {
    load(&with(section), &[]).expect_err("refused").0
}

#[test]
fn defaults_are_off_and_safe() {
    let c = load(MINIMAL, &[]).unwrap().notify;
    assert!(!c.enabled);
    assert_eq!(c.poll_interval, Duration::from_secs(60));
    assert_eq!(c.resolve, Resolve::Recipients);
    assert_eq!(c.directory_cache, Duration::from_secs(900));
    assert_eq!(c.reply_key, ReplyKeyMode::PlusAddress);
    assert!(c.followups);
    assert_eq!(c.remind_before, Duration::ZERO);
    assert_eq!(c.portal_url, DEFAULT_PORTAL_URL);
    assert_eq!(c.reply_to, "bridge@example.test", "smtp.from's address");
}

#[test]
fn every_key_is_read() {
    let c = load(
        &with(
            r#"enabled = true
poll_interval_secs = 5
resolve = "approver-groups"
directory_cache_secs = 0
reply_key = "references-only"
followups = false
remind_before_hours = 4
portal_url = "https://intune.microsoft.us/"
reply_to = "Approvals@Example.org""#,
        ),
        &[],
    )
    .unwrap()
    .notify;
    assert!(c.enabled);
    assert_eq!(c.poll_interval, Duration::from_secs(5));
    assert_eq!(c.resolve, Resolve::ApproverGroups);
    assert_eq!(c.directory_cache, Duration::ZERO);
    assert_eq!(c.reply_key, ReplyKeyMode::ReferencesOnly);
    assert!(!c.followups);
    assert_eq!(c.remind_before, Duration::from_secs(4 * 3600));
    assert_eq!(c.portal_url, "https://intune.microsoft.us/");
    assert_eq!(c.reply_to, "approvals@example.org");
    let env = load(
        &with("enabled = true"),
        &[(
            "REJECT_BRIDGE__NOTIFY__RECIPIENTS",
            r#"["Alice@Example.test"]"#,
        )],
    )
    .unwrap()
    .notify;
    assert_eq!(env.recipients, ["alice@example.test"]);
}

#[test]
fn the_example_config_documents_every_notify_key() {
    let example = include_str!("../../../config/example.toml");
    let section = example
        .split("\n[notify]\n")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("config/example.toml has a [notify] section");
    for (_, key, _) in super::super::KEYS.iter().filter(|(s, _, _)| *s == "notify") {
        assert!(
            section.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "config/example.toml [notify] lacks {key}"
        );
    }
}

#[test]
fn mistakes_name_their_keys() {
    let errs = errors("enabled = true");
    assert!(
        errs.iter()
            .any(|e| e.starts_with("notify.recipients: is required")),
        "{errs:?}"
    );
    let errs = errors(
        r#"recipients = ["alice@example.test", "eve@elsewhere.test", "nope"]
resolve = "groups"
reply_key = "subject"
remind_before_hours = -1
portal_url = "intune"
reply_to = "bridge+x@example.test""#,
    );
    for key in [
        "notify.resolve:",
        "notify.reply_key:",
        "notify.remind_before_hours:",
        "notify.portal_url:",
        "notify.reply_to:",
    ] {
        assert!(errs.iter().any(|e| e.starts_with(key)), "{key}: {errs:?}");
    }
    assert!(
        errs.iter()
            .any(|e| e.contains("eve@elsewhere.test is not in approvers.allowed")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("\"nope\" is not an address")),
        "{errs:?}"
    );
    assert!(
        !errs.iter().any(|e| e.contains("alice@example.test")),
        "{errs:?}"
    );
}
