//! Reading a plain-text reply body: which lines are the approver's, which are history
//! (see the module doc of [`crate::read::words`] for the rules), and RFC 3676 `format=flowed` unwrapping.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use super::patterns::attribution::{
    MAX_ATTRIBUTION_BYTES, inline_attribution_start, is_attribution, is_attribution_tail,
    is_standalone_attribution, starts_like_attribution,
};
use super::patterns::footers::{is_app_footer, is_list_footer, is_loose_footer, is_sig_delimiter};
use super::patterns::header_block::{
    is_dashed_title, is_dated_field, is_from_field, is_original_message, is_other_field, is_rule,
    looks_like_field,
};
use super::patterns::{is_blank, is_quoted, is_tracking_glyph, strip_marks};
use super::{ReadText, normalise};

/// How many lines an attribution may be wrapped over.
const MAX_ATTRIBUTION_LINES: usize = 3;
/// The same when the first line opens like an attribution ("On …"), blank and `>:` lines included.
const MAX_WRAPPED_ATTRIBUTION_LINES: usize = 5;
/// A quoted line at least this long may have been wrapped without repeating its `>`.
const BROKEN_WRAP_MIN_CHARS: usize = 50;
/// Where mail clients wrap quoted text: a quoted line this long plus the next word would not fit.
const WRAP_COLUMNS: usize = 76;
/// How many non-blank lines below a sender field may hold the block's next field (long sender
/// fields get wrapped).
const HEADER_LOOKAHEAD: usize = 4;

/// Splits a plain-text body into the approver's new text and the removed rest.
pub fn read_plain(body: &str) -> ReadText {
    // NFC first: the patterns are written composed, and the justification is NFC (SPEC §2).
    let text: String = body
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .nfc()
        .collect();
    let mut lines: Vec<&str> = text.split('\n').collect();
    // What the patterns see: each line without its bidirectional-text marks.
    let stripped: Vec<Cow<'_, str>> = lines.iter().map(|l| strip_marks(l)).collect();
    let views: Vec<&str> = stripped.iter().map(|c| c.as_ref()).collect();
    let scan = scan(&mut lines, &views);
    assemble(&lines, scan)
}

/// What [`scan`] found: which lines are history, and where the approver's text ends.
struct Scan<'a> {
    /// Lines removed from the text above `cut` (quoted lines, attributions of quoted blocks).
    removed: Vec<bool>,
    /// Attributions cut off the end of a line of reply text (the line keeps the text).
    split_off: Vec<&'a str>,
    /// The first line of history that runs to the end (the line count when there is none).
    cut: usize,
}

/// Reads the lines from the top (see the module doc of [`crate::read::words`]): marks the quoted
/// history, splits attributions off lines the approver typed, and finds where the approver's
/// text ends. `views` are the lines as the patterns see them.
fn scan<'a>(lines: &mut [&'a str], views: &[&'a str]) -> Scan<'a> {
    let n = lines.len();
    let mut removed = vec![false; n];
    // Lines where reply text and an attribution share the line: the attribution goes to `rest`.
    let mut split_off: Vec<&str> = Vec::new();
    let mut cut = n;
    let mut i = 0;
    while i < n {
        let line = views[i];
        if is_tracking_glyph(lines[i]) || is_quoted(line) {
            removed[i] = true;
            i += 1;
            continue;
        }
        if is_blank(line) {
            i += 1;
            continue;
        }
        if is_broken_quote_wrap(views, i) {
            removed[i] = true;
            i += 1;
            continue;
        }
        if ends_new_text(views, i) {
            cut = i;
            break;
        }
        if let Some(at) = inline_attribution_start(line)
            && next_non_blank(views, i + 1).is_some_and(|j| is_quoted(views[j]))
        {
            // The attribution goes whole; the reply before it keeps its own marks when the
            // line had none (else it is taken as the patterns saw it).
            split_off.push(&views[i][at..]);
            lines[i] = if lines[i].len() == line.len() {
                &lines[i][..at]
            } else {
                &views[i][..at]
            };
            i += 1;
            continue;
        }
        if let Some((k, standalone)) = attribution_at(views, i) {
            let next = next_non_blank(views, i + k);
            if next.is_some_and(|j| is_quoted(views[j])) {
                // It introduces a quoted block: only the block is history, text below is new again.
                removed[i..i + k].iter_mut().for_each(|r| *r = true);
                i += k;
                continue;
            }
            // Unquoted history below it (a header block, a marker), or an attribution that
            // reads as one on its own: it and everything below are history. Otherwise it is a
            // line the approver typed that happens to end with a colon.
            if standalone || next.is_some_and(|j| starts_history(views, j)) {
                cut = i;
                break;
            }
        }
        if header_block_at(views, i) {
            cut = start_of_header_block(views, i);
            break;
        }
        i += 1;
    }
    Scan {
        removed,
        split_off,
        cut,
    }
}

/// Line `i` ends the approver's text, it and everything below being history or footer: a
/// signature delimiter, an app or list footer, an original-message marker, a loose footer with
/// only history below it, or a dashed title above a header field.
fn ends_new_text(views: &[&str], i: usize) -> bool {
    let line = views[i];
    is_sig_delimiter(line)
        || is_app_footer(line)
        || is_original_message(line)
        || is_list_footer(line, views.get(i + 1).copied())
        || (is_loose_footer(line) && history_or_end_after(views, i + 1))
        || (is_dashed_title(line) && field_follows(views, i + 1))
}

/// The first non-blank line from `from` on.
fn next_non_blank(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&j| !is_blank(lines[j]))
}

