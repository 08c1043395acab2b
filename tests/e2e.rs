//! End-to-end tests of `reject-bridge run --once` and `--dry-run` (SPEC §2, §3, §5): the real
//! binary against the real Dovecot + Postfix of `scripts/stack-up.sh` and a `graph-sim` per test.
//! Each test has its own bridge mailbox, approvers, simulator and state folder (tests/support), so
//! they run in parallel. Messages are delivered through Postfix's delivery port with the
//! `Authentication-Results` header the trusted MTA would add; replies are read from the approvers'
//! own mailboxes; what reached Graph is read from the simulator's call record.
//!
//! Needs the stack: `scripts/stack-up.sh` (as root) and `RB_STACK_DIR` pointing at its folder
//! (default `.stack/`); without it every test fails saying so.

mod support;

use mail_parser::MimeHeaders;
use serde_json::{Value, json};
use support::mail::{AUTH_OK, Found, Msg, approver_mail, list};
use support::sim::SECRET;
use support::stack::{closed_port, stack, unique};
use support::world::{Knobs, World};

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The message in `found` whose Message-ID is `id` (without `<>`).
fn by_message_id<'a>(found: &'a [Found], id: &str) -> Option<&'a Found> {
    found
        .iter()
        .find(|f| f.parsed().message_id().is_some_and(|m| m == id))
}

fn message_ids(found: &[Found]) -> Vec<String> {
    let mut ids: Vec<String> = found
        .iter()
        .filter_map(|f| f.parsed().message_id().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn is_2xx(call: &Value) -> bool {
    call["status"]
        .as_u64()
        .is_some_and(|s| (200..300).contains(&s))
}

/// The reject calls for one request ID.
fn rejects_for<'a>(calls: &'a [Value], id: &str) -> Vec<&'a Value> {
    calls
        .iter()
        .filter(|c| c["id"].as_str().is_some_and(|c| c.eq_ignore_ascii_case(id)))
        .collect()
}

/// Checks an approver's single reply: threading, headers, multipart; returns its text part.
fn check_reply(w: &World, reply: &Found, original: &Msg, extra_refs: &[&str]) -> String {
    let raw = reply.text();
    let parsed = reply.parsed();
    assert_eq!(
        reply.header("In-Reply-To").as_deref(),
        Some(format!("<{}>", original.message_id).as_str()),
        "In-Reply-To of {raw}"
    );
    let refs = reply.header("References").unwrap_or_default();
    assert!(
        refs.contains(&format!("<{}>", original.message_id)),
        "References lack the reply's Message-ID: {refs}"
    );
    for r in extra_refs {
        assert!(
            refs.contains(&format!("<{r}>")),
            "References lost {r}: {refs}"
        );
    }
    let subject = parsed.subject().unwrap_or_default().to_string();
    assert!(subject.starts_with("Re: "), "subject {subject:?}");
    assert!(
        !subject[4..].trim_start().to_lowercase().starts_with("re:"),
        "doubled Re: {subject:?}"
    );
    assert_eq!(
        reply
            .header("Auto-Submitted")
            .map(|v| v.to_ascii_lowercase()),
        Some("auto-replied".to_string()),
        "Auto-Submitted of {raw}"
    );
    assert_eq!(
        reply.header("X-Auto-Response-Suppress").as_deref(),
        Some("All"),
        "X-Auto-Response-Suppress of {raw}"
    );
    let from = parsed
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string();
    assert_eq!(from, w.bridge, "From of the reply");
    let to = parsed
        .to()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_lowercase();
    assert_eq!(to, original.from.to_lowercase(), "To of the reply");
    let ct = parsed.content_type().expect("a Content-Type");
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("alternative")),
        "{raw}"
    );
    assert!(parsed.body_html(0).is_some(), "no HTML part: {raw}");
    assert!(
        parsed
            .message_id()
            .is_some_and(|m| m.ends_with("@example.test")),
        "reply Message-ID: {:?}",
        parsed.message_id()
    );
    reply.body_text()
}

