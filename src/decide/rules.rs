//! The rules of SPEC §3 after rule 1, one function each, tried in the SPEC's order: the first
//! that applies decides (rule 1, a malformed message, is [`super::decide_at`]'s first check,
//! before the request IDs are looked for). Rules 2 to 8 ignore or refuse the message; rule 9,
//! when none of them applies, rejects the request.

use crate::model::{Notified, Reason, Verdict};
use crate::read::authres::{self, AuthEvidence};
use crate::read::incoming::{Author, Incoming};

use super::{FoundIds, IdSource, Policy, assent, justification};

/// What the rules look at: one well-formed message and all that is known about it.
pub(super) struct Case<'a> {
    pub reply: &'a Incoming,
    /// The message's usable From (rule 1 passed).
    pub from: &'a Author,
    /// The notification the message answers, if any.
    pub notified: Option<&'a Notified>,
    pub policy: &'a Policy,
    /// When the message is read (seconds since 1970); `None`: rule 3a does not apply.
    pub now: Option<i64>,
    pub found: &'a FoundIds,
}

/// How a rule decided, and why.
pub(super) struct Ruling {
    pub verdict: Verdict,
    pub reason: Reason,
    /// One sentence: which rule decided and why.
    pub explanation: String,
    /// Rule 9 only: the justification sent to Graph.
    pub graph_justification: Option<String>,
    /// Rule 9 only: the justification had to be cut to fit Graph's limit.
    pub truncated: bool,
}

