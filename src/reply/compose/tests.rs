//! Unit tests of [`crate::reply::compose`].

use super::*;
use crate::journal::Journal;
use crate::model::{Decided, MsgKey};
use crate::reply::templates::{BUILTIN, sample_context};
use mail_parser::MessageParser;

fn templates() -> Templates {
    Templates::load(None).unwrap()
}

fn from() -> Mailbox {
    "Approvals <bridge@example.test>".parse().unwrap()
}

#[test]
fn every_outcome_renders_text_and_html() {
    let t = templates();
    let ctx = sample_context();
    for o in ReplyKind::ALL {
        let (text, html) = t.render(o, &ctx).unwrap();
        assert!(text.len() > 40, "{o:?}: {text}");
        assert!(html.contains("<html>") && html.contains("</html>"), "{o:?}");
        assert!(
            text.contains("automatic reply from the Intune rejection bridge"),
            "{o:?}: footer missing"
        );
        assert!(!text.contains("&lt;"), "{o:?}: text must not be escaped");
    }
    let (text, _) = t.render(ReplyKind::Rejected, &ctx).unwrap();
    assert!(text.contains("0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6"));
    assert!(text.contains("Not during <business> hours (rejected by"));
    assert!(text.contains("shortened"), "truncation is said");
    let untruncated = ReplyContext {
        truncated: false,
        ..ctx.clone()
    };
    assert!(
        !t.render(ReplyKind::Rejected, &untruncated)
            .unwrap()
            .0
            .contains("shortened")
    );
    assert!(
        t.render(ReplyKind::AlreadyDecided, &ctx)
            .unwrap()
            .0
            .contains("\"approved\"")
    );
    assert!(
        t.render(ReplyKind::Failed, &ctx)
            .unwrap()
            .0
            .contains("503 for 600 s")
    );
    assert!(
        t.render(ReplyKind::LooksLikeApproval, &ctx)
            .unwrap()
            .0
            .contains("only rejects")
    );
    assert!(
        t.render(ReplyKind::NoRequestId, &ctx)
            .unwrap()
            .0
            .contains("in the subject")
    );
}

#[test]
fn user_text_is_escaped_in_html_only() {
    let t = templates();
    let ctx = ReplyContext {
        request_id: "r".into(),
        graph_justification: "<script>alert(1)</script> & \"x\"".into(),
        original_subject: "<b>hi</b>".into(),
        ..ReplyContext::default()
    };
    let (text, html) = t.render(ReplyKind::Rejected, &ctx).unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;")
    );
    assert!(!html.contains("<b>hi</b>"));
    assert!(text.contains("<script>alert(1)</script> & \"x\""));
}

#[test]
fn override_dir_wins_and_falls_back_to_built_ins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rejected.txt"),
        "Custom: {{ request_id }} {% include \"sig.txt\" %}",
    )
    .unwrap();
    std::fs::write(dir.path().join("sig.txt"), "-- ops").unwrap();
    std::fs::write(
        dir.path().join("footer.html"),
        "<p>Contoso IT {{ original_subject }}</p>",
    )
    .unwrap();
    let t = Templates::load(Some(dir.path())).unwrap();
    let ctx = sample_context();
    let (text, html) = t.render(ReplyKind::Rejected, &ctx).unwrap();
    assert_eq!(text, "Custom: 0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6 -- ops");
    assert!(html.contains("<p>Contoso IT Re: Request"), "{html}");
    assert!(
        html.contains("has been <strong>rejected</strong>"),
        "built-in body kept"
    );
    let (text, _) = t.render(ReplyKind::NotFound, &ctx).unwrap();
    assert!(text.starts_with("Intune has no request"), "built-in kept");
}

#[test]
fn broken_overrides_are_reported_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not_found.html");
    std::fs::write(&bad, "{% if %}").unwrap();
    let e = Templates::load(Some(dir.path())).unwrap_err();
    assert!(e.contains(&bad.display().to_string()), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("failed.txt");
    std::fs::write(&typo, "{{ eror }}").unwrap();
    let e = Templates::load(Some(dir.path())).unwrap_err();
    assert!(e.contains(&typo.display().to_string()), "{e}");
    assert!(e.contains("eror"), "{e}");
    assert!(!e.contains('\n'), "one line for the config check: {e}");
}