#[tokio::test]
async fn a_reply_rejects_once_is_confirmed_in_thread_and_a_second_run_does_nothing() {
    let w = World::new("once").await;
    let id = new_id();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let approver = unique("alice");
    let notification = format!("notification-{}@example.test", uuid::Uuid::new_v4());
    let original = Msg::new(
        &approver,
        &w.bridge,
        &format!("RE: Approval needed: wipe device ({id})"),
        &format!(
            "Not this one: LT-0042 was found this morning.\n\nThanks,\nAlice\n\n\
             -----Original Message-----\nFrom: Intune Approvals <{}>\n\
             Subject: Approval needed: wipe device ({id})\n\nDana Admin asks to wipe LT-0042.",
            w.bridge
        ),
    )
    .header(&format!("In-Reply-To: <{notification}>"))
    .header(&format!("References: <{notification}>"));
    w.deliver(&original.render()).await;
    w.wait_inbox(1).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);

    // Graph: exactly one POST with the SPEC §4 body.
    let rejects = w.calls("reject").await;
    assert_eq!(rejects.len(), 1, "reject calls: {rejects:#?}");
    let expected = format!(
        "Not this one: LT-0042 was found this morning.\n\nThanks,\nAlice (rejected by {approver} via email)"
    );
    assert_eq!(
        rejects[0]["body"],
        json!({"justification": expected, "approvalSource": "email"})
    );
    assert!(is_2xx(&rejects[0]), "{:#?}", rejects[0]);
    let headers = &rejects[0]["headers"];
    assert!(
        headers["content-type"]
            .as_str()
            .is_some_and(|v| v.starts_with("application/json")),
        "{headers}"
    );
    assert_eq!(headers["authorization"], "Bearer <redacted>", "{headers}");
    assert_eq!(w.sim.request(&id).await["status"], "rejected");
    assert!(
        !out.stderr.contains(SECRET),
        "the client secret reached the log"
    );

    // Mailbox: filed to Processed, INBOX empty, nothing marked \Seen.
    assert!(w.folder("INBOX").await.is_empty(), "INBOX not empty");
    let processed = w.folder("Processed").await;
    assert_eq!(message_ids(&processed), vec![original.message_id.clone()]);
    assert!(w.folder("Ignored").await.is_empty());
    assert!(w.folder("Failed").await.is_empty());
    assert!(w.seen("Processed").await.is_empty(), "\\Seen was set");
    // (The layout the dry-run test relies on: a created folder is a `.Name` maildir.)
    assert!(w.maildir().join(".Processed").is_dir());

    // The approver: one threaded confirmation.
    let mail = approver_mail(&w.stack, &approver, 1).await;
    assert_eq!(mail.len(), 1, "confirmations: {mail:#?}");
    let text = check_reply(&w, &mail[0], &original, &[&notification]);
    assert_eq!(
        mail[0].parsed().subject(),
        Some(format!("Re: Approval needed: wipe device ({id})").as_str())
    );
    assert!(text.contains("has been rejected"), "{text}");
    assert!(text.contains(&id), "{text}");
    assert!(text.contains(&expected), "{text}");

    // A second run: nothing more anywhere.
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "second run --once: {}", out.stderr);
    assert_eq!(w.calls("reject").await.len(), 1, "a second POST");
    assert_eq!(
        message_ids(&w.folder("Processed").await),
        vec![original.message_id.clone()]
    );
    let mail = approver_mail(&w.stack, &approver, 1).await;
    assert_eq!(mail.len(), 1, "a second confirmation");
}