/// A rule of SPEC §3: `Some` when it applies to the message.
type Rule = fn(&Case<'_>) -> Option<Ruling>;

/// Rules 2 to 8, in the order SPEC §3 tries them.
const RULES: [Rule; 9] = [
    own_message,          // rule 2
    auto_submitted,       // rule 3
    stale,                // rule 3a
    unauthenticated,      // rule 4
    sender_not_allowed,   // rule 5
    unknown_notification, // rule 5a
    encrypted,            // rule 5b
    request_id_count,     // rules 6 and 7
    looks_like_approval,  // rule 8
];

/// The ruling of the first of rules 2 to 8 that applies, else rule 9's.
pub(super) fn first_that_applies(case: &Case<'_>) -> Ruling {
    RULES
        .iter()
        .find_map(|rule| rule(case))
        .unwrap_or_else(|| reject(case))
}

fn ignore(reason: Reason, explanation: String) -> Option<Ruling> {
    Some(Ruling {
        verdict: Verdict::Ignore,
        reason,
        explanation,
        graph_justification: None,
        truncated: false,
    })
}

fn refuse(reason: Reason, explanation: String) -> Option<Ruling> {
    Some(Ruling {
        verdict: Verdict::Refuse,
        reason,
        explanation,
        graph_justification: None,
        truncated: false,
    })
}

/// Rule 2: sent by the bridge's own address (`smtp.from` or `imap.username`).
fn own_message(case: &Case<'_>) -> Option<Ruling> {
    let from = &case.from.address;
    if case.policy.own_addresses.contains(from) {
        return ignore(
            Reason::OwnMessage,
            format!("rule 2: sent by the bridge's own address {from}"),
        );
    }
    None
}

/// Rule 3: auto-generated (the header or subject that says so), or an answer to one of the
/// bridge's own replies.
fn auto_submitted(case: &Case<'_>) -> Option<Ruling> {
    let reply = case.reply;
    let answers_our_reply = reply
        .in_reply_to
        .iter()
        .find(|id| case.policy.is_own_reply_id(id));
    if let Some(marker) = &reply.auto_submitted {
        return ignore(
            Reason::AutoSubmitted,
            format!("rule 3: auto-generated ({marker})"),
        );
    }
    if let Some(id) = answers_our_reply {
        return ignore(
            Reason::AutoSubmitted,
            format!("rule 3: answers the bridge's own reply <{id}>"),
        );
    }
    None
}

/// Rule 3a: dated more than `approvers.max_age_days` before it is read (only with a reading time).
fn stale(case: &Case<'_>) -> Option<Ruling> {
    if let (Some(now), Some(date), Some(max_age)) =
        (case.now, case.reply.date, case.policy.approvers.max_age)
        && now.saturating_sub(date) > max_age.as_secs() as i64
    {
        let days = now.saturating_sub(date) / 86_400;
        return ignore(
            Reason::Stale,
            format!(
                "rule 3a: dated {days} days before it was read (approvers.max_age_days = {})",
                max_age.as_secs() / 86_400
            ),
        );
    }
    None
}

/// Rule 4: with `approvers.require_authentication`, a header block that another parser could
/// read differently, or a sender not authenticated by `approvers.authentication`.
fn unauthenticated(case: &Case<'_>) -> Option<Ruling> {
    let (reply, a) = (case.reply, &case.policy.approvers);
    if a.require_authentication
        && let Some(anomaly) = &reply.header_anomaly
    {
        return ignore(
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
            case.from.domain(),
            a.authentication,
            &a.trusted_authserv_id,
        );
        if !ok {
            return ignore(
                Reason::Unauthenticated,
                format!("rule 4: sender not authenticated: {why}"),
            );
        }
    }
    None
}

/// Rule 5: the sender is not in `approvers.allowed`.
fn sender_not_allowed(case: &Case<'_>) -> Option<Ruling> {
    let from = &case.from.address;
    if !case.policy.approvers.allows(from) {
        return ignore(
            Reason::SenderNotAllowed,
            format!("rule 5: {from} is not in approvers.allowed"),
        );
    }
    None
}

/// Rule 5a: with `approvers.require_notification_reference`, the reply answers no notification
/// the bridge sent to this sender.
fn unknown_notification(case: &Case<'_>) -> Option<Ruling> {
    if case.policy.approvers.require_notification_reference
        && case
            .notified
            .is_none_or(|n| n.recipient != case.from.address)
    {
        return refuse(
            Reason::UnknownNotification,
            "rule 5a: the reply answers no notification the bridge sent to this sender".into(),
        );
    }
    None
}

/// Rule 5b: the body is encrypted and cannot be read.
fn encrypted(case: &Case<'_>) -> Option<Ruling> {
    if let Some(kind) = &case.reply.encrypted {
        return refuse(
            Reason::Encrypted,
            format!("rule 5b: the body is encrypted ({kind}) and cannot be read"),
        );
    }
    None
}

/// Rule 6: no request ID anywhere; rule 7: more than one in the first place that has any.
fn request_id_count(case: &Case<'_>) -> Option<Ruling> {
    match case.found.ids.len() {
        0 => refuse(
            Reason::NoRequestId,
            "rule 6: no request ID in the subject or the text".into(),
        ),
        1 => None,
        n => {
            let place = match case.found.source {
                Some(IdSource::Subject) => "the subject",
                Some(IdSource::NewText) => "the new text",
                _ => "the quoted text",
            };
            refuse(
                Reason::AmbiguousRequestId,
                format!("rule 7: {n} different request IDs in {place}"),
            )
        }
    }
}

/// Rule 8: the approver's words read as assent ([`assent::reads_as_assent`]).
fn looks_like_approval(case: &Case<'_>) -> Option<Ruling> {
    if let Some(word) = assent::reads_as_assent(&case.reply.new_text, &case.policy.approvers) {
        return refuse(
            Reason::LooksLikeApproval,
            format!("rule 8: the reply reads as assent (\"{word}\")"),
        );
    }
    None
}

/// Rule 9: none of the others applies: reject the request, with the approver's words in the
/// justification template.
fn reject(case: &Case<'_>) -> Ruling {
    let from = &case.from.address;
    let (graph_justification, truncated) = match justification::render(
        &case.policy.justification_template,
        &case.reply.new_text,
        from,
    ) {
        Ok(j) => (j.text, j.truncated),
        Err(e) => {
            // The template was checked at start; this cannot happen with a valid config.
            let plain = format!("Rejected by {from} via email");
            tracing::error!(error = %e, "justification template failed; using the plain form");
            (plain, false)
        }
    };
    let id = case.found.request_id().unwrap_or_default();
    Ruling {
        verdict: Verdict::Reject,
        reason: Reason::Ok,
        explanation: format!("rule 9: reject request {id}"),
        graph_justification: Some(graph_justification),
        truncated,
    }
}