/// The new text (the lines above the cut not removed, blank lines around removed blocks
/// evened out) and the rest (the removed lines, everything from the cut on, the attributions
/// split off lines).
fn assemble(lines: &[&str], scan: Scan<'_>) -> ReadText {
    let Scan {
        removed,
        split_off,
        cut,
    } = scan;
    let mut rest: Vec<&str> = Vec::new();
    let mut kept: Vec<&str> = Vec::new();
    // Blank lines around a removed block: keep as many as the larger gap on either side had.
    let mut run = 0usize; // blank lines seen since the last kept text or removal
    let mut gap_before = 0usize; // blank lines before the removal(s) in the current gap
    let mut removed_in_gap = false;
    for (idx, line) in lines[..cut].iter().enumerate() {
        if removed[idx] {
            rest.push(line);
            gap_before = gap_before.max(run);
            run = 0;
            removed_in_gap = true;
        } else if is_blank(line) {
            run += 1;
        } else {
            let blanks = if removed_in_gap {
                gap_before.max(run)
            } else {
                run
            };
            if !kept.is_empty() {
                kept.extend(std::iter::repeat_n("", blanks));
            }
            kept.push(line);
            run = 0;
            gap_before = 0;
            removed_in_gap = false;
        }
    }
    rest.extend(&lines[cut..]);
    rest.extend(split_off);
    ReadText {
        new_text: normalise(&kept.join("\n")),
        rest: rest.join("\n"),
    }
}

/// The number of lines an attribution starting at line `i` takes, if one does, and whether it
/// reads as one with nothing quoted below it ([`is_standalone_attribution`]): one line, or one
/// wrapped over up to three lines (five, with one blank line and a `>:` tail, when its first line
/// opens like an attribution: Gmail wraps long addresses that way).
fn attribution_at(lines: &[&str], i: usize) -> Option<(usize, bool)> {
    if is_attribution(lines[i]) {
        return Some((1, is_standalone_attribution(lines[i])));
    }
    let lead = starts_like_attribution(lines[i]);
    let after_break = i == 0 || is_blank(lines[i - 1]) || is_quoted(lines[i - 1]);
    if !lead && !after_break {
        return None;
    }
    let max_lines = if lead {
        MAX_WRAPPED_ATTRIBUTION_LINES
    } else {
        MAX_ATTRIBUTION_LINES
    };
    if lines[i].trim().len() > MAX_ATTRIBUTION_BYTES {
        return None;
    }
    let mut joined = lines[i].trim().to_string();
    let mut blanks = 0;
    for k in 2..=max_lines {
        let Some(next) = lines.get(i + k - 1) else {
            break;
        };
        if is_blank(next) {
            if lead && blanks == 0 {
                blanks += 1;
                continue;
            }
            break;
        }
        if is_quoted(next) && !(lead && is_attribution_tail(next)) {
            break;
        }
        joined.push(' ');
        joined.push_str(next.trim());
        if joined.len() > MAX_ATTRIBUTION_BYTES {
            // Too long to be one already; longer joins cannot be either.
            break;
        }
        if !is_attribution(&joined) {
            continue;
        }
        // If a later line opens like an attribution, that line starts it, not this one (when this
        // one opens like one too, only a later line after a blank line: "Denied.", "", "On …").
        if (i + 1..i + k)
            .any(|s| starts_like_attribution(lines[s]) && (!lead || is_blank(lines[s - 1])))
        {
            return None;
        }
        return Some((k, is_standalone_attribution(&joined)));
    }
    None
}

/// Line `j` starts unquoted history: a header block, an original-message or forwarded marker,
/// or a rule line with one of those below it.
fn starts_history(lines: &[&str], j: usize) -> bool {
    header_block_at(lines, j)
        || is_original_message(lines[j])
        || (is_rule(lines[j])
            && (j + 1..lines.len())
                .find(|&k| !is_blank(lines[k]))
                .is_some_and(|k| header_block_at(lines, k) || is_original_message(lines[k])))
}

