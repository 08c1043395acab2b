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
use crate::reply::compose::{ComposeError, Templates};

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
mod tests {
    use super::*;
    use crate::journal::MailState;
    use serde_json::json;

    fn settings() -> MailSettings {
        MailSettings {
            from: "Intune Approvals <bridge@example.test>".parse().unwrap(),
            reply_to: "bridge@example.test".into(),
            reply_key: ReplyKeyMode::PlusAddress,
            portal_url: "https://intune.example/".into(),
        }
    }

    fn mail(kind: MailKind) -> Mail {
        Mail {
            id: 1,
            reply_key: "abcdefghijklmnop".into(),
            request_id: "0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6".into(),
            recipient: "ann@example.test".into(),
            recipient_name: Some("Ann Approver".into()),
            kind,
            message_id: format!("{kind}.abcdefghijklmnop@example.test"),
            state: MailState::Pending,
            attempts: 0,
            created_at: String::new(),
            done_at: None,
            last_error: None,
            notification_message_id: (kind != MailKind::Notification)
                .then(|| "notify.abcdefghijklmnop@example.test".to_string()),
        }
    }

    fn request() -> RequestStatus {
        serde_json::from_value(json!({
            "id": "0F8E6C1A-1B2C-4D5E-8F90-A1B2C3D4E5F6",
            "status": "needsApproval",
            "requestJustification": "Wipe the <lost> laptop",
            "requestDateTime": "2026-11-29T10:00:00.1234567Z",
            "expirationDateTime": "2026-11-30T10:00:00Z",
            "lastModifiedDateTime": "2026-11-29T12:30:00+01:00",
            "requestor": {"user": {"id": "u9", "displayName": "Dana Admin"}},
            "approver": null,
            "requiredOperationApprovalPolicyTypes": ["deviceWipe"],
        }))
        .unwrap()
    }

    fn at(text: &str) -> SystemTime {
        parse_time(text).unwrap()
    }

    /// The context of the test mail of `kind` about `req`, as `status`, at `now`.
    fn ctx_for(
        kind: MailKind,
        req: &RequestStatus,
        status: &str,
        rejected_by: Option<&str>,
        now: SystemTime,
    ) -> MailContext {
        MailContext::new(&mail(kind), req, status, rejected_by, &settings(), now)
    }

    #[test]
    fn times_in_utc_and_in_words() {
        assert_eq!(
            utc_text(at("2026-11-29T12:30:00+01:00")),
            "2026-11-29 11:30 UTC"
        );
        assert_eq!(
            utc_text(at("2017-01-01T00:00:35.1329464-08:00")),
            "2017-01-01 08:00 UTC"
        );
        assert_eq!(utc_text(at("2026-11-29T12:30:00")), "2026-11-29 12:30 UTC");
        assert!(parse_time("tomorrow").is_none());
        let now = at("2026-11-29T10:00:00Z");
        for (then, words) in [
            ("2026-11-29T10:00:30Z", "in less than a minute"),
            ("2026-11-29T10:01:00Z", "in 1 minute"),
            ("2026-11-29T11:29:00Z", "in 89 minutes"),
            ("2026-11-29T11:30:00Z", "in 2 hours"),
            ("2026-11-30T09:00:00Z", "in 23 hours"),
            ("2026-12-02T10:00:00Z", "in 3 days"),
            ("2026-11-29T09:00:00Z", "already passed"),
        ] {
            assert_eq!(relative(now, at(then)), words, "{then}");
        }
    }

    #[test]
    fn names_and_words() {
        assert_eq!(words("deviceWipe"), "device wipe");
        assert_eq!(words("app"), "app");
        assert_eq!(words("windowsMobileMSI"), "windows mobile MSI");
        assert_eq!(words("Script"), "script");
        assert_eq!(
            identity_name(&json!({"application": {"displayName": "reject-bridge"}, "user": {"displayName": " "}})).as_deref(),
            Some("reject-bridge")
        );
        assert_eq!(identity_name(&json!(null)), None);
        assert_eq!(
            mailto("bridge+key@example.test", "Re: Wipe [x y]"),
            "mailto:bridge+key@example.test?subject=Re%3A%20Wipe%20%5Bx%20y%5D"
        );
    }