#[tokio::test]
async fn every_decision_ends_in_its_folder_with_the_right_reply_or_none() {
    let w = World::new("rules").await;
    let id = new_id();
    let other_id = new_id();
    let addr = |tag: &str| unique(tag);

    // Ignored, no reply.
    let (malformed_a, malformed_b) = (addr("malformed-a"), addr("malformed-b"));
    let malformed = Msg::new(&malformed_a, &w.bridge, &format!("Reject {id}"), "No.")
        .header(&format!("From: {malformed_b}"));
    let own = Msg::new(&w.bridge, &w.bridge, &format!("Reject {id}"), "No.");
    let auto_from = addr("auto");
    let auto = Msg::new(
        &auto_from,
        &w.bridge,
        &format!("Out of office: {id}"),
        "I am away.",
    )
    .header("Auto-Submitted: auto-replied");
    let unauth_from = addr("unauth");
    let unauth = Msg::new(
        &unauth_from,
        &w.bridge,
        &format!("Reject {id}"),
        "Too risky.",
    )
    .unauthenticated();
    let outsider = format!("outsider-{}@example.org", uuid::Uuid::new_v4().simple());
    let not_allowed = Msg::new(&outsider, &w.bridge, &format!("Reject {id}"), "Too risky.")
        .unauthenticated()
        .header(
            "Authentication-Results: mx.example.test; dkim=pass header.d=example.org; dmarc=pass header.from=example.org",
        );
    let ignored = [&malformed, &own, &auto, &unauth, &not_allowed];

    // Processed, with an explanation.
    let no_id_from = addr("noid");
    let no_id = Msg::new(
        &no_id_from,
        &w.bridge,
        "Re: the wipe",
        "Please do not wipe it.",
    );
    let ambiguous_from = addr("ambiguous");
    let ambiguous = Msg::new(
        &ambiguous_from,
        &w.bridge,
        &format!("Re: {id} and {other_id}"),
        "Neither of these.",
    );
    let approval_from = addr("approval");
    let approval = Msg::new(
        &approval_from,
        &w.bridge,
        &format!("Re: Approval needed ({id})"),
        "Hi team,\nApproved, go ahead.",
    );
    let refused = [
        (&no_id, "names no Intune request"),
        (&ambiguous, "more than one Intune request"),
        (&approval, "reads like an approval"),
    ];

    for m in ignored
        .iter()
        .copied()
        .chain(refused.iter().map(|(m, _)| *m))
    {
        w.deliver(&m.render()).await;
    }
    w.wait_inbox(ignored.len() + refused.len()).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);

    assert!(w.folder("INBOX").await.is_empty(), "INBOX not empty");
    assert_eq!(
        message_ids(&w.folder("Ignored").await),
        sorted(ignored.iter().map(|m| m.message_id.clone()).collect()),
        "Ignored"
    );
    assert_eq!(
        message_ids(&w.folder("Processed").await),
        sorted(refused.iter().map(|(m, _)| m.message_id.clone()).collect()),
        "Processed"
    );
    assert!(w.folder("Failed").await.is_empty());
    assert!(w.seen("Ignored").await.is_empty(), "\\Seen set in Ignored");
    assert!(
        w.seen("Processed").await.is_empty(),
        "\\Seen set in Processed"
    );
    let calls = w.sim.calls().await;
    assert!(calls.is_empty(), "Graph was called: {calls:#?}");

    for (m, phrase) in refused {
        let mail = approver_mail(&w.stack, &m.from, 1).await;
        assert_eq!(mail.len(), 1, "replies to {}: {mail:#?}", m.from);
        let text = check_reply(&w, &mail[0], m, &[]);
        assert!(text.contains(phrase), "reply to {}: {text}", m.from);
    }
    // The replies above had time to arrive; the ignored senders got none.
    for who in [
        &malformed_a,
        &malformed_b,
        &auto_from,
        &unauth_from,
        &outsider,
    ] {
        let mail = list(&w.stack, who, "INBOX").await;
        assert!(mail.is_empty(), "{who} got a reply: {mail:#?}");
    }
    // Nor did the bridge answer itself (own_message).
    assert!(
        w.folder("INBOX").await.is_empty(),
        "the bridge replied to itself"
    );
}

