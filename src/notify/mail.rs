//! The notifier's mails (SPEC §7): what each template sees ([`MailContext`]), and the message
//! itself: To the recipient, `Reply-To` the plus-address carrying the reply key (or the plain
//! reply address with `reply_key = "references-only"`), the Message-ID the journal fixed,
//! follow-ups and reminders threaded under the notification, `Auto-Submitted: auto-generated`
//! (RFC 3834) so that well-behaved responders stay quiet, text + HTML alternatives.
//!
//! Pure: templates in, `lettre::Message` out. Times are shown in UTC, the same for every
//! recipient, with a relative form ("in 23 hours") computed when the mail is made.
//!
//! Templates (the repo's `templates/`, overridable like the replies): `notify_subject.txt` (one
//! line, for every kind), `notify.*` (the announcement), `notify_reminder.*`,
//! `notify_followup.*`, and the parts they include (`notify_details.*`, `notify_actions.*`,
//! `notify_outcome.*`, `notify_footer.*`). An `.html` file includes only `.html` files: what a
//! `.txt` part prints would reach the HTML unescaped.

use std::time::{Duration, SystemTime};

use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use minijinja::{Value, context};
use serde_json::Value as Json;

use super::keys;
use crate::config::ReplyKeyMode;
use crate::graph::RequestStatus;
use crate::journal::{Mail, MailKind};
use crate::reply::compose::ComposeError;
use crate::reply::templates::Templates;

/// What the mails need from the configuration.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `smtp.from`.
    pub from: Mailbox,
    /// Where replies go, before the key is added (`notify.reply_to` or `smtp.from`'s address).
    pub reply_to: String,
    pub reply_key: ReplyKeyMode,
    pub portal_url: String,
}

impl MailSettings {
    /// The address a reply to the mail carrying `key` should go to.
    pub fn reply_address(&self, key: &str) -> String {
        match self.reply_key {
            ReplyKeyMode::PlusAddress => keys::plus_address(&self.reply_to, key),
            ReplyKeyMode::ReferencesOnly => self.reply_to.clone(),
        }
    }
}

/// Everything a notifier template can say; strings are `""` when unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailContext {
    /// `notification`, `followup` or `reminder`.
    pub kind: String,
    /// Lower-cased.
    pub request_id: String,
    /// What is requested, in words (the payload's name when Graph gives one).
    pub what: String,
    /// `payloadOperation` (`Create`, `Assign`, `Delete`, …), when Graph gives it.
    pub operation: String,
    /// The request's policy types, in words (`device wipe`).
    pub policy_types: String,
    /// Who asked (display name).
    pub requestor: String,
    pub request_justification: String,
    /// UTC, `2026-11-30 16:52 UTC`.
    pub requested_at: String,
    pub expires_at: String,
    /// `in 23 hours`, `in 3 days`, `already passed`.
    pub expires_in: String,
    /// The request's status (follow-ups: what it became; `deleted` when Graph no longer knows it).
    pub status: String,
    /// Who decided, as Graph names them (follow-ups).
    pub decided_by: String,
    /// When the request last changed (follow-ups), UTC.
    pub decided_at: String,
    /// The approver's or rejecter's justification (follow-ups).
    pub decision_justification: String,
    /// The approver whose e-mail reply rejected it through the bridge, if one did.
    pub rejected_by_reply: String,
    pub recipient: String,
    pub recipient_name: String,
    /// The footer reference (`rb-KEY`).
    pub reference: String,
    /// Where a reply goes (with the key in plus-address mode).
    pub reply_address: String,
    /// A `mailto:` link with the reply address and the subject filled in.
    pub mailto: String,
    /// The Intune admin center, for approving.
    pub portal_url: String,
}

