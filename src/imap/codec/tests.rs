//! Unit tests of the IMAP codecs: UID sets and folder names.

use super::*;

#[test]
fn uid_sets_use_ranges() {
    assert_eq!(uid_set(&[3]), "3");
    assert_eq!(uid_set(&[5, 3, 4, 9, 12, 13, 13]), "3:5,9,12:13");
    assert_eq!(uid_set(&[1, 3, 5]), "1,3,5");
    assert_eq!(
        uid_set(&[u32::MAX - 1, u32::MAX]),
        format!("{}:{}", u32::MAX - 1, u32::MAX)
    );
}

#[test]
fn mailbox_names_in_modified_utf7() {
    assert_eq!(encode_mailbox_name("Processed"), "Processed");
    assert_eq!(encode_mailbox_name("A&B"), "A&-B");
    assert_eq!(encode_mailbox_name("Bearbeitét"), "Bearbeit&AOk-t");
    assert_eq!(encode_mailbox_name("日本語"), "&ZeVnLIqe-");
    assert_eq!(
        encode_mailbox_name("~peter/mail/台北/日本語"),
        "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    );
}

#[test]
fn inbox_matches_in_any_case() {
    let listed = vec!["INBOX".to_string(), "Processed".to_string()];
    assert!(folder_listed(&listed, "inbox"));
    assert!(folder_listed(&listed, "Processed"));
    assert!(!folder_listed(&listed, "processed"));
}