#[tokio::test]
async fn graph_outcomes_and_faults_end_well() {
    let w = World::new("graph").await;
    let approved = new_id();
    let unknown = new_id();
    let throttled = new_id();
    let flaky = new_id();
    let lost = new_id();
    let forbidden = new_id();
    w.sim
        .seed(json!([
            {"id": approved, "status": "approved"},
            {"id": throttled, "status": "needsApproval"},
            {"id": flaky, "status": "needsApproval"},
            {"id": lost, "status": "needsApproval"},
            {"id": forbidden, "status": "needsApproval"},
        ]))
        .await;
    w.sim
        .fault(json!([
            {"endpoint": "reject", "id": throttled, "kind": "status", "status": 429, "retry_after": "1"},
            {"endpoint": "reject", "id": flaky, "kind": "status", "status": 500},
            {"endpoint": "reject", "id": lost, "kind": "drop_after_apply"},
            {"endpoint": "reject", "id": forbidden, "kind": "status", "status": 403,
             "code": "Forbidden", "message": "Not allowed"},
        ]))
        .await;

    let msg = |tag: &str, id: &str| {
        Msg::new(
            &unique(tag),
            &w.bridge,
            &format!("Re: Approval needed ({id})"),
            "Too risky today.",
        )
    };
    let cases = [
        (msg("approved", &approved), &approved, "Processed"),
        (msg("unknown", &unknown), &unknown, "Processed"),
        (msg("throttled", &throttled), &throttled, "Processed"),
        (msg("flaky", &flaky), &flaky, "Processed"),
        (msg("lost", &lost), &lost, "Processed"),
        (msg("forbidden", &forbidden), &forbidden, "Failed"),
    ];
    for (m, _, _) in &cases {
        w.deliver(&m.render()).await;
    }
    w.wait_inbox(cases.len()).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);
    assert!(w.folder("INBOX").await.is_empty(), "INBOX not empty");

    let rejects = w.calls("reject").await;
    // Already decided and unknown: no POST.
    assert!(rejects_for(&rejects, &approved).is_empty(), "{rejects:#?}");
    assert!(rejects_for(&rejects, &unknown).is_empty(), "{rejects:#?}");
    // 429 then 500: one refused POST each, then one that took effect.
    for id in [&throttled, &flaky] {
        let r = rejects_for(&rejects, id);
        assert_eq!(r.len(), 2, "{id}: {r:#?}");
        assert!(!is_2xx(r[0]) && is_2xx(r[1]), "{id}: {r:#?}");
        assert_eq!(w.sim.request(id).await["status"], "rejected");
    }
    // The 429's Retry-After was honoured.
    let r = rejects_for(&rejects, &throttled);
    let gap = r[1]["at_ms"].as_u64().unwrap() - r[0]["at_ms"].as_u64().unwrap();
    assert!(gap >= 900, "retried after {gap} ms despite Retry-After: 1");
    // Lost answer: exactly one POST, and it counts as ours.
    assert_eq!(rejects_for(&rejects, &lost).len(), 1, "{rejects:#?}");
    assert_eq!(w.sim.request(&lost).await["status"], "rejected");
    // Permanent failure: one POST, nothing changed.
    assert_eq!(rejects_for(&rejects, &forbidden).len(), 1, "{rejects:#?}");
    assert_eq!(w.sim.request(&forbidden).await["status"], "needsApproval");

    let processed = w.folder("Processed").await;
    let failed = w.folder("Failed").await;
    for (m, id, folder) in &cases {
        let in_folder = if *folder == "Processed" {
            &processed
        } else {
            &failed
        };
        assert!(
            by_message_id(in_folder, &m.message_id).is_some(),
            "{id} not in {folder}"
        );
    }
    assert_eq!(processed.len() + failed.len(), cases.len());

    let expect = [
        "no longer waiting for approval",
        "has no request with the ID",
        "has been rejected",
        "has been rejected",
        "has been rejected",
        "could NOT be rejected",
    ];
    for ((m, id, _), phrase) in cases.iter().zip(expect) {
        let mail = approver_mail(&w.stack, &m.from, 1).await;
        assert_eq!(mail.len(), 1, "replies about {id}: {mail:#?}");
        let text = check_reply(&w, &mail[0], m, &[]);
        assert!(text.contains(phrase), "reply about {id}: {text}");
        assert!(text.contains(id.as_str()), "reply about {id}: {text}");
    }
    let already = approver_mail(&w.stack, &cases[0].0.from, 1).await;
    assert!(
        already[0].body_text().contains("\"approved\""),
        "{}",
        already[0].body_text()
    );
}