    #[test]
    fn the_notification_says_what_who_why_when_and_how_to_answer() {
        let t = Templates::load(None).unwrap();
        let now = at("2026-11-29T11:00:00Z");
        let ctx = ctx_for(
            MailKind::Notification,
            &request(),
            "needsApproval",
            None,
            now,
        );
        assert_eq!(ctx.what, "a device wipe change");
        assert_eq!(ctx.expires_in, "in 23 hours");
        let r = render(&t, &ctx).unwrap();
        assert_eq!(
            r.subject,
            "Intune approval needed: a device wipe change [0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6]"
        );
        for needle in [
            "Hello Ann Approver,",
            "Dana Admin asks for approval",
            "Reason:      Wipe the <lost> laptop",
            "Expires:     2026-11-30 10:00 UTC (in 23 hours)",
            "Asked at:    2026-11-29 10:00 UTC",
            "Request ID:  0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
            "reply to this mail and write your reason at the top",
            "mailto:bridge+abcdefghijklmnop@example.test?subject=Re%3A%20Intune%20approval%20needed",
            "https://intune.example/",
            "Reply reference: rb-abcdefghijklmnop",
        ] {
            assert!(
                r.text.contains(needle),
                "{needle:?} missing from:\n{}",
                r.text
            );
        }
        let reference = r.text.find("Reply reference").unwrap();
        let signature = r.text.find("\n-- \n").unwrap();
        assert!(
            reference < signature,
            "clients strip what follows `-- ` when quoting"
        );
        assert!(
            r.html.contains("Wipe the &lt;lost&gt; laptop"),
            "{}",
            r.html
        );
        assert!(r.html.contains("rb-abcdefghijklmnop"));
        assert!(
            !r.html.contains("automatic reply"),
            "the notifier's own footer"
        );
    }

    #[test]
    fn payload_fields_are_used_when_graph_gives_them() {
        let mut req = request();
        req.payload_name = Some("Contoso VPN".into());
        req.payload_type = Some("windowsMobileMSI".into());
        req.payload_operation = Some("Assign".into());
        let ctx = ctx_for(
            MailKind::Notification,
            &req,
            "needsApproval",
            None,
            SystemTime::now(),
        );
        assert_eq!(ctx.what, "Contoso VPN (windows mobile MSI)");
        let r = render(&Templates::load(None).unwrap(), &ctx).unwrap();
        assert!(r.text.contains("Operation:   Assign"), "{}", r.text);
    }

    #[test]
    fn followups_say_what_became_of_it() {
        let t = Templates::load(None).unwrap();
        let mut req = request();
        req.status = "approved".into();
        req.approver = Some(json!({"user": {"displayName": "Erin <Approver>"}}));
        req.approval_justification = Some("Change 42".into());
        let ctx = ctx_for(
            MailKind::Followup,
            &req,
            "approved",
            None,
            SystemTime::now(),
        );
        let r = render(&t, &ctx).unwrap();
        assert!(
            r.subject.starts_with("Re: Intune approval needed"),
            "{}",
            r.subject
        );
        assert!(
            r.text
                .contains("was approved by Erin <Approver> on 2026-11-29 11:30 UTC"),
            "{}",
            r.text
        );
        assert!(r.text.contains("Change 42"));
        assert!(
            r.html.contains("Erin &lt;Approver&gt;"),
            "escaped in HTML: {}",
            r.html
        );
        assert!(!r.html.contains("Erin <Approver>"));
        // Rejected through the bridge: the reply's sender, not the app, is named.
        req.status = "rejected".into();
        req.approver = Some(json!({"application": {"displayName": "reject-bridge"}}));
        let ctx = ctx_for(
            MailKind::Followup,
            &req,
            "rejected",
            Some("bob@example.test"),
            SystemTime::now(),
        );
        let r = render(&t, &ctx).unwrap();
        assert!(
            r.text
                .contains("rejected by bob@example.test with an e-mail reply"),
            "{}",
            r.text
        );
        for (status, words) in [
            ("cancelled", "cancelled by the requester"),
            (
                "expired",
                "expired on 2026-11-30 10:00 UTC without a decision",
            ),
            ("deleted", "no longer exists in Intune"),
            ("completed", "the change has been made"),
            ("unknownFutureValue", "its status is \"unknownFutureValue\""),
        ] {
            let ctx = ctx_for(
                MailKind::Followup,
                &request(),
                status,
                None,
                SystemTime::now(),
            );
            let r = render(&t, &ctx).unwrap();
            assert!(r.text.contains(words), "{status}: {}", r.text);
        }
    }

