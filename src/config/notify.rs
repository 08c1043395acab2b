//! The `[notify]` section (SPEC §6 and §7): who is told about requests waiting for approval,
//! how often the request list is read, how replies find their way back (the reply key), and the
//! follow-ups and reminders. Validated here into [`NotifyConfig`]; the notifier is
//! [`crate::notify`].

use std::time::Duration;

use super::{Allowed, Fields, allowed_by, duration_secs, plausible_address};

/// Where the recipients of a notification come from (`notify.resolve`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolve {
    /// `notify.recipients`, as listed.
    Recipients,
    /// The users among the transitive members of the approver groups of the request's
    /// approval policies (Graph: `operationApprovalPolicies`, `groups/{id}/transitiveMembers`).
    ApproverGroups,
}

/// How a reply carries its notification's reply key (`notify.reply_key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKeyMode {
    /// In the `Reply-To` address (`local+KEY@domain`), the Message-ID and the footer reference.
    PlusAddress,
    /// Only in the Message-ID (so in the reply's `In-Reply-To`/`References`) and the footer
    /// reference: for mail systems without plus-addressing.
    ReferencesOnly,
}

/// The Intune admin center, where approvals are made (the notification links to it).
pub const DEFAULT_PORTAL_URL: &str = "https://intune.microsoft.com/";

#[derive(Clone, Debug)]
pub struct NotifyConfig {
    pub enabled: bool,
    /// How often the request list is read.
    pub poll_interval: Duration,
    /// Lower-cased addresses (`resolve = "recipients"`).
    pub recipients: Vec<String>,
    pub resolve: Resolve,
    /// How long policies and group members are reused before Graph is asked again.
    pub directory_cache: Duration,
    pub reply_key: ReplyKeyMode,
    /// Tell everyone who was notified when the request leaves `needsApproval`.
    pub followups: bool,
    /// Remind those who have not answered this long before the request expires; zero: never.
    pub remind_before: Duration,
    /// The link for approving in the Intune admin center (national clouds have their own).
    pub portal_url: String,
    /// The address replies go to (lower-cased), before the reply key is added to it:
    /// `notify.reply_to`, else the address of `smtp.from`. It must reach `imap.mailbox`.
    pub reply_to: String,
}

/// Reads and checks `[notify]`. `allowed` is `approvers.allowed` (a listed recipient whose
/// replies would be ignored is an error); `from_address` is `smtp.from`'s address.
pub(super) fn build(
    f: &mut Fields<'_>,
    allowed: &[Allowed],
    from_address: Option<&str>,
) -> NotifyConfig {
    let enabled = f.bool("notify", "enabled", false);
    let poll = f.int("notify", "poll_interval_secs", 60, 1, 86_400);
    let recipients: Vec<String> = f
        .list("notify", "recipients")
        .unwrap_or_default()
        .iter()
        .map(|r| r.trim().to_ascii_lowercase())
        .collect();
    for r in &recipients {
        if !plausible_address(r) {
            f.err("notify", "recipients", format!("\"{r}\" is not an address"));
        } else if !allowed.is_empty() && !allowed_by(allowed, r) {
            f.err(
                "notify",
                "recipients",
                format!(
                    "{r} is not in approvers.allowed, so a reply from them would be ignored; add it there or remove it here"
                ),
            );
        }
    }
    let resolve = f.choice(
        "notify",
        "resolve",
        Resolve::Recipients,
        &[
            ("recipients", Resolve::Recipients),
            ("approver-groups", Resolve::ApproverGroups),
            // What example configs before the notifier wrote for "recipients".
            ("", Resolve::Recipients),
        ],
    );
    if enabled && resolve == Resolve::Recipients && recipients.is_empty() {
        f.err(
            "notify",
            "recipients",
            "is required when notify.enabled = true (or set notify.resolve = \"approver-groups\")",
        );
    }
    let directory_cache = f.int("notify", "directory_cache_secs", 900, 0, 86_400);
    let reply_key = f.choice(
        "notify",
        "reply_key",
        ReplyKeyMode::PlusAddress,
        &[
            ("plus-address", ReplyKeyMode::PlusAddress),
            ("references-only", ReplyKeyMode::ReferencesOnly),
        ],
    );
    let followups = f.bool("notify", "followups", true);
    let remind_hours = f.int("notify", "remind_before_hours", 0, 0, 24 * 90);
    let portal_url = f.str("notify", "portal_url", DEFAULT_PORTAL_URL);
    let portal_url = portal_url.trim().to_string();
    match reqwest::Url::parse(&portal_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => f.err(
            "notify",
            "portal_url",
            format!("not an http(s) URL: \"{portal_url}\""),
        ),
    }
    let reply_to = f
        .opt_str("notify", "reply_to")
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty());
    if let Some(r) = &reply_to
        && (!plausible_address(r) || r.contains('+'))
    {
        f.err(
            "notify",
            "reply_to",
            format!("\"{r}\" is not a bare address without a +detail (write local@domain)"),
        );
    }
    NotifyConfig {
        enabled,
        poll_interval: duration_secs(poll),
        recipients,
        resolve,
        directory_cache: duration_secs(directory_cache),
        reply_key,
        followups,
        remind_before: duration_secs(remind_hours * 3600),
        portal_url,
        reply_to: reply_to
            .or_else(|| from_address.map(str::to_string))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
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
        let example = include_str!("../../config/example.toml");
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
}