#[tokio::test]
async fn dry_run_changes_nothing_anywhere() {
    let w = World::new("dry").await;
    let id = new_id();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let approver = unique("dry-alice");
    let reject = Msg::new(
        &approver,
        &w.bridge,
        &format!("Re: Approval needed ({id})"),
        "Too risky.",
    );
    let refuse_from = unique("dry-bob");
    let refuse = Msg::new(&refuse_from, &w.bridge, "Re: something", "No id here.");
    let ignore = Msg::new(&unique("dry-eve"), &w.bridge, "Reject", "x").unauthenticated();
    for m in [&reject, &refuse, &ignore] {
        w.deliver(&m.render()).await;
    }
    w.wait_inbox(3).await;

    let out = w.run(&["--dry-run", "--once"]).await;
    assert_eq!(out.code, Some(0), "run --dry-run --once: {}", out.stderr);
    assert!(
        out.stderr.contains(&id),
        "the dry run did not log its decision: {}",
        out.stderr
    );
    let out = w.run(&["--dry-run"]).await;
    assert_eq!(out.code, Some(0), "run --dry-run: {}", out.stderr);

    let calls = w.sim.calls().await;
    assert!(calls.is_empty(), "a dry run called Graph: {calls:#?}");
    assert_eq!(w.sim.request(&id).await["status"], "needsApproval");
    let inbox = w.folder("INBOX").await;
    assert_eq!(
        message_ids(&inbox),
        sorted(vec![
            reject.message_id.clone(),
            refuse.message_id.clone(),
            ignore.message_id.clone()
        ])
    );
    assert!(w.seen("INBOX").await.is_empty(), "\\Seen set by a dry run");
    for folder in [".Processed", ".Ignored", ".Failed"] {
        assert!(
            !w.maildir().join(folder).exists(),
            "a dry run created {folder}"
        );
    }
    assert!(!w.state.exists(), "a dry run created the journal");
    assert!(
        !w.state.parent().unwrap().exists(),
        "a dry run created the state folder"
    );
    for who in [&approver, &refuse_from] {
        let mail = approver_mail(&w.stack, who, 0).await;
        assert!(mail.is_empty(), "a dry run sent mail to {who}: {mail:#?}");
    }

    // Once a journal exists, a dry run still writes nothing to it or beside it.
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);
    assert_eq!(w.calls("reject").await.len(), 1);
    let later = Msg::new(
        &unique("dry-carol"),
        &w.bridge,
        &format!("Re: Approval needed ({})", new_id()),
        "Not this.",
    )
    .header("In-Reply-To: <notification-1@example.test>");
    w.deliver(&later.render()).await;
    w.wait_inbox(1).await;
    let before = snapshot(w.state.parent().unwrap());
    assert!(!before.is_empty(), "the real run wrote no journal");
    let out = w.run(&["--dry-run"]).await;
    assert_eq!(out.code, Some(0), "run --dry-run: {}", out.stderr);
    assert_eq!(
        snapshot(w.state.parent().unwrap()),
        before,
        "a dry run changed the state folder"
    );
    assert_eq!(
        message_ids(&w.folder("INBOX").await),
        vec![later.message_id.clone()]
    );
    assert_eq!(w.calls("reject").await.len(), 1);
}

