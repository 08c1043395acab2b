//! Tests of the journal's rows: every transition, the guards that keep a row moving forward,
//! what is recorded on the way, the lookups.

use super::*;

#[test]
fn answers_are_counted_per_sender_in_the_window_and_old_rows_pruned() {
    let j = Journal::open_in_memory().unwrap();
    let d = decided(Verdict::Refuse, "looks_like_approval");
    for uid in 1..=3 {
        j.receive(&key(uid), None).unwrap();
        j.record_decision(&key(uid), &d).unwrap();
        j.begin_reply(&key(uid), "example.test").unwrap();
    }
    assert_eq!(j.answers_since("alice@example.test", 3600).unwrap(), 3);
    assert_eq!(j.answers_since("bob@example.test", 3600).unwrap(), 0);
    j.record_reply(&key(1), &ReplyResult::Sent).unwrap();
    j.record_reply(
        &key(2),
        &ReplyResult::Undeliverable {
            error: "withheld".into(),
        },
    )
    .unwrap();
    assert_eq!(j.answers_since("alice@example.test", 3600).unwrap(), 2);
    // Rows from long ago: out of the window, and pruned once filed.
    j.lock()
        .execute(
            "UPDATE messages SET reply_started_at = '2000-01-01T00:00:00.000Z', filed_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .unwrap();
    assert_eq!(j.answers_since("alice@example.test", 3600).unwrap(), 0);
    j.record_filed(&key(1), "Processed").unwrap();
    j.lock()
        .execute(
            "UPDATE messages SET filed_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .unwrap();
    assert_eq!(j.prune_filed(400).unwrap(), 1, "only the filed row");
    assert!(j.get(&key(1)).unwrap().is_none());
    assert!(j.get(&key(2)).unwrap().is_some(), "unfinished rows stay");
    assert_eq!(j.prune_filed(400).unwrap(), 0);
}

#[test]
fn readings_are_counted_before_they_start() {
    let j = Journal::open_in_memory().unwrap();
    j.receive(&key(1), None).unwrap();
    assert_eq!(j.begin_read(&key(1)).unwrap(), 1);
    assert_eq!(j.begin_read(&key(1)).unwrap(), 2);
    assert_eq!(j.get(&key(1)).unwrap().unwrap().failures(), 2);
    j.set_message_id(&key(1), "<m@x>").unwrap();
    j.set_message_id(&key(1), "other@x").unwrap();
    assert_eq!(
        j.get(&key(1)).unwrap().unwrap().message_id.as_deref(),
        Some("m@x"),
        "set once"
    );
    j.record_decision(&key(1), &decided(Verdict::Ignore, "stale"))
        .unwrap();
    let row = j.get(&key(1)).unwrap().unwrap();
    assert_eq!(
        row.failures(),
        1,
        "the reading that succeeded is no failure"
    );
    assert!(
        j.begin_read(&key(1)).is_err(),
        "only a received row is read"
    );
    j.record_error(&key(1), Step::Panic, "panicked: x", false)
        .unwrap();
    assert_eq!(j.get(&key(1)).unwrap().unwrap().failures(), 2);
    j.mark_gave_up(&key(1)).unwrap();
    assert!(j.get(&key(1)).unwrap().unwrap().gave_up);
}

#[test]
fn receive_inserts_once() {
    let j = Journal::open_in_memory().unwrap();
    let r1 = j.receive(&key(1), Some("<m1@x.test>")).unwrap();
    assert_eq!(r1.state, State::Received);
    assert_eq!(r1.message_id.as_deref(), Some("m1@x.test"));
    let r2 = j.receive(&key(1), Some("other@x.test")).unwrap();
    assert_eq!(r1, r2, "a known key is returned unchanged");
    let r3 = j.receive(&MsgKey::new("INBOX", 8, 1), None).unwrap();
    assert_ne!(r3.id, r1.id, "a new UIDVALIDITY is a new key");
    assert_eq!(j.unfinished().unwrap().len(), 2);
    assert!(j.get(&key(99)).unwrap().is_none());
}

#[test]
fn reject_path_walks_every_state() {
    let j = Journal::open_in_memory().unwrap();
    let k = key(1);
    j.receive(&k, Some("m1@x.test")).unwrap();
    let d = decided(Verdict::Reject, "ok");
    j.record_decision(&k, &d).unwrap();
    let row = j.get(&k).unwrap().unwrap();
    assert_eq!(row.state, State::Decided);
    assert_eq!(row.decided.as_ref(), Some(&d));
    assert!(row.decided_at.is_some());

    assert_eq!(j.begin_graph(&k).unwrap(), 1);
    assert_eq!(state(&j, &k), State::GraphPending);
    assert_eq!(j.begin_graph(&k).unwrap(), 2, "a retry counts");
    j.record_graph(&k, &GraphOutcome::Rejected).unwrap();
    let row = j.get(&k).unwrap().unwrap();
    assert_eq!(row.state, State::GraphDone);
    assert_eq!(row.graph_outcome, Some(GraphOutcome::Rejected));
    assert_eq!(row.graph_attempts, 2);

    let id1 = j.begin_reply(&k, "example.test").unwrap();
    assert!(
        id1.starts_with("reply.") && id1.ends_with("@example.test"),
        "{id1}"
    );
    let id2 = j.begin_reply(&k, "other.test").unwrap();
    assert_eq!(
        id1, id2,
        "the reply's Message-ID is fixed by the first attempt"
    );
    let row = j.get(&k).unwrap().unwrap();
    assert_eq!(row.state, State::ReplyPending);
    assert_eq!(row.reply_attempts, 2);
    assert_eq!(row.reply_message_id.as_deref(), Some(id1.as_str()));

    j.record_reply(&k, &ReplyResult::Sent).unwrap();
    assert_eq!(state(&j, &k), State::ReplyDone);
    assert_eq!(j.begin_file(&k, "Processed").unwrap(), 1);
    assert_eq!(state(&j, &k), State::ReplyDone);
    j.record_filed(&k, "Processed").unwrap();
    let row = j.get(&k).unwrap().unwrap();
    assert_eq!(row.state, State::Filed);
    assert_eq!(row.target_folder.as_deref(), Some("Processed"));
    assert_eq!(row.reply_result, Some(ReplyResult::Sent));
    assert!(row.filed_at.is_some());
    assert!(j.unfinished().unwrap().is_empty());
}

#[test]
fn graph_outcomes_round_trip() {
    let j = Journal::open_in_memory().unwrap();
    let outcomes = [
        GraphOutcome::Rejected,
        GraphOutcome::AlreadyDecided {
            status: "approved".into(),
        },
        GraphOutcome::NotFound,
        GraphOutcome::Failed {
            message: "503 for 600 s".into(),
        },
    ];
    for (i, o) in outcomes.iter().enumerate() {
        let k = key(i as u32 + 1);
        j.receive(&k, None).unwrap();
        j.record_decision(&k, &decided(Verdict::Reject, "ok"))
            .unwrap();
        j.begin_graph(&k).unwrap();
        j.record_graph(&k, o).unwrap();
        assert_eq!(j.get(&k).unwrap().unwrap().graph_outcome.as_ref(), Some(o));
    }
}

#[test]
fn refusal_skips_graph_and_ignore_goes_straight_to_filed() {
    let j = Journal::open_in_memory().unwrap();
    let (r, i) = (key(1), key(2));
    j.receive(&r, None).unwrap();
    j.receive(&i, None).unwrap();
    j.record_decision(&r, &decided(Verdict::Refuse, "no_request_id"))
        .unwrap();
    j.record_decision(&i, &decided(Verdict::Ignore, "auto_submitted"))
        .unwrap();

    assert!(matches!(
        j.begin_graph(&r),
        Err(JournalError::WrongState { .. })
    ));
    assert!(matches!(
        j.begin_reply(&i, "x.test"),
        Err(JournalError::WrongState { .. })
    ));
    j.begin_reply(&r, "x.test").unwrap();
    j.record_reply(
        &r,
        &ReplyResult::Undeliverable {
            error: "550 no such user".into(),
        },
    )
    .unwrap();
    j.record_filed(&r, "Processed").unwrap();
    j.record_filed(&i, "Ignored").unwrap();
    let row = j.get(&r).unwrap().unwrap();
    assert_eq!(
        row.reply_result,
        Some(ReplyResult::Undeliverable {
            error: "550 no such user".into()
        })
    );
    assert_eq!(state(&j, &i), State::Filed);
}

#[test]
fn rows_never_move_backwards() {
    let j = Journal::open_in_memory().unwrap();
    let k = key(1);
    assert!(matches!(
        j.record_decision(&k, &decided(Verdict::Reject, "ok")),
        Err(JournalError::NotFound(_))
    ));
    j.receive(&k, None).unwrap();
    assert!(j.begin_graph(&k).is_err(), "not decided yet");
    assert!(j.record_graph(&k, &GraphOutcome::Rejected).is_err());
    assert!(j.record_reply(&k, &ReplyResult::Sent).is_err());
    j.record_decision(&k, &decided(Verdict::Reject, "ok"))
        .unwrap();
    let again = j.record_decision(&k, &decided(Verdict::Refuse, "no_request_id"));
    match again {
        Err(e @ JournalError::WrongState { .. }) => {
            assert!(e.to_string().contains("decided"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        j.begin_reply(&k, "x.test").is_err(),
        "a reject needs Graph first"
    );
    j.begin_graph(&k).unwrap();
    j.record_graph(&k, &GraphOutcome::NotFound).unwrap();
    assert!(j.begin_graph(&k).is_err(), "no Graph call after an outcome");
    assert!(j.record_graph(&k, &GraphOutcome::Rejected).is_err());
    j.record_filed(&k, "Failed").unwrap();
    assert!(j.record_filed(&k, "Processed").is_err());
    assert!(j.begin_file(&k, "Processed").is_err());
    assert!(j.begin_reply(&k, "x.test").is_err());
    let row = j.get(&k).unwrap().unwrap();
    assert_eq!(row.target_folder.as_deref(), Some("Failed"));
    assert_eq!(row.decided.unwrap().verdict, Verdict::Reject);
}

#[test]
fn errors_are_recorded_and_permanent_ones_stick() {
    let j = Journal::open_in_memory().unwrap();
    let k = key(1);
    j.receive(&k, None).unwrap();
    j.record_error(&k, Step::Fetch, "connection reset", false)
        .unwrap();
    j.record_error(&k, Step::Fetch, "connection reset", false)
        .unwrap();
    let row = j.get(&k).unwrap().unwrap();
    assert_eq!(row.fetch_attempts, 2);
    assert!(!row.gave_up);
    let e = row.last_error.unwrap();
    assert_eq!(
        (e.step.as_str(), e.error.as_str()),
        ("fetch", "connection reset")
    );

    j.record_error(&k, Step::Graph, "400 bad request", true)
        .unwrap();
    j.record_error(&k, Step::File, "NO [TRYCREATE]", false)
        .unwrap();
    let row = j.get(&k).unwrap().unwrap();
    assert!(row.gave_up, "a permanent error is not forgotten");
    assert_eq!(row.fetch_attempts, 2);
    assert_eq!(row.last_error.unwrap().step, "file");
    assert_eq!(row.state, State::Received);
    assert!(matches!(
        j.record_error(&key(9), Step::Reply, "x", false),
        Err(JournalError::NotFound(_))
    ));
}

#[test]
fn already_rejected_finds_another_message_only() {
    let j = Journal::open_in_memory().unwrap();
    let (a, b) = (key(1), key(2));
    for k in [&a, &b] {
        j.receive(k, None).unwrap();
        j.record_decision(k, &decided(Verdict::Reject, "ok"))
            .unwrap();
    }
    let id = "0F8E6C1A-1B2C-4D5E-8F90-A1B2C3D4E5F6";
    assert!(j.already_rejected(id, &b).unwrap().is_none());
    j.begin_graph(&a).unwrap();
    assert!(
        j.already_rejected(id, &b).unwrap().is_none(),
        "pending is not rejected"
    );
    j.record_graph(&a, &GraphOutcome::Rejected).unwrap();
    let found = j.already_rejected(id, &b).unwrap().unwrap();
    assert_eq!(found.key, a);
    assert!(j.already_rejected(id, &a).unwrap().is_none(), "not itself");
    assert!(
        j.already_rejected("11111111-1b2c-4d5e-8f90-a1b2c3d4e5f6", &b)
            .unwrap()
            .is_none()
    );
}

#[test]
fn find_by_message_id_ignores_angles() {
    let j = Journal::open_in_memory().unwrap();
    j.receive(&key(1), Some("m@x.test")).unwrap();
    j.receive(&key(2), Some("<m@x.test>")).unwrap();
    j.receive(&key(3), Some("n@x.test")).unwrap();
    let rows = j.find_by_message_id("<m@x.test>").unwrap();
    assert_eq!(
        rows.iter().map(|r| r.key.uid).collect::<Vec<_>>(),
        vec![1, 2]
    );
}

#[test]
fn reply_ids_differ_per_row() {
    let j = Journal::open_in_memory().unwrap();
    let mut ids = Vec::new();
    for uid in 1..=3 {
        let k = key(uid);
        j.receive(&k, Some("same@x.test")).unwrap();
        j.record_decision(&k, &decided(Verdict::Refuse, "no_request_id"))
            .unwrap();
        ids.push(j.begin_reply(&k, "example.test").unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[test]
fn notifications() {
    let j = Journal::open_in_memory().unwrap();
    let req = "0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
    assert!(
        j.record_notification("<n1@bridge.test>", req, "Alice@Example.test")
            .unwrap()
    );
    assert!(
        !j.record_notification("n1@bridge.test", req, "bob@example.test")
            .unwrap(),
        "a Message-ID is recorded once"
    );
    j.record_notification(
        "n2@bridge.test",
        "22222222-1b2c-4d5e-8f90-a1b2c3d4e5f6",
        "bob@example.test",
    )
    .unwrap();
    assert!(j.notified(req, "ALICE@example.test").unwrap());
    assert!(!j.notified(req, "bob@example.test").unwrap());

    let n = j
        .notification_for(
            &["<x@y.test>", "<n1@bridge.test>"],
            Some("alice@EXAMPLE.test"),
        )
        .unwrap()
        .unwrap();
    assert_eq!(n.request_id, req);
    assert_eq!(n.recipient, "alice@example.test");
    assert!(
        j.notification_for(&["n1@bridge.test"], Some("bob@example.test"))
            .unwrap()
            .is_none(),
        "sent to someone else"
    );
    let first = j
        .notification_for(&["n2@bridge.test", "n1@bridge.test"], None)
        .unwrap()
        .unwrap();
    assert_eq!(first.message_id, "n2@bridge.test", "the first named wins");
    assert!(j.notification_for(&[], None).unwrap().is_none());
}
