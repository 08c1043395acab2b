//! The replies to approvers (SPEC §5): which template answers which outcome ([`ReplyKind`], from
//! a journal row), what it is told ([`ReplyContext`]), and the multipart text + HTML message with
//! its subject and threading headers. Pure: the templates come loaded ([`Templates`]); sending
//! is elsewhere.

use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use minijinja::{Value, context};
use regex::Regex;
use std::sync::LazyLock;

use super::templates::Templates;
use crate::journal::Row;
use crate::model::{GraphOutcome, Verdict};

crate::model::names! {
    /// The outcomes that get a reply; each has `<name>.txt` and `<name>.html`. The name is also
    /// the Graph outcome or the refusal's reason code.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum ReplyKind {
        Rejected = "rejected",
        AlreadyDecided = "already_decided",
        NotFound = "not_found",
        Failed = "failed",
        NoRequestId = "no_request_id",
        AmbiguousRequestId = "ambiguous_request_id",
        LooksLikeApproval = "looks_like_approval",
        UnknownNotification = "unknown_notification",
        /// SPEC §3 rule 5b: the reply was encrypted.
        Encrypted = "encrypted",
        /// Intune refused the decision by this identity (403).
        Forbidden = "forbidden",
        /// `graph.act_as = "approver"`: the rejection is held until the approver signs in
        /// through the link in this reply.
        LinkRequired = "link_required",
    }
}

/// What a reply template can say. Strings are `""` when unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyContext {
    pub request_id: String,
    pub approver: String,
    /// The approver's own words.
    pub justification: String,
    /// What was sent to Graph.
    pub graph_justification: String,
    /// The justification was cut to fit Graph's limit.
    pub truncated: bool,
    /// `already_decided`: the request's status.
    pub status: String,
    /// `failed`: why (no secrets).
    pub error: String,
    pub original_subject: String,
    /// The decision's reason code (SPEC §3).
    pub reason: String,
    /// `link_required`: the one-time link to sign in with, and how long it works.
    pub link_url: String,
    pub link_minutes: u64,
}

impl ReplyContext {
    /// The reply a journal row calls for, and what it says: a refusal's reason, or a reject's
    /// Graph outcome. `None` when the row needs no reply (ignored, or no Graph outcome yet).
    pub fn from_row(row: &Row) -> Option<(ReplyKind, ReplyContext)> {
        let d = row.decided.as_ref()?;
        let mut ctx = ReplyContext {
            request_id: d.request_id.clone().unwrap_or_default(),
            approver: d.approver.clone().unwrap_or_default(),
            justification: d.justification.clone().unwrap_or_default(),
            graph_justification: d.graph_justification.clone().unwrap_or_default(),
            truncated: d.truncated,
            original_subject: d.subject.clone().unwrap_or_default(),
            reason: d.reason.clone(),
            ..ReplyContext::default()
        };
        let outcome = match d.verdict {
            Verdict::Ignore => return None,
            Verdict::Refuse => ReplyKind::parse(&d.reason)?,
            Verdict::Reject => match row.graph_outcome.as_ref()? {
                GraphOutcome::Rejected => ReplyKind::Rejected,
                GraphOutcome::AlreadyDecided { status } => {
                    ctx.status = status.clone();
                    ReplyKind::AlreadyDecided
                }
                GraphOutcome::NotFound => ReplyKind::NotFound,
                GraphOutcome::Failed { message } => {
                    ctx.error = message.clone();
                    ReplyKind::Failed
                }
                GraphOutcome::Forbidden { message } => {
                    ctx.error = message.clone();
                    ReplyKind::Forbidden
                }
            },
        };
        Some((outcome, ctx))
    }