    #[test]
    fn reminders_say_when_it_expires() {
        let ctx = ctx_for(
            MailKind::Reminder,
            &request(),
            "needsApproval",
            None,
            at("2026-11-30T06:00:00Z"),
        );
        let r = render(&Templates::load(None).unwrap(), &ctx).unwrap();
        assert!(r.subject.starts_with("Reminder: Intune approval needed"));
        assert!(r.text.contains("expires in 4 hours"), "{}", r.text);
    }

    #[test]
    fn the_message_carries_the_key_three_ways_and_threads_follow_ups() {
        let t = Templates::load(None).unwrap();
        let s = settings();
        for kind in MailKind::ALL {
            let m = mail(kind);
            let ctx = MailContext::new(&m, &request(), "approved", None, &s, SystemTime::now());
            let msg = compose(&t, &ctx, &s, &m).unwrap();
            let raw = String::from_utf8(msg.formatted()).unwrap();
            let parsed = mail_parser::MessageParser::default()
                .parse(raw.as_bytes())
                .unwrap();
            assert_eq!(
                parsed.message_id(),
                Some(format!("{kind}.abcdefghijklmnop@example.test").as_str())
            );
            let reply_to = parsed.reply_to().unwrap().first().unwrap();
            assert_eq!(
                reply_to.address(),
                Some("bridge+abcdefghijklmnop@example.test")
            );
            assert_eq!(reply_to.name(), Some("Intune Approvals"));
            assert_eq!(
                parsed.to().unwrap().first().unwrap().name(),
                Some("Ann Approver")
            );
            assert!(raw.contains("Auto-Submitted: auto-generated"));
            assert!(raw.contains("X-Auto-Response-Suppress: All"));
            assert!(parsed.body_text(0).unwrap().contains("rb-abcdefghijklmnop"));
            match kind {
                MailKind::Notification => assert!(parsed.in_reply_to().is_empty()),
                _ => {
                    assert_eq!(
                        parsed.in_reply_to().as_text(),
                        Some("notify.abcdefghijklmnop@example.test")
                    );
                    assert_eq!(
                        parsed.references().as_text(),
                        Some("notify.abcdefghijklmnop@example.test")
                    );
                }
            }
        }
        let refs_only = MailSettings {
            reply_key: ReplyKeyMode::ReferencesOnly,
            ..s
        };
        let m = mail(MailKind::Notification);
        let ctx = MailContext::new(
            &m,
            &request(),
            "needsApproval",
            None,
            &refs_only,
            SystemTime::now(),
        );
        assert_eq!(ctx.reply_address, "bridge@example.test");
        let raw =
            String::from_utf8(compose(&t, &ctx, &refs_only, &m).unwrap().formatted()).unwrap();
        assert!(!raw.contains("bridge+"), "{raw}");
    }

    #[test]
    fn broken_notifier_overrides_are_named_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("notify_followup.txt");
        std::fs::write(&bad, "{{ decided_bye }}").unwrap();
        let e = load_templates(Some(dir.path())).unwrap_err();
        assert!(e.contains(&bad.display().to_string()), "{e}");
    }
}
