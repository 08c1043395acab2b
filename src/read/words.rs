//! The reply reader: splits an approver's reply body into the approver's own new words
//! (`new_text`, SPEC §2 `justification`) and everything else (`rest`: quoted history, attribution
//! lines, Outlook header blocks, signatures, app footers), which the caller searches for request IDs
//! after the new text (SPEC §3).
//!
//! Pure functions, no I/O, no panics on any input.
//!
//! # How a plain-text body is read
//! Line by line, from the top:
//! - `>` quoted lines are history; so is an attribution line ("On … wrote:" and its equivalents in
//!   other languages, also wrapped over two or three lines) that introduces a quoted block. Unquoted
//!   text below a quoted block is the approver's again (bottom-posted and interleaved replies).
//! - An attribution *not* followed by a quoted block, an Outlook header block ("From:" + "Sent:"/"To:"/
//!   "Subject:" …, in many languages, bold or not, with or without a rule line above), an
//!   "-----Original Message-----" line or a forwarded-message marker starts unquoted history: it
//!   and everything below it are history.
//! - The `-- ` signature delimiter (also typed as a bare `--`) and the footers mail apps add
//!   ("Sent from my iPhone", "Get Outlook for iOS", "Von meinem iPhone gesendet", …) end the new
//!   text; they and everything below go to `rest`.
//! - Sign-offs the approver typed ("Thanks, Bob", a name, a title block) stay: SPEC §2 says so.
//!
//! HTML-only mail ([`read_html`]) is first pruned of its history containers (`<blockquote>`, Gmail
//! `gmail_quote`, Outlook `divRplyFwdMsg`/`appendonsend` and everything after them, Yahoo, Apple and
//! Thunderbird quote containers), converted to text, then read as plain text.

use unicode_normalization::UnicodeNormalization;

mod html;
mod markup;
mod patterns;
mod plain;
mod tables;

pub use html::read_html;
pub use plain::{read_plain, unflow};

/// The approver's own new words, and everything that was removed (quoted history, attribution lines,
/// signatures, app footers), which the caller searches for request IDs after the new text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadText {
    /// Normalised per SPEC §2: LF line ends, no trailing white space on any line, no leading or
    /// trailing blank lines; `""` when the approver wrote nothing.
    pub new_text: String,
    /// Everything removed from the body, in order (for HTML, also every link target).
    pub rest: String,
}

/// SPEC §2 normalisation: Unicode NFC, CRLF and lone CR become LF, trailing Unicode white space
/// is removed from every line, leading and trailing blank lines are removed.
pub fn normalise(text: &str) -> String {
    let text: String = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .nfc()
        .collect();
    let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
    let Some(start) = lines.iter().position(|l| !l.is_empty()) else {
        return String::new();
    };
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |e| e + 1);
    lines[start..end].join("\n")
}

#[cfg(test)]
mod tests;