impl MailContext {
    /// The context of `mail` about `request` (as Graph last described it; `status` is the one
    /// the journal recorded), at `now`.
    pub fn new(
        mail: &Mail,
        request: &RequestStatus,
        status: &str,
        rejected_by_reply: Option<&str>,
        settings: &MailSettings,
        now: SystemTime,
    ) -> MailContext {
        let policy_types = request
            .required_operation_approval_policy_types
            .iter()
            .map(|t| words(t))
            .collect::<Vec<_>>()
            .join(", ");
        let what = match (&request.payload_name, &request.payload_type) {
            (Some(n), Some(t)) if !n.trim().is_empty() && !t.trim().is_empty() => {
                format!("{} ({})", n.trim(), words(t.trim()))
            }
            (Some(n), _) if !n.trim().is_empty() => n.trim().to_string(),
            _ if !policy_types.is_empty() => format!("a {policy_types} change"),
            _ => "a protected change".to_string(),
        };
        let expires = request.expiration_date_time.as_deref().and_then(parse_time);
        let text = |t: Option<&str>| t.and_then(parse_time).map(utc_text).unwrap_or_default();
        let decided_by = if rejected_by_reply.is_some() && status == "rejected" {
            String::new()
        } else {
            request
                .approver
                .as_ref()
                .and_then(identity_name)
                .unwrap_or_default()
        };
        let mut ctx = MailContext {
            kind: mail.kind.as_str().to_string(),
            request_id: request.id.to_lowercase(),
            what,
            operation: request.payload_operation.clone().unwrap_or_default(),
            policy_types,
            requestor: request
                .requestor
                .as_ref()
                .and_then(identity_name)
                .unwrap_or_else(|| "Someone".to_string()),
            request_justification: request.request_justification.clone().unwrap_or_default(),
            requested_at: text(request.request_date_time.as_deref()),
            expires_at: expires.map(utc_text).unwrap_or_default(),
            expires_in: expires.map(|e| relative(now, e)).unwrap_or_default(),
            status: status.to_string(),
            decided_by,
            decided_at: text(request.last_modified_date_time.as_deref()),
            decision_justification: request.approval_justification.clone().unwrap_or_default(),
            rejected_by_reply: rejected_by_reply.unwrap_or_default().to_string(),
            recipient: mail.recipient.clone(),
            recipient_name: mail.recipient_name.clone().unwrap_or_default(),
            reference: keys::footer_reference(&mail.reply_key),
            reply_address: settings.reply_address(&mail.reply_key),
            mailto: String::new(),
            portal_url: settings.portal_url.clone(),
        };
        if mail.kind != MailKind::Followup {
            // The reply's subject is the notification's, whatever the kind of this mail.
            let notification = MailContext {
                kind: MailKind::Notification.as_str().to_string(),
                ..ctx.clone()
            };
            ctx.mailto = mailto(
                &ctx.reply_address,
                &format!("Re: {}", notification_subject(&notification)),
            );
        }
        ctx
    }

    fn to_value(&self) -> Value {
        context! {
            kind => &self.kind,
            request_id => &self.request_id,
            what => &self.what,
            operation => &self.operation,
            policy_types => &self.policy_types,
            requestor => &self.requestor,
            request_justification => &self.request_justification,
            requested_at => &self.requested_at,
            expires_at => &self.expires_at,
            expires_in => &self.expires_in,
            status => &self.status,
            decided_by => &self.decided_by,
            decided_at => &self.decided_at,
            decision_justification => &self.decision_justification,
            rejected_by_reply => &self.rejected_by_reply,
            recipient => &self.recipient,
            recipient_name => &self.recipient_name,
            reference => &self.reference,
            reply_address => &self.reply_address,
            mailto => &self.mailto,
            portal_url => &self.portal_url,
        }
    }
}

/// The subject a context would get from the built-in subject template, without templates
/// (for the `mailto:` link, which must not depend on an override failing).
fn notification_subject(ctx: &MailContext) -> String {
    format!("Intune approval needed: {} [{}]", ctx.what, ctx.request_id)
}

/// A rendered mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn base_name(kind: &str) -> &'static str {
    match kind {
        "followup" => "notify_followup",
        "reminder" => "notify_reminder",
        _ => "notify",
    }
}

/// Renders the subject (one line, at most 200 characters) and both bodies of `ctx`.
pub fn render(templates: &Templates, ctx: &MailContext) -> Result<Rendered, String> {
    let value = ctx.to_value();
    let subject = templates.render_named("notify_subject.txt", &value)?;
    let subject: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let subject: String = subject.chars().take(200).collect();
    let base = base_name(&ctx.kind);
    Ok(Rendered {
        subject,
        text: templates.render_named(&format!("{base}.txt"), &value)?,
        html: templates.render_named(&format!("{base}.html"), &value)?,
    })
}

/// The mail for `ctx`, carrying `mail`'s Message-ID; follow-ups and reminders are threaded under
/// the notification (`thread`: its Message-ID).
pub fn compose(
    templates: &Templates,
    ctx: &MailContext,
    settings: &MailSettings,
    mail: &Mail,
) -> Result<Message, ComposeError> {
    let rendered = render(templates, ctx).map_err(ComposeError::Template)?;
    let mut to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e: lettre::address::AddressError| ComposeError::Address {
            to: mail.recipient.clone(),
            reason: e.to_string(),
        })?;
    to.name = mail
        .recipient_name
        .as_ref()
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|n| !n.trim().is_empty());
    let reply_to: Mailbox = format!("<{}>", ctx.reply_address)
        .parse::<Mailbox>()
        .map(|mut m| {
            m.name = settings.from.name.clone();
            m
        })
        .map_err(|e: lettre::address::AddressError| ComposeError::Address {
            to: ctx.reply_address.clone(),
            reason: e.to_string(),
        })?;
    let mut builder = Message::builder()
        .from(settings.from.clone())
        .reply_to(reply_to)
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(format!("<{}>", mail.message_id)))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_string(),
        ))
        // Exchange and Outlook: no out-of-office or other automatic answers to this mail.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
            "All".to_string(),
        ));
    if let Some(parent) = &mail.notification_message_id {
        builder = builder
            .in_reply_to(format!("<{parent}>"))
            .references(format!("<{parent}>"));
    }
    Ok(builder.multipart(MultiPart::alternative_plain_html(
        rendered.text,
        rendered.html,
    ))?)
}

