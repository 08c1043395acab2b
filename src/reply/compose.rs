//! The replies to approvers (SPEC §5): which template answers which outcome, how the templates
//! are loaded (built in from the repo's `templates/`, overridden file by file from
//! `smtp.templates_dir`), and the multipart text + HTML message with its threading headers.
//! Pure: no I/O but reading the override folder in [`Templates::load`]; sending is elsewhere.
//!
//! Templates are minijinja. Files ending in `.html` are HTML-escaped automatically (the
//! approver's words are user input), `.txt` files are not. Every template sees the same
//! [`ReplyContext`], all strings (`""` when unknown) plus the `truncated` flag, and is rendered
//! once with a sample context at load, so a broken override fails `check` and start-up with the
//! file's name, never a reply.

use std::path::{Path, PathBuf};

use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use regex::Regex;
use std::sync::LazyLock;

use crate::journal::Row;
use crate::model::{GraphOutcome, Verdict};

/// The outcomes that get a reply; each has `<name>.txt` and `<name>.html`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Rejected,
    AlreadyDecided,
    NotFound,
    Failed,
    NoRequestId,
    AmbiguousRequestId,
    LooksLikeApproval,
    UnknownNotification,
    /// SPEC §3 rule 5b: the reply was encrypted.
    Encrypted,
    /// Intune refused the decision by this identity (403).
    Forbidden,
    /// `graph.act_as = "approver"`: the rejection is held until the approver signs in through
    /// the link in this reply.
    LinkRequired,
}

impl Outcome {
    pub const ALL: [Outcome; 11] = [
        Outcome::Rejected,
        Outcome::AlreadyDecided,
        Outcome::NotFound,
        Outcome::Failed,
        Outcome::NoRequestId,
        Outcome::AmbiguousRequestId,
        Outcome::LooksLikeApproval,
        Outcome::UnknownNotification,
        Outcome::Encrypted,
        Outcome::Forbidden,
        Outcome::LinkRequired,
    ];

    /// The template's base name (also the Graph outcome or the refusal's reason code).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Rejected => "rejected",
            Outcome::AlreadyDecided => "already_decided",
            Outcome::NotFound => "not_found",
            Outcome::Failed => "failed",
            Outcome::NoRequestId => "no_request_id",
            Outcome::AmbiguousRequestId => "ambiguous_request_id",
            Outcome::LooksLikeApproval => "looks_like_approval",
            Outcome::UnknownNotification => "unknown_notification",
            Outcome::Encrypted => "encrypted",
            Outcome::Forbidden => "forbidden",
            Outcome::LinkRequired => "link_required",
        }
    }

    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
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
    pub fn from_row(row: &Row) -> Option<(Outcome, ReplyContext)> {
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
            Verdict::Refuse => Outcome::from_name(&d.reason)?,
            Verdict::Reject => match row.graph_outcome.as_ref()? {
                GraphOutcome::Rejected => Outcome::Rejected,
                GraphOutcome::AlreadyDecided { status } => {
                    ctx.status = status.clone();
                    Outcome::AlreadyDecided
                }
                GraphOutcome::NotFound => Outcome::NotFound,
                GraphOutcome::Failed { message } => {
                    ctx.error = message.clone();
                    Outcome::Failed
                }
                GraphOutcome::Forbidden { message } => {
                    ctx.error = message.clone();
                    Outcome::Forbidden
                }
            },
        };
        Some((outcome, ctx))
    }

    fn to_value(&self) -> Value {
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

/// The templates built into the binary: the repo's `templates/` folder.
const BUILTIN: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("footer.html", include_str!("../../templates/footer.html")),
    ("footer.txt", include_str!("../../templates/footer.txt")),
    ("rejected.txt", include_str!("../../templates/rejected.txt")),
    (
        "rejected.html",
        include_str!("../../templates/rejected.html"),
    ),
    (
        "already_decided.txt",
        include_str!("../../templates/already_decided.txt"),
    ),
    (
        "already_decided.html",
        include_str!("../../templates/already_decided.html"),
    ),
    (
        "not_found.txt",
        include_str!("../../templates/not_found.txt"),
    ),
    (
        "not_found.html",
        include_str!("../../templates/not_found.html"),
    ),
    ("failed.txt", include_str!("../../templates/failed.txt")),
    ("failed.html", include_str!("../../templates/failed.html")),
    (
        "no_request_id.txt",
        include_str!("../../templates/no_request_id.txt"),
    ),
    (
        "no_request_id.html",
        include_str!("../../templates/no_request_id.html"),
    ),
    (
        "ambiguous_request_id.txt",
        include_str!("../../templates/ambiguous_request_id.txt"),
    ),
    (
        "ambiguous_request_id.html",
        include_str!("../../templates/ambiguous_request_id.html"),
    ),
    (
        "looks_like_approval.txt",
        include_str!("../../templates/looks_like_approval.txt"),
    ),
    (
        "looks_like_approval.html",
        include_str!("../../templates/looks_like_approval.html"),
    ),
    (
        "unknown_notification.txt",
        include_str!("../../templates/unknown_notification.txt"),
    ),
    (
        "unknown_notification.html",
        include_str!("../../templates/unknown_notification.html"),
    ),
    (
        "encrypted.txt",
        include_str!("../../templates/encrypted.txt"),
    ),
    (
        "encrypted.html",
        include_str!("../../templates/encrypted.html"),
    ),
    (
        "forbidden.txt",
        include_str!("../../templates/forbidden.txt"),
    ),
    (
        "forbidden.html",
        include_str!("../../templates/forbidden.html"),
    ),
    (
        "link_required.txt",
        include_str!("../../templates/link_required.txt"),
    ),
    (
        "link_required.html",
        include_str!("../../templates/link_required.html"),
    ),
    // The notifier's mails (SPEC §7, crate::notify::mail).
    (
        "notify_subject.txt",
        include_str!("../../templates/notify_subject.txt"),
    ),
    ("notify.txt", include_str!("../../templates/notify.txt")),
    ("notify.html", include_str!("../../templates/notify.html")),
    (
        "notify_reminder.txt",
        include_str!("../../templates/notify_reminder.txt"),
    ),
    (
        "notify_reminder.html",
        include_str!("../../templates/notify_reminder.html"),
    ),
    (
        "notify_followup.txt",
        include_str!("../../templates/notify_followup.txt"),
    ),
    (
        "notify_followup.html",
        include_str!("../../templates/notify_followup.html"),
    ),
    (
        "notify_outcome.txt",
        include_str!("../../templates/notify_outcome.txt"),
    ),
    (
        "notify_outcome.html",
        include_str!("../../templates/notify_outcome.html"),
    ),
    (
        "notify_details.txt",
        include_str!("../../templates/notify_details.txt"),
    ),
    (
        "notify_details.html",
        include_str!("../../templates/notify_details.html"),
    ),
    (
        "notify_actions.txt",
        include_str!("../../templates/notify_actions.txt"),
    ),
    (
        "notify_actions.html",
        include_str!("../../templates/notify_actions.html"),
    ),
    (
        "notify_footer.txt",
        include_str!("../../templates/notify_footer.txt"),
    ),
    (
        "notify_footer.html",
        include_str!("../../templates/notify_footer.html"),
    ),
];

