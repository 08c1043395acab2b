//! The journal and the reply composer together, through the public API only: a reject walks its
//! row to `reply_pending`, the process "dies", and after reopening the reply is composed from the
//! row alone with the same Message-ID and exact threading headers.

use lettre::message::Mailbox;
use mail_parser::MessageParser;
use reject_bridge::journal::Journal;
use reject_bridge::model::{Decided, GraphOutcome, MsgKey, ReplyResult, State, Verdict};
use reject_bridge::reply::compose::{ReplyContext, ReplyKind, compose_reply};
use reject_bridge::reply::templates::Templates;

#[test]
fn a_reply_survives_a_restart_with_the_same_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/reject-bridge.db");
    let from: Mailbox = "Approvals <bridge@example.test>".parse().unwrap();
    let key = MsgKey::new("INBOX", 42, 7);
    let first_id = {
        let j = Journal::open(&path).unwrap();
        j.receive(&key, Some("<orig@mail.example.test>")).unwrap();
        j.record_decision(
            &key,
            &Decided {
                verdict: Verdict::Reject,
                reason: "ok".into(),
                request_id: Some("0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6".into()),
                approver: Some("alice@example.test".into()),
                justification: Some("Not <now>".into()),
                graph_justification: Some(
                    "Not <now> (rejected by alice@example.test via email)".into(),
                ),
                truncated: false,
                subject: Some("RE: Approval needed 0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6".into()),
                references: vec!["notify.1@example.test".into()],
            },
        )
        .unwrap();
        j.begin_graph(&key).unwrap();
        j.record_graph(&key, &GraphOutcome::Rejected).unwrap();
        j.begin_reply(&key, &reject_bridge::config::message_id_domain(&from))
            .unwrap()
        // dropped here as if the process died during the SMTP send
    };

    let j = Journal::open(&path).unwrap();
    let row = j.unfinished().unwrap().pop().unwrap();
    assert_eq!(row.state, State::ReplyPending);
    let reply_id = j
        .begin_reply(&key, &reject_bridge::config::message_id_domain(&from))
        .unwrap();
    assert_eq!(reply_id, first_id);

    let templates = Templates::load(None).unwrap();
    let (outcome, ctx) = ReplyContext::from_row(&row).unwrap();
    assert_eq!(outcome, ReplyKind::Rejected);
    let d = row.decided.as_ref().unwrap();
    let msg = compose_reply(
        &templates,
        outcome,
        &ctx,
        &from,
        d.approver.as_deref().unwrap(),
        d.subject.as_deref(),
        row.message_id.as_deref(),
        &d.references,
        &reply_id,
    )
    .unwrap();
    let raw = msg.formatted();
    let m = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(m.message_id(), Some(reply_id.as_str()));
    assert!(reply_id.ends_with("@example.test"));
    assert_eq!(m.in_reply_to().as_text(), Some("orig@mail.example.test"));
    let refs: Vec<&str> = m
        .references()
        .as_text_list()
        .unwrap()
        .iter()
        .map(|c| c.as_ref())
        .collect();
    assert_eq!(refs, ["notify.1@example.test", "orig@mail.example.test"]);
    assert_eq!(
        m.subject(),
        Some("Re: Approval needed 0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6")
    );
    assert!(m.body_html(0).unwrap().contains("Not &lt;now&gt;"));
    assert!(m.body_text(0).unwrap().contains("Not <now>"));

    j.record_reply(&key, &ReplyResult::Sent).unwrap();
    j.begin_file(&key, "Processed").unwrap();
    j.record_filed(&key, "Processed").unwrap();
    assert!(j.unfinished().unwrap().is_empty());
}
