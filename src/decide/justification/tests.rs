//! Tests of the justification rendering: the template, the approver's text, and the cut to Graph's limit.

use super::*;
use crate::config::DEFAULT_JUSTIFICATION_TEMPLATE as T;

#[test]
fn default_template_with_and_without_text() {
    let j = render(T, "Not during business hours", "alice@example.test").unwrap();
    assert_eq!(
        j.text,
        "Not during business hours (rejected by alice@example.test via email)"
    );
    assert!(!j.truncated);
    let j = render(T, "", "alice@example.test").unwrap();
    assert_eq!(j.text, "Rejected by alice@example.test via email");
}

#[test]
fn long_text_is_cut_to_1024_utf16_units() {
    let text = "😀".repeat(2000); // two UTF-16 units each
    let j = render(T, &text, "alice@example.test").unwrap();
    assert!(j.truncated);
    let n = j.text.encode_utf16().count();
    assert!(n <= MAX_UTF16_UNITS, "{n}");
    assert!(n >= MAX_UTF16_UNITS - 2, "cut too much: {n}");
    assert!(j.text.contains("…"));
    assert!(
        j.text
            .ends_with("(rejected by alice@example.test via email)")
    );
}

#[test]
fn cut_at_a_grapheme_boundary() {
    // A family emoji is one grapheme of 11 UTF-16 units; "é" written as e + U+0301 is one
    // grapheme of two code points; a flag is two regional indicators.
    for unit in ["👨‍👩‍👧‍👦", "e\u{301}", "🇩🇪", "👍🏽"] {
        let text = unit.repeat(600);
        let j = render(T, &text, "alice@example.test").unwrap();
        assert!(j.truncated);
        assert!(j.text.encode_utf16().count() <= MAX_UTF16_UNITS);
        let kept = j.text.split('…').next().unwrap();
        assert!(!kept.is_empty());
        assert_eq!(
            kept.len() % unit.len(),
            0,
            "{unit:?}: cut inside a grapheme"
        );
        assert!(kept.chars().zip(unit.chars().cycle()).all(|(a, b)| a == b));
    }
    // A template too long for any text is cut at a grapheme boundary too.
    let long = format!("{}{{{{ text }}}}", "🇫🇷".repeat(600));
    let j = render(&long, "x", "alice@example.test").unwrap();
    let kept = j.text.trim_end_matches('…');
    assert_eq!(kept.len() % "🇫🇷".len(), 0);
    assert!(j.text.encode_utf16().count() <= MAX_UTF16_UNITS);
}

#[test]
fn text_is_not_html_escaped() {
    let j = render(T, "a < b & \"c\"", "x@y.test").unwrap();
    assert!(j.text.starts_with("a < b & \"c\""));
}

#[test]
fn bad_templates_are_reported() {
    assert!(check_template("{% if %}").is_err());
    assert!(check_template("{{ nope }}").is_err());
    assert!(check_template(T).is_ok());
}