/// The loaded, checked reply templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from (an override's path, or "built-in …"), for error messages.
    origins: Vec<(String, String)>,
}

impl Templates {
    /// Loads the built-in templates, each replaced by the file of the same name in `dir` when
    /// there is one (files there may also be `{% include %}`d by name), and checks that every
    /// reply renders. The error names the file at fault.
    pub fn load(dir: Option<&Path>) -> Result<Templates, String> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| format!("template syntax: {e}"))?;
        env.set_syntax(syntax);
        // Printing an unknown variable is an error (a typo in an override), `{% if x %}` is not.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let mut origins = Vec::new();
        for (name, builtin) in BUILTIN {
            let override_path: Option<PathBuf> = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let (source, origin) = match override_path {
                Some(p) => {
                    let text = std::fs::read_to_string(&p)
                        .map_err(|e| format!("{}: cannot read: {e}", p.display()))?;
                    (text, p.display().to_string())
                }
                None => (builtin.to_string(), format!("built-in template {name}")),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| format!("{origin}: {e}"))?;
            origins.push((name.to_string(), origin));
        }
        if let Some(d) = dir {
            // Extra files an override includes (a logo block, a shared paragraph, ...).
            env.set_loader(minijinja::path_loader(d));
        }
        let templates = Templates { env, origins };
        for sample in [sample_context(), ReplyContext::default()] {
            for outcome in Outcome::ALL {
                templates.render(outcome, &sample)?;
            }
        }
        Ok(templates)
    }

    fn origin(&self, name: &str) -> String {
        self.origins
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, o)| o.clone())
            .unwrap_or_else(|| name.to_string())
    }

    /// Renders the text and the HTML body for `outcome`. The error names the file at fault.
    pub fn render(&self, outcome: Outcome, ctx: &ReplyContext) -> Result<(String, String), String> {
        let value = ctx.to_value();
        let base = outcome.as_str();
        Ok((
            self.render_named(&format!("{base}.txt"), &value)?,
            self.render_named(&format!("{base}.html"), &value)?,
        ))
    }

    /// Renders the template `name` with `value`, leading blank lines removed. The error names
    /// the file at fault.
    pub fn render_named(&self, name: &str, value: &Value) -> Result<String, String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(value))
            .map(|s| s.trim_start_matches(['\n', '\r']).to_string())
            .map_err(|e| format!("{}: {e}", self.origin(name)))
    }
}

fn sample_context() -> ReplyContext {
    ReplyContext {
        request_id: "0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6".into(),
        approver: "alice@example.test".into(),
        justification: "Not during <business> hours".into(),
        graph_justification:
            "Not during <business> hours (rejected by alice@example.test via email)".into(),
        truncated: true,
        status: "approved".into(),
        error: "Graph answered 503 for 600 s".into(),
        original_subject: "Re: Request 0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6".into(),
        reason: "ok".into(),
        link_url: "https://bridge.example.test/link/AbC".into(),
        link_minutes: 30,
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
    outcome: Outcome,
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
