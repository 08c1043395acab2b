//! [`Incoming`] + policy → [`Decision`]: the rules of SPEC §3, in order, the first that applies wins.
//!
//! Pure: no I/O. The one fact that needs the journal (which notification, if any, the reply
//! answers) is looked up by the caller and passed in as [`Notified`]. `reject-bridge parse` is
//! this function and nothing more, so what it prints is exactly what the service would do.
//!
//! Here: the [`Policy`], the [`Decision`], the search for request IDs and [`decide_at`], which
//! checks rule 1 and finds the IDs; the rules that follow are in `rules.rs`, one function each,
//! in SPEC order. [`assent`] is what rule 8 reads as assent, [`justification`] what rule 9 sends.

pub mod assent;
pub mod justification;
mod rules;

use regex::Regex;
use serde::Serialize;

use crate::config::{ApproversConfig, Config};
use crate::model::{Notified, Reason, Verdict};
use crate::read::incoming::Incoming;
use rules::Case;

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
    // Rule 1.
    let (Some(from), None) = (&reply.from, &reply.malformed) else {
        return malformed(reply);
    };
    // Request IDs are reported whatever the decision, so find them first.
    let found = FoundIds::in_message(reply, notified, &policy.request_id_pattern);
    let case = Case {
        reply,
        from,
        notified,
        policy,
        now,
        found: &found,
    };
    let ruling = rules::first_that_applies(&case);
    Decision {
        decision: ruling.verdict,
        reason: ruling.reason,
        request_id: found.request_id(),
        approver: Some(from.address.clone()),
        justification: Some(reply.new_text.clone()),
        graph_justification: ruling.graph_justification,
        message_id: reply.message_id.clone(),
        truncated: ruling.truncated,
        id_source: found.source,
        ids_found: found.ids,
        explanation: ruling.explanation,
    }
}

/// Rule 1: a message that cannot be read, or has no usable From, is ignored; nothing in it is
/// reported but its Message-ID.
fn malformed(reply: &Incoming) -> Decision {
    Decision {
        decision: Verdict::Ignore,
        reason: Reason::Malformed,
        request_id: None,
        approver: None,
        justification: None,
        graph_justification: None,
        message_id: reply.message_id.clone(),
        truncated: false,
        id_source: None,
        ids_found: Vec::new(),
        explanation: format!(
            "rule 1: malformed message ({})",
            reply.malformed.as_deref().unwrap_or("no usable From")
        ),
    }
}

/// The request IDs of one message, from the first place that has any (SPEC §3): the notification
/// it answers, else the subject, the new text, the quoted text.
struct FoundIds {
    source: Option<IdSource>,
    /// Every distinct ID in that place; empty when there is none anywhere.
    ids: Vec<String>,
}

impl FoundIds {
    fn in_message(reply: &Incoming, notified: Option<&Notified>, pattern: &Regex) -> FoundIds {
        let places: [(IdSource, Vec<String>); 3] = [
            (
                IdSource::Subject,
                find_ids(pattern, reply.subject.as_deref().unwrap_or("")),
            ),
            (IdSource::NewText, find_ids(pattern, &reply.new_text)),
            (IdSource::QuotedText, find_ids(pattern, &reply.rest)),
        ];
        if let Some(n) = notified {
            FoundIds {
                source: Some(IdSource::Notification),
                ids: vec![n.request_id.to_lowercase()],
            }
        } else if let Some((source, ids)) = places.into_iter().find(|(_, ids)| !ids.is_empty()) {
            FoundIds {
                source: Some(source),
                ids,
            }
        } else {
            FoundIds {
                source: None,
                ids: Vec::new(),
            }
        }
    }

    /// The request ID, when exactly one was found.
    fn request_id(&self) -> Option<String> {
        if self.ids.len() == 1 {
            self.ids.first().cloned()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests;
