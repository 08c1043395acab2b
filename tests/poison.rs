//! A message whose reading keeps failing (here: it needs more memory than `imap.read_memory_mib`
//! allows) is counted against in the journal at each `run --once`, never blocks the reply behind
//! it, and after `imap.poison_attempts` attempts is filed to the failed folder with its reason.
//! The real binary against the stack, as in tests/e2e.rs.

mod support;

use reject_bridge::journal::Journal;
use reject_bridge::model::State;
use serde_json::json;
use support::hostile;
use support::mail::Msg;
use support::world::{Knobs, World};

#[tokio::test]
async fn a_message_that_cannot_be_read_is_filed_to_failed_and_blocks_nothing() {
    let knobs = Knobs {
        max_message_bytes: 20_000_000,
        // Small messages read in 16 MiB; a 4 MB one cannot.
        imap_extra: vec!["read_memory_mib = 16".into(), "poison_attempts = 2".into()],
        ..Knobs::default()
    };
    let w = World::with("poison", knobs).await;
    let id = uuid::Uuid::new_v4().to_string();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let approver = support::stack::unique("poison-alice");
    let shape = hostile::shape("many_request_ids");
    let big = hostile::message(&shape, 100_000, &approver, &w.bridge, true);
    let big_id = format!("{}.100000@client.example.test", shape.name);
    let normal = Msg::new(
        &approver,
        &w.bridge,
        &format!("Re: Approval needed ({id})"),
        "Not this one.",
    );
    w.deliver(&big).await;
    w.deliver(&normal.render()).await;
    w.wait_inbox(2).await;

    // First run: the big one fails and stays; the one behind it is rejected all the same.
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(1), "one message left: {}", out.stderr);
    assert!(
        out.stderr.contains("reading the message failed"),
        "{}",
        out.stderr
    );
    assert_eq!(w.calls("reject").await.len(), 1, "the reply behind it");
    assert_eq!(w.sim.request(&id).await["status"], "rejected");
    assert_eq!(w.folder("INBOX").await.len(), 1);

    let row = |journal: &Journal| {
        journal
            .find_by_message_id(&big_id)
            .unwrap()
            .into_iter()
            .next()
            .expect("a journal row for the big message")
    };
    let first = row(&Journal::open_read_only(&w.state).unwrap());
    assert_eq!(first.state, State::Received);
    assert_eq!(first.failures(), 1);
    let reason = first.last_error.clone().unwrap();
    assert_eq!(reason.step, "read");
    assert!(reason.error.contains("memory budget (16 MiB"), "{reason:?}");

    // Second run: the last attempt fails too, and the message is filed to Failed.
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("filed to the failed folder"),
        "{}",
        out.stderr
    );
    assert!(w.folder("INBOX").await.is_empty());
    let failed = w.folder("Failed").await;
    assert_eq!(failed.len(), 1);
    assert!(failed[0].text().contains(&big_id));
    let last = row(&Journal::open_read_only(&w.state).unwrap());
    assert_eq!(last.state, State::Filed);
    assert!(last.gave_up);
    assert_eq!(last.target_folder.as_deref(), Some("Failed"));
    assert_eq!(w.calls("reject").await.len(), 1, "no second POST");

    // A third run has nothing to do.
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}
