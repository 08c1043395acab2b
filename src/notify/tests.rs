//! Unit tests of [`crate::notify`].

use super::*;

#[test]
fn expiry_is_read_from_graph_time() {
    let mut r = RequestStatus {
        expiration_date_time: Some("2026-11-30T10:00:00Z".into()),
        ..RequestStatus::default()
    };
    let before = parse_time("2026-11-30T09:59:59Z").unwrap();
    let after = parse_time("2026-11-30T10:00:00Z").unwrap();
    assert!(!expired(&r, before));
    assert!(expired(&r, after));
    r.expiration_date_time = Some("soon".into());
    assert!(!expired(&r, after), "unreadable: not expired");
    r.expiration_date_time = None;
    assert!(!expired(&r, after));
}

#[test]
fn a_report_with_only_counts_of_what_was_seen_is_quiet() {
    let quiet = PollReport {
        listed: 4,
        waiting: 2,
        ..PollReport::default()
    };
    assert!(!quiet.anything());
    assert!(PollReport { sent: 1, ..quiet }.anything());
}