/// Every file in `dir` with its length and content hash.
fn snapshot(dir: &std::path::Path) -> Vec<(String, u64, String)> {
    use sha2::{Digest, Sha256};
    let mut out: Vec<(String, u64, String)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let data = std::fs::read(e.path()).unwrap_or_default();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        data.len() as u64,
                        format!("{:x}", Sha256::digest(&data)),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test]
async fn smtp_down_leaves_the_message_and_a_later_run_replies_without_a_second_post() {
    let knobs = Knobs {
        smtp_port: Some(closed_port()),
        ..Knobs::default()
    };
    let w = World::with("smtpdown", knobs).await;
    let id = new_id();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let approver = unique("smtp-alice");
    let m = Msg::new(
        &approver,
        &w.bridge,
        &format!("Re: Approval needed ({id})"),
        "Stop this one: <script>alert(1)</script> & co.",
    );
    w.deliver(&m.render()).await;
    w.wait_inbox(1).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(
        out.code,
        Some(1),
        "run --once with SMTP down: {}",
        out.stderr
    );
    assert!(w.seen("INBOX").await.is_empty(), "\\Seen set");
    assert_eq!(w.calls("reject").await.len(), 1);
    assert_eq!(w.sim.request(&id).await["status"], "rejected");
    assert_eq!(
        message_ids(&w.folder("INBOX").await),
        vec![m.message_id.clone()]
    );
    assert!(w.folder("Processed").await.is_empty());

    w.write_config(&Knobs::default());
    let out = w.run(&["--once"]).await;
    assert_eq!(
        out.code,
        Some(0),
        "run --once with SMTP back: {}",
        out.stderr
    );
    assert_eq!(w.calls("reject").await.len(), 1, "a second POST");
    assert!(w.folder("INBOX").await.is_empty());
    assert_eq!(
        message_ids(&w.folder("Processed").await),
        vec![m.message_id.clone()]
    );
    let mail = approver_mail(&w.stack, &approver, 1).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    let text = check_reply(&w, &mail[0], &m, &[]);
    assert!(text.contains("has been rejected"), "{text}");
    assert!(text.contains("<script>alert(1)</script> & co."), "{text}");
    // The approver's text is escaped in the HTML part.
    let html = mail[0]
        .parsed()
        .body_html(0)
        .unwrap_or_default()
        .into_owned();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
}

#[tokio::test]
async fn a_reply_refused_for_good_by_smtp_still_files_the_message() {
    // Postfix refuses to relay to a domain off the machine (554): a permanent failure.
    let knobs = Knobs {
        extra_allowed: vec!["@outside.invalid".into()],
        ..Knobs::default()
    };
    let w = World::with("smtp5xx", knobs).await;
    let id = new_id();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let m = Msg::new(
        &format!("carol-{}@outside.invalid", uuid::Uuid::new_v4().simple()),
        &w.bridge,
        &format!("Re: Approval needed ({id})"),
        "Not now.",
    )
    .unauthenticated()
    .header(
        "Authentication-Results: mx.example.test; dkim=pass header.d=outside.invalid; dmarc=pass header.from=outside.invalid",
    );
    w.deliver(&m.render()).await;
    w.wait_inbox(1).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);
    assert!(
        out.stderr.contains("undeliverable"),
        "the refused reply was not reported: {}",
        out.stderr
    );
    assert_eq!(w.calls("reject").await.len(), 1);
    assert_eq!(w.sim.request(&id).await["status"], "rejected");
    assert!(w.folder("INBOX").await.is_empty(), "left in INBOX");
    let filed: Vec<Found> = [w.folder("Processed").await, w.folder("Failed").await].concat();
    assert_eq!(message_ids(&filed), vec![m.message_id.clone()]);

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "second run: {}", out.stderr);
    assert_eq!(w.calls("reject").await.len(), 1, "a second POST");
}