#[test]
fn subject_rules() {
    let cases = [
        (Some("Request 123"), "Re: Request 123"),
        (Some("Re: Request 123"), "Re: Request 123"),
        (Some("RE: Request 123"), "Re: Request 123"),
        (Some("re:Request 123"), "Re: Request 123"),
        (Some("Re[2]: Request 123"), "Re: Request 123"),
        (Some("RE : Request 123"), "Re: Request 123"),
        (Some("AW: Request 123"), "Re: Request 123"),
        (Some("SV: Request 123"), "Re: Request 123"),
        (Some("Antw: Request 123"), "Re: Request 123"),
        (Some("R: Request 123"), "Re: Request 123"),
        (Some("Re: AW: Re: Request 123"), "Re: Request 123"),
        (Some("回复：Request 123"), "Re: Request 123"),
        (Some("Fwd: Request 123"), "Re: Fwd: Request 123"),
        (Some("Reminder: Request 123"), "Re: Reminder: Request 123"),
        (Some("Results: x"), "Re: Results: x"),
        (Some("  Request\r\n 123 "), "Re: Request   123"),
        (Some(""), "Re: (no subject)"),
        (Some("Re:"), "Re: (no subject)"),
        (None, "Re: (no subject)"),
    ];
    for (input, want) in cases {
        assert_eq!(reply_subject(input), want, "{input:?}");
    }
}

fn compose(original_message_id: Option<&str>, refs: &[String], subject: Option<&str>) -> Vec<u8> {
    compose_reply(
        &templates(),
        ReplyKind::Rejected,
        &sample_context(),
        &from(),
        "alice@example.test",
        subject,
        original_message_id,
        refs,
        "reply.abc@example.test",
    )
    .unwrap()
    .formatted()
}

#[test]
fn threading_headers_are_exact() {
    let refs = vec!["root@a.test".to_string(), "<mid@a.test>".to_string()];
    let raw = compose(Some("orig@a.test"), &refs, Some("AW: Request"));
    let m = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(m.message_id(), Some("reply.abc@example.test"));
    assert_eq!(m.in_reply_to().as_text(), Some("orig@a.test"));
    let got: Vec<&str> = m
        .references()
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|c| c.as_ref())
        .collect();
    assert_eq!(got, vec!["root@a.test", "mid@a.test", "orig@a.test"]);
    assert_eq!(m.subject(), Some("Re: Request"));
    assert_eq!(
        m.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    let to = m.to().unwrap().first().unwrap();
    assert_eq!(to.address(), Some("alice@example.test"));
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("bridge@example.test"));
    assert_eq!(from.name(), Some("Approvals"));
    assert!(m.date().is_some());
    let ct = m
        .header(mail_parser::HeaderName::ContentType)
        .and_then(|h| h.as_content_type())
        .unwrap();
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("alternative"))
    );
    assert!(m.body_text(0).unwrap().contains("has been rejected"));
    assert!(
        m.body_html(0)
            .unwrap()
            .contains("<strong>rejected</strong>")
    );
}

#[test]
fn threading_without_references_or_message_id() {
    let raw = compose(Some("<orig@a.test>"), &[], None);
    let m = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(m.in_reply_to().as_text(), Some("orig@a.test"));
    assert_eq!(m.references().as_text(), Some("orig@a.test"));
    assert_eq!(m.subject(), Some("Re: (no subject)"));

    let raw = compose(None, &["r@a.test".into()], Some("x"));
    let m = MessageParser::default().parse(&raw).unwrap();
    assert!(m.in_reply_to().is_empty());
    assert_eq!(m.references().as_text(), Some("r@a.test"));
}

