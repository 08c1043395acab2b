//! Unit tests of partial fetches: the plan of parts and the reassembled message.

use super::*;

#[test]
fn thousands_of_parts_make_a_bounded_fetch_command() {
    let plan = Plan::Multi {
        path: vec![],
        boundary: "b".into(),
        children: (1..=3000)
            .map(|i| Plan::Text {
                path: vec![i],
                octets: 10,
            })
            .collect(),
    };
    let items = plan.fetch_items(10_000_000);
    assert_eq!(items.len(), MAX_FETCH_ITEMS);
    assert!(items.join(" ").len() < 8 * 1024);
    assert_eq!(items[0], "BODY.PEEK[1.MIME]");
    assert_eq!(items[1], "BODY.PEEK[1]");
    // The message still assembles, the parts left out empty.
    let raw = plan.assemble(b"Subject: x\r\n\r\n", &PartData::default());
    assert!(raw.ends_with(b"\r\n--b--\r\n"));
}

#[test]
fn partial_text_ends_at_a_line() {
    assert_eq!(trim_partial(b"abc\r\ndef"), b"abc\r\n");
    assert_eq!(trim_partial(b"abc\r\n"), b"abc\r\n");
    assert_eq!(trim_partial(b"abc"), b"abc");
}
