//! The `[notify]` section (SPEC §6 and §7): who is told about requests waiting for approval,
//! how often the request list is read, how replies find their way back (the reply key), and the
//! follow-ups and reminders. Validated here into [`NotifyConfig`]; the notifier is
//! [`crate::notify`].

use std::time::Duration;

use super::approvers::{Allowed, allowed_by};
use super::fields::Fields;
use super::values::{duration_secs, plausible_address};

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
    let recipients = recipients(f, allowed);
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
    let portal_url = portal_url(f);
    let reply_to = reply_to(f);
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

/// `notify.recipients`, lower-cased: each a bare address that `approvers.allowed` allows.
fn recipients(f: &mut Fields<'_>, allowed: &[Allowed]) -> Vec<String> {
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
    recipients
}

/// `notify.portal_url`: an http(s) URL.
fn portal_url(f: &mut Fields<'_>) -> String {
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
    portal_url
}

/// `notify.reply_to`, lower-cased: a bare address without a `+detail` (the reply key goes there).
fn reply_to(f: &mut Fields<'_>) -> Option<String> {
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
    reply_to
}

#[cfg(test)]
mod tests;