/// Every template, the replies' and the notifier's, from `dir` (`smtp.templates_dir`) over the
/// built-in ones, each rendered with sample data: a broken override fails at start naming its
/// file, never at a send.
pub fn load_templates(dir: Option<&std::path::Path>) -> Result<Templates, String> {
    let templates = Templates::load(dir)?;
    check_templates(&templates)?;
    Ok(templates)
}

/// Renders every kind with a full and an empty context, so a broken override fails at start
/// (and in `check`) naming its file, never at a send.
pub fn check_templates(templates: &Templates) -> Result<(), String> {
    for kind in MailKind::ALL {
        for ctx in [sample(kind), MailContext::default()] {
            let ctx = MailContext {
                kind: kind.as_str().to_string(),
                ..ctx
            };
            render(templates, &ctx)?;
        }
    }
    Ok(())
}

fn sample(kind: MailKind) -> MailContext {
    MailContext {
        kind: kind.as_str().to_string(),
        request_id: "0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6".into(),
        what: "Contoso VPN (app)".into(),
        operation: "Assign".into(),
        policy_types: "app".into(),
        requestor: "Dana Admin".into(),
        request_justification: "Roll out <VPN> to sales".into(),
        requested_at: "2026-11-29 10:00 UTC".into(),
        expires_at: "2026-11-30 10:00 UTC".into(),
        expires_in: "in 23 hours".into(),
        status: "approved".into(),
        decided_by: "Erin Approver".into(),
        decided_at: "2026-11-29 11:00 UTC".into(),
        decision_justification: "Change 42".into(),
        rejected_by_reply: String::new(),
        recipient: "alice@example.test".into(),
        recipient_name: "Alice".into(),
        reference: "rb-abcdefghijklmnop".into(),
        reply_address: "bridge+abcdefghijklmnop@example.test".into(),
        mailto: "mailto:bridge+abcdefghijklmnop@example.test?subject=Re%3A%20x".into(),
        portal_url: crate::config::DEFAULT_PORTAL_URL.into(),
    }
}

/// A Graph `DateTimeOffset` (`2026-11-30T16:52:31Z`, `…31.1329464-08:00`, or without a zone,
/// read as UTC).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    use time::format_description::well_known::Rfc3339;
    let t = text.trim();
    let parsed = time::OffsetDateTime::parse(t, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(&format!("{t}Z"), &Rfc3339))
        .ok()?;
    let nanos = parsed.unix_timestamp_nanos();
    let base = SystemTime::UNIX_EPOCH;
    if nanos >= 0 {
        base.checked_add(Duration::from_nanos(u64::try_from(nanos).ok()?))
    } else {
        base.checked_sub(Duration::from_nanos(u64::try_from(-nanos).ok()?))
    }
}

/// `2026-11-30 16:52 UTC`.
pub fn utc_text(t: SystemTime) -> String {
    let stamp = crate::journal::timestamp(t);
    format!("{} {} UTC", &stamp[..10], &stamp[11..16])
}

/// How far `then` is from `now`, in words: `in 45 minutes`, `in 23 hours`, `in 3 days`.
pub fn relative(now: SystemTime, then: SystemTime) -> String {
    let Ok(ahead) = then.duration_since(now) else {
        return "already passed".into();
    };
    let mins = ahead.as_secs() / 60;
    let plural = |n: u64, unit: &str| {
        if n == 1 {
            format!("in 1 {unit}")
        } else {
            format!("in {n} {unit}s")
        }
    };
    match mins {
        0 => "in less than a minute".into(),
        1..=89 => plural(mins, "minute"),
        90..=2159 => plural((mins + 30) / 60, "hour"),
        _ => plural((mins + 720) / 1440, "day"),
    }
}

/// Graph's camel-case names in words: `deviceWipe` → `device wipe`, `windowsMobileMSI` →
/// `windows mobile MSI` (a word splits where a lower-case letter meets an upper-case one; an
/// abbreviation keeps its capitals).
pub fn words(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev_lower = i > 0 && chars[i - 1].is_lowercase();
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        if c.is_uppercase() && (prev_lower || i == 0) && next_lower {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The display name in a Graph `identitySet`: the user's, else the application's, else the
/// device's.
pub fn identity_name(set: &Json) -> Option<String> {
    ["user", "application", "device"]
        .iter()
        .filter_map(|k| set.get(k))
        .filter_map(|i| i.get("displayName").and_then(Json::as_str))
        .map(|n| n.trim().to_string())
        .find(|n| !n.is_empty())
}

/// A `mailto:` URL (RFC 6068) to `address` with `subject`.
pub fn mailto(address: &str, subject: &str) -> String {
    let mut out = format!("mailto:{}?subject=", encode(address, b"@+.-_~"));
    out.push_str(&encode(subject, b".-_~"));
    out
}

/// Percent-encodes everything but ASCII letters, digits and `keep`.
fn encode(text: &str, keep: &[u8]) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || keep.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
