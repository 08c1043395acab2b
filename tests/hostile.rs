//! The large hostile shapes of issue 12 (`tests/support/hostile.rs`), generated at a size that
//! once cost seconds or gigabytes, through the whole read → decide path: nothing panics, the
//! approver's words still come out, and what the reader returns stays within a small multiple
//! of the input. (How the time grows with the input is measured by `cargo bench --bench
//! scaling`, not here: no test depends on the machine's speed.)
//!
//! The small shapes are golden fixtures in `tests/fixtures/hostile/`.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use reject_bridge::config::Config;
use reject_bridge::decide::{self, Decision, Policy};
use reject_bridge::model::Reason;
use reject_bridge::read::incoming::{self, Incoming};
use support::hostile::{self, REQUEST_ID, SHAPES, ShapeGen};

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config.toml");
        Policy::from_config(&Config::load(&path).expect("the fixtures' config loads"))
    })
}

fn read_large(shape: &ShapeGen) -> (Vec<u8>, Incoming, Decision) {
    let raw = hostile::message(
        shape,
        shape.large,
        "alice@example.test",
        "approvals@example.test",
        true,
    )
    .into_bytes();
    let reply = incoming::read(&raw);
    let d = decide::decide(&reply, None, policy());
    (raw, reply, d)
}

/// What the reader returns is at most twice the input plus a little: no shape multiplies it.
fn assert_bounded(name: &str, raw: &[u8], reply: &Incoming) {
    let out = reply.new_text.len() + reply.rest.len();
    assert!(
        out <= 2 * raw.len() + 64 * 1024,
        "{name}: {out} bytes read out of a {} byte message",
        raw.len()
    );
}

#[test]
fn every_large_shape_is_read_and_decided() {
    for shape in SHAPES {
        let (raw, reply, d) = read_large(shape);
        assert_eq!(reply.malformed, None, "{}", shape.name);
        assert_bounded(shape.name, &raw, &reply);
        // The subject names one request: every shape is decided on its words, never refused
        // for want of an ID.
        assert_eq!(
            d.request_id.as_deref(),
            Some(REQUEST_ID),
            "{}: {}",
            shape.name,
            d.explanation
        );
        assert!(
            matches!(d.reason, Reason::Ok | Reason::LooksLikeApproval),
            "{}: {}",
            shape.name,
            d.explanation
        );
    }
}

#[test]
fn the_approvers_words_survive_the_hostile_markup() {
    let words = |name: &str| read_large(&hostile::shape(name)).1.new_text;
    // Only the start of a long text in a failure message.
    let head = |t: String| t.chars().take(120).collect::<String>();
    assert_eq!(words("table_colspan_rowspan"), "");
    let wide = head(words("table_wide_cell"));
    assert!(wide.starts_with("Not now.\n\na"), "{wide}");
    assert_eq!(words("div_unclosed_x"), "");
    assert_eq!(words("a_without_gt"), "No.");
    assert_eq!(words("attributes_in_one_tag"), "No.");
    assert_eq!(words("deep_nesting"), "No.");
    let lists = head(words("deep_lists"));
    assert!(lists.starts_with("x\nx\n"), "{lists}");
    let inline = head(words("inline_attribution"));
    assert!(inline.starts_with("No On Mon"), "{inline}");
    // Lines that look like attributions but end without a colon are the approver's text.
    assert!(
        words("long_lines_like_attributions")
            .starts_with("No.\nOn Mon, 1 Jun 2026 at 10:00, someone")
    );
    assert_eq!(words("many_mime_parts"), "part 0");
    let (_, reply, _) = read_large(&hostile::shape("many_references"));
    assert_eq!(
        reply.references.len(),
        hostile::shape("many_references").large
    );
}

#[test]
fn a_wide_table_cell_is_one_line_of_text_not_a_padded_grid() {
    let (raw, reply, _) = read_large(&hostile::shape("table_wide_cell"));
    // Before: every row padded to the widest cell (200 rows × 200,000 columns).
    assert!(reply.new_text.len() < raw.len(), "{}", reply.new_text.len());
    assert!(
        reply.new_text.lines().any(|l| l == "b c"),
        "cells are separated by one space"
    );
}

#[test]
fn tens_of_thousands_of_ids_are_found_once_each() {
    let (_, reply, _) = read_large(&hostile::shape("many_request_ids"));
    let ids = decide::find_ids(&policy().request_id_pattern, &reply.new_text);
    assert_eq!(ids.len(), hostile::shape("many_request_ids").large);
    let doubled = format!("{0}\n{0}", reply.new_text);
    assert_eq!(
        decide::find_ids(&policy().request_id_pattern, &doubled).len(),
        ids.len()
    );
}

#[test]
fn html_parser_warnings_do_not_flood_the_log() {
    // Text inside a table makes html5ever warn once per node ("foster parenting not
    // implemented"): 800 KB of it once gave 300,000 log lines.
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("warnings.eml");
    let shape = hostile::shape("text_in_table_warnings");
    // As many nodes inside the table as html5ever is still allowed to read with a DOM.
    std::fs::write(
        &eml,
        hostile::message(
            &shape,
            1_400,
            "alice@example.test",
            "approvals@example.test",
            true,
        ),
    )
    .unwrap();
    for rust_log in [None, Some("warn"), Some("trace")] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reject-bridge"));
        cmd.args(["parse", "--json", "--config"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config.toml"))
            .arg(&eml);
        match rust_log {
            Some(level) => cmd.env("RUST_LOG", level),
            None => cmd.env_remove("RUST_LOG"),
        };
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        let lines = String::from_utf8_lossy(&out.stderr).lines().count();
        assert!(
            lines <= 100,
            "RUST_LOG={rust_log:?}: {lines} log lines for one message"
        );
    }
}