    pub(super) fn to_value(&self) -> Value {
        context! {
            request_id => &self.request_id,
            approver => &self.approver,
            justification => &self.justification,
            graph_justification => &self.graph_justification,
            truncated => self.truncated,
            status => &self.status,
            error => &self.error,
            original_subject => &self.original_subject,
            reason => &self.reason,
            link_url => &self.link_url,
            link_minutes => self.link_minutes,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{0}")]
    Template(String),
    #[error("cannot reply to {to:?}: not a valid address ({reason})")]
    Address { to: String, reason: String },
    #[error("cannot build the reply: {0}")]
    Build(#[from] lettre::error::Error),
}

/// Reply prefixes in the languages mail clients write them, with counters (`Re[2]:`, `RE(3):`)
/// and a space before the colon (`RE :`); forwards (`Fwd:`, `TR:`, `WG:`) are not replies.
static REPLY_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:re|aw|sv|antw|antwort|r|rif|vs|odp|ynt|res|atb|回复|答复|回覆)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]\s*",
    )
    .expect("a valid constant regex")
});

/// `Re: <original subject>`, without stacking a second reply prefix on one already there (in any
/// language: `RE:`, `AW:`, `SV:`, `Antw:`, `R:`, `Re[2]:`, `RE :`, …: all become one `Re:`).
pub fn reply_subject(original: Option<&str>) -> String {
    let cleaned: String = original
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut rest = cleaned.trim();
    while let Some(m) = REPLY_PREFIX.find(rest) {
        rest = rest[m.end()..].trim_start();
    }
    if rest.is_empty() {
        "Re: (no subject)".to_string()
    } else {
        format!("Re: {rest}")
    }
}

/// A Message-ID as stored (no `<>`), if it is safe to put back in a header: visible ASCII with
/// one `@`-free-of-brackets body. Anything else (spaces, control characters, stray brackets) is
/// dropped rather than risk header injection or a broken thread header.
fn clean_msg_id(id: &str) -> Option<String> {
    let t = crate::model::bare_message_id(id);
    let ok = !t.is_empty()
        && t.len() <= 250
        && t.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    ok.then(|| t.to_string())
}

/// At most this many References are kept (the first and the latest ones, as RFC 5322 §3.6.4
/// allows trimming), so a very long thread cannot grow the header without bound.
const MAX_REFERENCES: usize = 40;

/// The reply to an approver: To `to`, From `from`, `Re:` subject, threaded on the original
/// (In-Reply-To; References = the original's References + its Message-ID), `Auto-Submitted:
/// auto-replied`, Message-ID `<reply_message_id>` (the journal's), text + HTML alternatives.
#[allow(clippy::too_many_arguments)]
pub fn compose_reply(
    templates: &Templates,
    outcome: ReplyKind,
    ctx: &ReplyContext,
    from: &Mailbox,
    to: &str,
    original_subject: Option<&str>,
    original_message_id: Option<&str>,
    original_references: &[String],
    reply_message_id: &str,
) -> Result<Message, ComposeError> {
    let to_mailbox: Mailbox = to
        .trim()
        .parse()
        .map_err(|e: lettre::address::AddressError| ComposeError::Address {
            to: to.to_string(),
            reason: e.to_string(),
        })?;
    let (text, html) = templates
        .render(outcome, ctx)
        .map_err(ComposeError::Template)?;
    let reply_id = clean_msg_id(reply_message_id).ok_or_else(|| {
        ComposeError::Template(format!(
            "the reply Message-ID {reply_message_id:?} is not usable"
        ))
    })?;

    let mut builder = Message::builder()
        .from(from.clone())
        .to(to_mailbox)
        .subject(reply_subject(original_subject))
        .message_id(Some(format!("<{reply_id}>")))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-replied".to_string(),
        ));

    let original = original_message_id.and_then(clean_msg_id);
    let mut refs: Vec<String> = Vec::new();
    for r in original_references
        .iter()
        .filter_map(|r| clean_msg_id(r))
        .chain(original.clone())
    {
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    if refs.len() > MAX_REFERENCES {
        let tail = refs.split_off(refs.len() - (MAX_REFERENCES - 1));
        refs.truncate(1);
        refs.extend(tail);
    }
    if let Some(id) = &original {
        builder = builder.in_reply_to(format!("<{id}>"));
    }
    if !refs.is_empty() {
        let joined = refs
            .iter()
            .map(|r| format!("<{r}>"))
            .collect::<Vec<_>>()
            .join(" ");
        builder = builder.references(joined);
    }
    Ok(builder.multipart(MultiPart::alternative_plain_html(text, html))?)
}

#[cfg(test)]
mod tests;
