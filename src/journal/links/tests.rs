//! Tests of the linking links: one per held message, found by token hash and by sign-in state,
//! used once, valid from when its mail went out.

use super::*;

#[test]
fn a_link_per_held_message_found_by_hash_and_state_used_once() {
    let j = Journal::open_in_memory().unwrap();
    let key = MsgKey::new("INBOX", 1, 1);
    let row = j.receive(&key, None).unwrap();
    let l = j
        .create_link(
            "Alice@X.test",
            row.id,
            "h1",
            b"sealed",
            "link.1@x.test",
            1800,
        )
        .unwrap();
    assert_eq!(l.approver, "alice@x.test");
    assert!(!l.expired && l.mailed_at.is_none() && l.used_at.is_none());
    // Never a second link for the same reply.
    let again = j
        .create_link(
            "alice@x.test",
            row.id,
            "h2",
            b"other",
            "link.2@x.test",
            1800,
        )
        .unwrap();
    assert_eq!(again.id, l.id);
    assert_eq!(again.mail_message_id, "link.1@x.test");
    assert!(j.link_by_token_hash("h2").unwrap().is_none());

    j.link_mailed(l.id, 1800).unwrap();
    assert!(
        j.link_by_token_hash("h1")
            .unwrap()
            .unwrap()
            .mailed_at
            .is_some()
    );
    j.link_opened(l.id, "st", b"v").unwrap();
    assert_eq!(j.link_by_state("st").unwrap().unwrap().id, l.id);
    j.link_used(l.id).unwrap();
    let used = j.link_by_token_hash("h1").unwrap().unwrap();
    assert!(used.used_at.is_some());
    assert!(
        j.link_by_state("st").unwrap().is_none(),
        "the round trip is over"
    );
    j.link_opened(l.id, "st2", b"v").unwrap();
    assert!(
        j.link_by_state("st2").unwrap().is_none(),
        "a used link opens no more"
    );

    let key2 = MsgKey::new("INBOX", 1, 2);
    let row2 = j.receive(&key2, None).unwrap();
    let gone = j
        .create_link("bob@x.test", row2.id, "h3", b"s", "link.3@x.test", 1800)
        .unwrap();
    assert!(!gone.expired);
    // The validity starts when the mail goes out.
    j.link_mailed(gone.id, 0).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert!(j.link_by_token_hash("h3").unwrap().unwrap().expired);
}
