//! The line patterns the plain-text reader recognises: attribution lines, Outlook header fields,
//! original/forwarded-message markers, signature delimiters and mail-app footers, in the languages
//! named in SPEC §2 and the others that Outlook, Gmail, Apple Mail, Thunderbird, Samsung Email,
//! Zimbra and The Bat! write in Europe and the Middle East. Kept in this one module, a file per
//! kind of line ([`attribution`], [`header_block`], [`footers`]), so that adding a language is
//! edits in one folder. Here: what they share, and the patterns of any line (quoted, blank).
//!
//! Every pattern is matched against a line with its bidirectional-text marks taken out
//! ([`strip_marks`]): right-to-left mail (Hebrew, Arabic) puts them around labels, addresses and
//! colons, where they would hide a label from any pattern.

use std::sync::LazyLock;

use regex::Regex;

pub(super) mod attribution;
pub(super) mod footers;
pub(super) mod header_block;

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this module; the unit tests compile every one of them.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

/// An e-mail address and a time of day: with a closing colon, an attribution in any language
/// ("ср, 30 апр. 2025 г. в 15:19, John <j@x.test>:", "11:00 AM, November 17, 2021, "J" <j@x.test>:").
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| re(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"));
static TIME: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d{1,2}[:.]\d{2}\b"));

/// A `>`-quoted line (leading white space allowed).
pub(super) fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Whether a character is a bidirectional-text mark or another invisible format character mail
/// puts around labels and addresses: LRM/RLM, the embeddings and overrides (U+202A-202E), the
/// isolates (U+2066-2069), the Arabic letter mark, a zero-width space or no-break space.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{200b}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}')
}

/// `line` without bidirectional-text marks (see [`is_mark`]): what the patterns are matched against.
pub(super) fn strip_marks(line: &str) -> std::borrow::Cow<'_, str> {
    if line.chars().any(is_mark) {
        std::borrow::Cow::Owned(line.chars().filter(|&c| !is_mark(c)).collect())
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

/// Invisible tracking glyphs some mail add-ons put on a line of their own (Streak's "ᐧ").
pub(super) fn is_tracking_glyph(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty()
        && t.chars()
            .all(|c| matches!(c, '\u{1427}' | '\u{200b}' | '\u{feff}'))
}

#[cfg(test)]
mod tests;
