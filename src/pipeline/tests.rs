//! Unit tests of [`crate::pipeline`].

use super::*;

#[test]
fn a_message_seen_under_an_old_uidvalidity_keeps_its_row() {
    let j = Journal::open_in_memory().unwrap();
    let old = MsgKey::new("INBOX", 7, 3);
    j.receive(&old, Some("<m@x.test>")).unwrap();
    let new = MsgKey::new("INBOX", 8, 1);
    let row = receive_or_carry(&j, &new, Some("m@x.test")).unwrap();
    assert_eq!(row.key, old, "the earlier row carries on");
    assert!(j.get(&new).unwrap().is_none(), "no second row");
}

#[test]
fn same_uidvalidity_other_mailbox_or_no_message_id_get_new_rows() {
    let j = Journal::open_in_memory().unwrap();
    j.receive(&MsgKey::new("INBOX", 7, 3), Some("m@x.test"))
        .unwrap();
    for (key, mid) in [
        (MsgKey::new("INBOX", 7, 4), Some("m@x.test")),
        (MsgKey::new("Other", 8, 1), Some("m@x.test")),
        (MsgKey::new("INBOX", 8, 2), None),
        (MsgKey::new("INBOX", 8, 3), Some("n@x.test")),
    ] {
        let row = receive_or_carry(&j, &key, mid).unwrap();
        assert_eq!(row.key, key);
        assert_eq!(row.state, State::Received);
    }
    // And a known key is its own row, whatever else shares its Message-ID.
    let k = MsgKey::new("INBOX", 8, 1);
    j.receive(&k, Some("m@x.test")).unwrap();
    assert_eq!(receive_or_carry(&j, &k, Some("m@x.test")).unwrap().key, k);
}