#[tokio::test]
async fn without_move_the_message_is_filed_by_copy_and_expunge() {
    let stack = stack();
    let knobs = Knobs {
        imap_host: Some(stack.nomove_host.clone()),
        ..Knobs::default()
    };
    let w = World::with("nomove", knobs).await;
    let id = new_id();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let approver = unique("nomove-alice");
    let m = Msg::new(
        &approver,
        &w.bridge,
        &format!("Re: Approval needed ({id})"),
        "No.",
    );
    let ignored = Msg::new(&unique("nomove-eve"), &w.bridge, "Reject", "x").unauthenticated();
    w.deliver(&m.render()).await;
    w.deliver(&ignored.render()).await;
    w.wait_inbox(2).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);
    assert_eq!(w.calls("reject").await.len(), 1);
    assert!(w.folder("INBOX").await.is_empty(), "left in INBOX");
    assert_eq!(
        message_ids(&w.folder("Processed").await),
        vec![m.message_id.clone()]
    );
    assert_eq!(
        message_ids(&w.folder("Ignored").await),
        vec![ignored.message_id.clone()]
    );
    assert!(w.seen("Processed").await.is_empty(), "\\Seen set");
    let mail = approver_mail(&w.stack, &approver, 1).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
}

#[tokio::test]
async fn a_large_message_is_decided_from_its_text() {
    let knobs = Knobs {
        max_message_bytes: 50_000,
        ..Knobs::default()
    };
    let w = World::with("large", knobs).await;
    let id = new_id();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let approver = unique("large-alice");
    let message_id = format!("{}@client.example.test", uuid::Uuid::new_v4());
    let attachment = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n".repeat(8000); // ~300 kB
    let raw = format!(
        "{auth}\nFrom: Alice <{approver}>\nTo: {bridge}\nSubject: Re: Approval needed ({id})\n\
         Message-ID: <{message_id}>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"outer\"\n\n\
         --outer\nContent-Type: text/plain; charset=utf-8\n\n\
         Too risky: the device is in use. Logs attached.\n\n\
         --outer\nContent-Type: application/pdf; name=\"logs.pdf\"\n\
         Content-Disposition: attachment; filename=\"logs.pdf\"\nContent-Transfer-Encoding: base64\n\n\
         {attachment}--outer--\n",
        auth = AUTH_OK,
        bridge = w.bridge,
    );
    w.deliver(&raw).await;
    w.wait_inbox(1).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);
    let rejects = w.calls("reject").await;
    assert_eq!(rejects.len(), 1, "{rejects:#?}");
    assert_eq!(
        rejects[0]["body"]["justification"],
        format!(
            "Too risky: the device is in use. Logs attached. (rejected by {approver} via email)"
        )
    );
    // Filed whole: the attachment went along, untouched.
    let processed = w.folder("Processed").await;
    assert_eq!(processed.len(), 1);
    assert!(
        processed[0].raw.len() > 300_000,
        "{}",
        processed[0].raw.len()
    );
    assert!(w.folder("INBOX").await.is_empty());
    let mail = approver_mail(&w.stack, &approver, 1).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert!(mail[0].body_text().contains("has been rejected"));
}