/// Nothing but history follows from line `from` on: the end of the text, quoted lines, an
/// attribution, a header block, a marker or a signature delimiter (checked on the next non-blank
/// line).
fn history_or_end_after(lines: &[&str], from: usize) -> bool {
    let Some(j) = (from..lines.len()).find(|&j| !is_blank(lines[j])) else {
        return true;
    };
    let l = lines[j];
    is_quoted(l)
        || is_sig_delimiter(l)
        || is_rule(l)
        || is_dashed_title(l)
        || starts_history(lines, j)
        || attribution_at(lines, j).is_some()
}

/// A header field ("From:", "De:", "Od:", …, or any short "Key: value") is on one of the next two
/// non-blank lines from `from` on.
fn field_follows(lines: &[&str], from: usize) -> bool {
    lines[from.min(lines.len())..]
        .iter()
        .filter(|l| !is_blank(l))
        .take(2)
        .any(|l| is_from_field(l) || is_other_field(l) || looks_like_field(l))
}

/// An unquoted line between two quoted lines, the first of them long, that continues it: a quoted
/// line wrapped by a mail client that did not repeat the `>` ("> … Nullam pharetra d" /
/// "ignissim odio?" / ">"). It continues the quoted line when it starts in lower case, or when the
/// quoted line ends mid-sentence and its next word would not have fitted on it. An answer typed
/// between two quoted lines ("> Which device?" / "The CFO's." / "> …") is the approver's.
fn is_broken_quote_wrap(lines: &[&str], i: usize) -> bool {
    if i == 0 || !is_quoted(lines[i - 1]) || !lines.get(i + 1).is_some_and(|l| is_quoted(l)) {
        return false;
    }
    let prev = lines[i - 1].trim();
    let prev_len = prev.chars().count();
    if prev_len < BROKEN_WRAP_MIN_CHARS {
        return false;
    }
    let this = lines[i].trim();
    if this.chars().next().is_some_and(char::is_lowercase) {
        return true;
    }
    let ends_sentence = prev.ends_with(['.', '!', '?', ':', ';', ')', '。', '！', '？', '：']);
    let first_word = this.split_whitespace().next().unwrap_or("").chars().count();
    !ends_sentence && prev_len + 1 + first_word > WRAP_COLUMNS
}

/// An Outlook-style header block starts at line `i`: a sender field followed closely by another field.
fn header_block_at(lines: &[&str], i: usize) -> bool {
    // A block without a sender field: two dated/addressed fields in a row ("Date: …" / "To: …").
    if is_dated_field(lines[i]) && lines.get(i + 1).is_some_and(|l| is_dated_field(l)) {
        return true;
    }
    is_from_field(lines[i])
        && lines[i + 1..]
            .iter()
            .filter(|l| !is_blank(l))
            .take(HEADER_LOOKAHEAD)
            .any(|l| is_other_field(l))
}

/// Moves the start of a header block up over fields above the sender, blank lines and a rule line.
fn start_of_header_block(lines: &[&str], from: usize) -> usize {
    let mut start = from;
    while start > 0 && (is_other_field(lines[start - 1]) || looks_like_field(lines[start - 1])) {
        start -= 1;
    }
    let mut j = start;
    while j > 0 && is_blank(lines[j - 1]) {
        j -= 1;
    }
    if j > 0
        && (is_rule(lines[j - 1])
            || is_original_message(lines[j - 1])
            || is_dashed_title(lines[j - 1]))
    {
        start = j - 1;
    }
    start
}

/// Unwraps RFC 3676 `format=flowed` text: a line ending in a space is joined with the next line of
/// the same quote depth; space-stuffing is removed; with `delsp` the trailing space is deleted too.
/// The signature delimiter `-- ` is never joined.
pub fn unflow(body: &str, delsp: bool) -> String {
    let text = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: Vec<String> = Vec::new();
    // The paragraph being joined: its quote depth and text so far.
    let mut open: Option<(usize, String)> = None;
    for raw in text.split('\n') {
        let depth = raw.chars().take_while(|&c| c == '>').count();
        let mut content = &raw[depth..]; // '>' is one byte, so this is a char boundary
        if let Some(stripped) = content.strip_prefix(' ') {
            content = stripped;
        }
        let is_sig = content == "-- ";
        let flowed = !is_sig && content.ends_with(' ');
        let piece = if flowed && delsp {
            &content[..content.len() - 1]
        } else {
            content
        };
        match &mut open {
            Some((d, acc)) if *d == depth && !is_sig => acc.push_str(piece),
            _ => {
                if let Some((d, acc)) = open.take() {
                    out.push(quote_prefix(d) + &acc);
                }
                open = Some((depth, piece.to_string()));
            }
        }
        if !flowed && let Some((d, acc)) = open.take() {
            out.push(quote_prefix(d) + &acc);
        }
    }
    if let Some((d, acc)) = open.take() {
        out.push(quote_prefix(d) + &acc);
    }
    out.join("\n")
}

fn quote_prefix(depth: usize) -> String {
    if depth == 0 {
        String::new()
    } else {
        ">".repeat(depth) + " "
    }
}

#[cfg(test)]
mod tests;
