//! Whether nobody typed a message (SPEC §3 rule 3): the header fields that mark mail as
//! auto-generated (`Auto-Submitted`, `Precedence`, `List-Id`, `X-Autoreply`, an empty
//! `Return-Path`, a top-level `multipart/report`) and the subject prefixes of out-of-office
//! replies. (An answer to one of the bridge's own replies is the rule's other half: see
//! [`crate::decide`].)

use unicode_normalization::UnicodeNormalization;

/// `text` without RFC 5322 comments (`( … )`, nested, `\` escapes).
fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if depth > 0 => {
                chars.next();
            }
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Subject prefixes of out-of-office and other automatic replies (SPEC §3 rule 3), compared in
/// any case, with or without a space before the colon.
pub const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "automatic reply:",
    "auto-reply:",
    "out of office:",
    "automatische antwort:",
    "abwesend:",
    "réponse automatique:",
    "respuesta automática:",
    "automatisch antwoord:",
    "risposta automatica:",
    "resposta automática:",
    "autosvar:",
];

/// The out-of-office prefix `subject` starts with, if any.
pub(super) fn auto_reply_subject(subject: &str) -> Option<&'static str> {
    // Only the start matters; a space before the colon (French typography) is dropped.
    let start: String = subject.trim_start().chars().take(64).collect();
    let mut head = String::new();
    for c in start.nfc().collect::<String>().to_lowercase().chars() {
        if c == ':' {
            while head.ends_with([' ', '\u{a0}', '\u{202f}']) {
                head.pop();
            }
        }
        head.push(c);
    }
    AUTO_REPLY_SUBJECTS
        .iter()
        .copied()
        .find(|p| head.starts_with(p))
}

/// Which header, if any, says that nobody typed this message (SPEC §3 rule 3).
pub(super) fn auto_generated(
    headers: &[(String, String)],
    top_level_type: Option<(String, String)>,
) -> Option<String> {
    for (name, value) in headers {
        let v = value.trim().to_lowercase();
        // The keyword, without parameters (`; owner-email=…`) or comments (`no (typed by hand)`).
        let first = without_comments(v.split(';').next().unwrap_or(""))
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        match name.to_lowercase().as_str() {
            "auto-submitted" if first != "no" => return Some(format!("Auto-Submitted: {first}")),
            "precedence" if matches!(first.as_str(), "bulk" | "junk" | "list" | "auto_reply") => {
                return Some(format!("Precedence: {first}"));
            }
            "list-id" => return Some("List-Id".into()),
            "x-autoreply" | "x-autorespond" if first != "no" => {
                return Some(format!("{name}: {first}"));
            }
            "return-path"
                if v.chars().filter(|c| !c.is_whitespace()).collect::<String>() == "<>" =>
            {
                return Some("Return-Path: <>".into());
            }
            _ => {}
        }
    }
    if let Some((t, s)) = top_level_type
        && t.eq_ignore_ascii_case("multipart")
        && s.eq_ignore_ascii_case("report")
    {
        return Some("Content-Type: multipart/report".into());
    }
    None
}