#[tokio::test]
async fn a_long_text_is_cut_to_graphs_limit_and_the_confirmation_says_so() {
    let w = World::new("long").await;
    let id = new_id();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let approver = unique("long-alice");
    // 13 UTF-16 units per repetition (the emoji counts twice): about 1950 in all.
    let long = "Too risky 🔥 ".repeat(150);
    let m = Msg::new(
        &approver,
        &w.bridge,
        &format!("Re: Approval needed ({id})"),
        long.trim_end(),
    );
    w.deliver(&m.render()).await;
    w.wait_inbox(1).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);
    let rejects = w.calls("reject").await;
    assert_eq!(rejects.len(), 1, "{rejects:#?}");
    assert!(is_2xx(&rejects[0]), "{:#?}", rejects[0]);
    let sent = rejects[0]["body"]["justification"]
        .as_str()
        .expect("a justification")
        .to_string();
    assert!(sent.encode_utf16().count() <= 1024, "{sent}");
    assert!(sent.starts_with("Too risky 🔥 Too risky"), "{sent}");
    assert!(sent.contains('…'), "{sent}");
    assert!(
        sent.ends_with(&format!("(rejected by {approver} via email)")),
        "{sent}"
    );
    let mail = approver_mail(&w.stack, &approver, 1).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    let text = mail[0].body_text();
    assert!(text.contains("has been rejected"), "{text}");
    assert!(text.contains("shortened"), "{text}");
}

#[tokio::test]
async fn the_same_words_sent_twice_reject_once_and_the_second_is_told_already_decided() {
    let w = World::new("twice").await;
    let id = new_id();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let approver = unique("alice");
    let subject = format!("RE: Approval needed ({id})");
    let first = Msg::new(&approver, &w.bridge, &subject, "Not during the freeze.");
    let second = Msg::new(&approver, &w.bridge, &subject, "Not during the freeze.");
    w.deliver(&first.render()).await;
    w.deliver(&second.render()).await;
    w.wait_inbox(2).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);
    assert_eq!(w.calls("reject").await.len(), 1, "one POST only");
    let mail = approver_mail(&w.stack, &approver, 2).await;
    assert_eq!(mail.len(), 2, "one reply per message: {mail:#?}");
    let texts: Vec<String> = mail.iter().map(|m| m.body_text()).collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("has been rejected"))
            .count(),
        1,
        "{texts:#?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("no longer waiting for approval") && t.contains("\"rejected\""))
            .count(),
        1,
        "the second message is told the request was already decided: {texts:#?}"
    );
    assert_eq!(w.folder("Processed").await.len(), 2);
}

/// Replies to several requests, interleaved, drained in one pass with several messages in flight:
/// for each request the reply that arrived first rejects it, the later ones are told it was
/// already decided; each request gets one POST.
#[tokio::test]
async fn one_requests_replies_are_taken_in_arrival_order_while_others_run_beside_them() {
    let w = World::new("order").await;
    let ids: Vec<String> = (0..4).map(|_| new_id()).collect();
    for id in &ids {
        w.sim
            .seed(json!({"id": id, "status": "needsApproval"}))
            .await;
    }
    // Three rounds: every request gets a reply from a different approver each round.
    let approvers: Vec<String> = (0..3).map(|i| unique(&format!("order{i}"))).collect();
    for approver in &approvers {
        for id in &ids {
            let subject = format!("RE: Approval needed ({id})");
            let msg = Msg::new(approver, &w.bridge, &subject, "Not during the freeze.");
            w.deliver(&msg.render()).await;
        }
    }
    w.wait_inbox(ids.len() * approvers.len()).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "run --once: {}", out.stderr);
    let calls = w.calls("reject").await;
    for id in &ids {
        assert_eq!(rejects_for(&calls, id).len(), 1, "one POST for {id}");
    }
    // The first round's approver rejected every request; the later ones were told.
    let first = approver_mail(&w.stack, &approvers[0], ids.len()).await;
    for m in &first {
        assert!(
            m.body_text().contains("has been rejected"),
            "{}",
            m.body_text()
        );
    }
    for later in &approvers[1..] {
        let mail = approver_mail(&w.stack, later, ids.len()).await;
        assert_eq!(mail.len(), ids.len());
        for m in &mail {
            let text = m.body_text();
            assert!(
                text.contains("no longer waiting for approval") && text.contains("\"rejected\""),
                "{later}: {text}"
            );
        }
    }
    assert_eq!(
        w.folder("Processed").await.len(),
        ids.len() * approvers.len()
    );
}
