//! Unit tests of [`crate::notify::mail`].

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
        identity_name(
            &json!({"application": {"displayName": "reject-bridge"}, "user": {"displayName": " "}})
        )
        .as_deref(),
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
    let raw = String::from_utf8(compose(&t, &ctx, &refs_only, &m).unwrap().formatted()).unwrap();
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