#[test]
fn hostile_ids_do_not_reach_the_headers() {
    let refs = vec![
        "ok@a.test".to_string(),
        "evil@a.test>\r\nBcc: x@y.test".to_string(),
        "with space@a.test".to_string(),
    ];
    let raw = compose(
        Some("orig@a.test\r\nX-Evil: 1"),
        &refs,
        Some("s\r\nBcc: z@y.test"),
    );
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains("\r\nBcc:"), "{text}");
    assert!(!text.contains("\r\nX-Evil"), "{text}");
    let m = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(m.references().as_text(), Some("ok@a.test"));
    assert!(m.in_reply_to().is_empty());
}

#[test]
fn long_reference_chains_are_trimmed_keeping_first_and_latest() {
    let refs: Vec<String> = (0..100).map(|i| format!("m{i}@a.test")).collect();
    let raw = compose(Some("orig@a.test"), &refs, Some("x"));
    let m = MessageParser::default().parse(&raw).unwrap();
    let got = m.references().as_text_list().unwrap();
    assert_eq!(got.len(), MAX_REFERENCES);
    assert_eq!(got[0], "m0@a.test");
    assert_eq!(got[got.len() - 2], "m99@a.test");
    assert_eq!(got[got.len() - 1], "orig@a.test");
}

#[test]
fn bad_recipient_is_an_error() {
    let e = compose_reply(
        &templates(),
        ReplyKind::NoRequestId,
        &ReplyContext::default(),
        &from(),
        "not an address",
        None,
        None,
        &[],
        "reply.1@example.test",
    )
    .unwrap_err();
    assert!(matches!(e, ComposeError::Address { .. }), "{e}");
    assert_eq!(crate::config::message_id_domain(&from()), "example.test");
}

#[test]
fn context_from_journal_rows() {
    let j = Journal::open_in_memory().unwrap();
    let base = Decided {
        verdict: Verdict::Reject,
        reason: "ok".into(),
        request_id: Some("r1".into()),
        approver: Some("alice@example.test".into()),
        justification: Some("no".into()),
        graph_justification: Some("no (rejected by alice@example.test via email)".into()),
        truncated: true,
        subject: Some("Request r1".into()),
        references: vec![],
    };
    let k = MsgKey::new("INBOX", 1, 1);
    j.receive(&k, None).unwrap();
    j.record_decision(&k, &base).unwrap();
    assert!(
        ReplyContext::from_row(&j.get(&k).unwrap().unwrap()).is_none(),
        "no Graph outcome yet"
    );
    j.begin_graph(&k).unwrap();
    j.record_graph(
        &k,
        &GraphOutcome::AlreadyDecided {
            status: "approved".into(),
        },
    )
    .unwrap();
    let (o, ctx) = ReplyContext::from_row(&j.get(&k).unwrap().unwrap()).unwrap();
    assert_eq!(o, ReplyKind::AlreadyDecided);
    assert_eq!(ctx.status, "approved");
    assert!(ctx.truncated);
    assert_eq!(ctx.original_subject, "Request r1");

    let k2 = MsgKey::new("INBOX", 1, 2);
    j.receive(&k2, None).unwrap();
    j.record_decision(
        &k2,
        &Decided {
            verdict: Verdict::Refuse,
            reason: "looks_like_approval".into(),
            ..base.clone()
        },
    )
    .unwrap();
    let (o, _) = ReplyContext::from_row(&j.get(&k2).unwrap().unwrap()).unwrap();
    assert_eq!(o, ReplyKind::LooksLikeApproval);

    let k3 = MsgKey::new("INBOX", 1, 3);
    j.receive(&k3, None).unwrap();
    j.record_decision(
        &k3,
        &Decided {
            verdict: Verdict::Ignore,
            reason: "auto_submitted".into(),
            ..base
        },
    )
    .unwrap();
    assert!(ReplyContext::from_row(&j.get(&k3).unwrap().unwrap()).is_none());
}

#[test]
fn every_outcome_is_built_in() {
    for o in ReplyKind::ALL {
        for ext in ["txt", "html"] {
            let name = format!("{}.{ext}", o.as_str());
            assert!(
                BUILTIN.iter().any(|(n, _)| *n == name),
                "{name} not built in"
            );
        }
    }
}
