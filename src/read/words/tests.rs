//! Tests of the reader as a whole: normalisation, NFC, and properties that hold for any input
//! (no panic, normalised output).

use super::*;

#[test]
fn normalise_line_ends_trailing_space_and_blank_lines() {
    assert_eq!(normalise("\r\n\n  a \u{a0}\r\nb\t\rc\n\n"), "  a\nb\nc");
    assert_eq!(normalise(" \n\u{3000}\n"), "");
}

#[test]
fn new_text_is_nfc() {
    // macOS and some webmail send decomposed text: "Zamítnuto", "Ablehnen, Gerät läuft".
    let decomposed = "Zami\u{301}tnuto. Gera\u{308}t la\u{308}uft.";
    assert_eq!(read_plain(decomposed).new_text, "Zamítnuto. Gerät läuft.");
    assert_eq!(
        read_html(&format!("<p>{decomposed}</p>")).new_text,
        "Zamítnuto. Gerät läuft."
    );
    // Patterns match decomposed attributions too.
    let r = read_plain(
        "Non.\n\nLe sam. 28 nov. 2026 a\u{300} 10:00, X <x@y.test> a e\u{301}crit :\nhistoire\n",
    );
    assert_eq!(r.new_text, "Non.");
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn is_normalised(t: &str) -> bool {
        !t.contains('\r')
            && t.split('\n').all(|l| l.trim_end() == l)
            && !t.starts_with('\n')
            && !t.ends_with('\n')
            && (t.is_empty() || !t.split('\n').next().unwrap_or_default().is_empty())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn plain_never_panics_and_is_normalised(s in any::<String>()) {
            let r = read_plain(&s);
            prop_assert!(is_normalised(&r.new_text), "{:?}", r.new_text);
            prop_assert!(unicode_normalization::is_nfc(&r.new_text));
        }

        #[test]
        fn mail_like_plain_is_normalised(s in r"(On |> |-- |\r\n|\n|From: |Sent: |wrote:|[a-z ]{0,8}|\u{a0}|ᐧ){0,40}") {
            let r = read_plain(&s);
            prop_assert!(is_normalised(&r.new_text), "{:?}", r.new_text);
        }

        #[test]
        fn html_never_panics_and_is_normalised(s in r"(<[a-z]{1,10}( class=.gmail_quote.| id=.divRplyFwdMsg.| href=.x.)?>|</[a-z]{1,10}>|&[a-z]{2,5};|[^<&]{0,10}){0,30}") {
            let r = read_html(&s);
            prop_assert!(is_normalised(&r.new_text), "{:?}", r.new_text);
        }

        #[test]
        fn html_arbitrary_never_panics(s in any::<String>()) {
            let r = read_html(&s);
            prop_assert!(is_normalised(&r.new_text));
        }

        #[test]
        fn unflow_never_panics(s in any::<String>(), delsp in any::<bool>()) {
            let out = unflow(&s, delsp);
            prop_assert!(out.len() <= s.len() + s.matches('>').count() * 2 + 1);
        }
    }
}
