//! Reading a plain-text reply body: which lines are the approver's, which are history
//! (see the module doc of [`crate::reader`] for the rules), and RFC 3676 `format=flowed` unwrapping.

use super::patterns::{
    MAX_ATTRIBUTION_BYTES, inline_attribution_start, is_app_footer, is_attribution,
    is_attribution_tail, is_blank, is_dated_field, is_from_field, is_list_footer,
    is_original_message, is_other_field, is_quoted, is_rule, is_sig_delimiter, is_tracking_glyph,
    looks_like_field, starts_like_attribution,
};
use super::{ReadText, normalise};

/// How many lines an attribution may be wrapped over.
const MAX_ATTRIBUTION_LINES: usize = 3;
/// The same when the first line opens like an attribution ("On …"), blank and `>:` lines included.
const MAX_WRAPPED_ATTRIBUTION_LINES: usize = 5;
/// A quoted line at least this long may have been wrapped without repeating its `>`.
const BROKEN_WRAP_MIN_CHARS: usize = 50;
/// How many non-blank lines below a sender field may hold the block's next field (long sender
/// fields get wrapped).
const HEADER_LOOKAHEAD: usize = 4;

/// Splits a plain-text body into the approver's new text and the removed rest.
pub fn read_plain(body: &str) -> ReadText {
    let text = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len();
    let mut removed = vec![false; n];
    // Lines where reply text and an attribution share the line: the attribution goes to `rest`.
    let mut split_off: Vec<&str> = Vec::new();
    let mut cut = n;
    let mut i = 0;
    while i < n {
        let line = lines[i];
        if is_quoted(line) {
            removed[i] = true;
            i += 1;
            continue;
        }
        if is_blank(line) {
            i += 1;
            continue;
        }
        if is_tracking_glyph(line) || is_broken_quote_wrap(&lines, i) {
            removed[i] = true;
            i += 1;
            continue;
        }
        if is_sig_delimiter(line)
            || is_app_footer(line)
            || is_original_message(line)
            || is_list_footer(line, lines.get(i + 1).copied())
        {
            cut = i;
            break;
        }
        if let Some(at) = inline_attribution_start(line) {
            let next = (i + 1..n).find(|&j| !is_blank(lines[j]));
            if next.is_some_and(|j| is_quoted(lines[j])) {
                split_off.push(&line[at..]);
                lines[i] = &line[..at];
                i += 1;
                continue;
            }
        }
        if let Some(k) = attribution_at(&lines, i) {
            let next = (i + k..n).find(|&j| !is_blank(lines[j]));
            if next.is_some_and(|j| is_quoted(lines[j])) {
                // It introduces a quoted block: only the block is history, text below is new again.
                removed[i..i + k].iter_mut().for_each(|r| *r = true);
                i += k;
                continue;
            }
            cut = i;
            break;
        }
        if header_block_at(&lines, i) {
            cut = start_of_header_block(&lines, i);
            break;
        }
        i += 1;
    }

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

/// The number of lines an attribution starting at line `i` takes, if one does: one line, or one
/// wrapped over up to three lines (five, with one blank line and a `>:` tail, when its first line
/// opens like an attribution: Gmail wraps long addresses that way).
fn attribution_at(lines: &[&str], i: usize) -> Option<usize> {
    if is_attribution(lines[i]) {
        return Some(1);
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
        return Some(k);
    }
    None
}

/// An unquoted line between two quoted lines, the first of them long: a quoted line wrapped by a
/// mail client that did not repeat the `>` ("> … Nullam pharetra d" / "ignissim odio?" / ">").
fn is_broken_quote_wrap(lines: &[&str], i: usize) -> bool {
    i > 0
        && is_quoted(lines[i - 1])
        && lines[i - 1].trim().chars().count() >= BROKEN_WRAP_MIN_CHARS
        && lines.get(i + 1).is_some_and(|l| is_quoted(l))
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
    if j > 0 && (is_rule(lines[j - 1]) || is_original_message(lines[j - 1])) {
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
mod tests {
    use super::*;

    fn new_text(body: &str) -> String {
        read_plain(body).new_text
    }

    #[test]
    fn top_posted_reply_with_attribution_and_quote() {
        let r = read_plain(
            "Rejecting: nobody asked for this wipe.\n\nOn Tue, Mar 3, 2020 at 9:14 AM Intune <mma@corp.test> wrote:\n> Request 3f2a…\n> Please approve\n",
        );
        assert_eq!(r.new_text, "Rejecting: nobody asked for this wipe.");
        assert!(r.rest.contains("> Request 3f2a"));
        assert!(r.rest.contains("wrote:"));
    }

    #[test]
    fn attribution_wrapped_over_two_and_three_lines() {
        assert_eq!(
            new_text(
                "No.\n\nOn Tue, Mar 3, 2020 at 9:14 AM Intune Multi Admin Approval <\nmma@corp.test> wrote:\n\n> quoted\n"
            ),
            "No."
        );
        assert_eq!(
            new_text(
                "No.\n\nOn Tue, Mar 3, 2020 at 9:14 AM\nIntune Multi Admin Approval\n<mma@corp.test> wrote:\n> quoted\n"
            ),
            "No."
        );
    }

    #[test]
    fn attributions_in_other_languages_cut_unquoted_history() {
        for attribution in [
            "Am 03.03.2020 um 09:14 schrieb Intune <mma@corp.test>:",
            "Le mar. 3 mars 2020 à 09:14, Intune <mma@corp.test> a écrit :",
            "El mar., 3 mar. 2020 a las 9:14, Intune (<mma@corp.test>) escribió:",
            "2020年3月3日(火) 9:14 Intune <mma@corp.test>:",
            "在 2020年3月3日 09:14，Intune <mma@corp.test> 写道：",
        ] {
            let body = format!("Abgelehnt.\n\n{attribution}\nBitte genehmigen.\n");
            let r = read_plain(&body);
            assert_eq!(r.new_text, "Abgelehnt.", "{attribution}");
            assert!(r.rest.contains("Bitte genehmigen."));
        }
    }

    #[test]
    fn interleaved_and_bottom_posted_keep_only_unquoted_lines() {
        let body = "On Mon, Bob <b@x.test> wrote:\n> Why reject?\n\nBecause it was not planned.\n\n> Anything else?\n\nNo.\n";
        assert_eq!(new_text(body), "Because it was not planned.\n\nNo.");
        assert_eq!(new_text("> quoted only\n> more\n"), "");
    }

    #[test]
    fn outlook_header_blocks_in_several_languages() {
        for block in [
            "________________________________\nFrom: Intune <mma@corp.test>\nSent: Tuesday, March 3, 2020 9:14 AM\nTo: Alice\nSubject: Approval",
            "*From:* Intune\n*Sent:* 2020-03-03\n*To:* Alice\n*Subject:* Approval",
            "Von: Intune <mma@corp.test>\nGesendet: Dienstag, 3. März 2020 09:14\nAn: Alice\nBetreff: Genehmigung",
            "De : Intune\nEnvoyé : mardi 3 mars 2020 09:14\nÀ : Alice\nObjet : Approbation",
            "Od: Intune\nWysłano: wtorek\nDo: Alice\nTemat: Zatwierdzenie",
            "差出人: Intune\n送信日時: 2020年3月3日 9:14\n宛先: Alice\n件名: 承認",
            "发件人: Intune\n发送时间: 2020年3月3日 9:14\n收件人: Alice\n主题: 审批",
        ] {
            let r = read_plain(&format!(
                "Not approved.\n\n{block}\n\nPlease approve 3f2a.\n"
            ));
            assert_eq!(r.new_text, "Not approved.", "{block}");
            assert!(r.rest.contains("Please approve 3f2a."));
        }
        // A lone "From:" line the approver typed is theirs.
        assert_eq!(
            new_text("From: my side, no.\nThanks"),
            "From: my side, no.\nThanks"
        );
    }

    #[test]
    fn reply_opening_like_an_attribution_stays() {
        // "Denied" starts like "Den …", and the attribution below is wrapped over three lines.
        assert_eq!(
            new_text(
                "Denied: wrong device.\n\nOn Sat, Nov 28, 2026 at 10:00 AM Intune Multi Admin\nApproval Notifications for Example Corporation <\napprovals@example.test> wrote:\n\n> Intune\n"
            ),
            "Denied: wrong device."
        );
        assert_eq!(
            new_text(
                "Onwards: no.\n\nOn Sat, Nov 28, 2026 at 10:00 AM X <\nx@y.test> wrote:\n> q\n"
            ),
            "Onwards: no."
        );
    }

    #[test]
    fn original_and_forwarded_markers() {
        for marker in [
            "-----Original Message-----",
            "-----Ursprüngliche Nachricht-----",
            "-----Mensaje original-----",
            "---------- Forwarded message ---------",
            "Begin forwarded message:",
        ] {
            assert_eq!(
                new_text(&format!("Nein.\n{marker}\nhistory\n")),
                "Nein.",
                "{marker}"
            );
        }
    }

    #[test]
    fn signatures_and_footers_are_removed_sign_offs_stay() {
        let r = read_plain("Reject it.\n\nThanks,\nBob\n-- \nBob Smith\nIT Ops\n");
        assert_eq!(r.new_text, "Reject it.\n\nThanks,\nBob");
        assert!(r.rest.contains("IT Ops"));
        assert_eq!(new_text("Reject it.\n--\nBob"), "Reject it.");
        assert_eq!(new_text("Reject.\n\nSent from my iPhone\n"), "Reject.");
        assert_eq!(new_text("Nein.\n\nVon meinem iPhone gesendet"), "Nein.");
        assert_eq!(
            new_text("Reject.\nRegards,\nBob Smith\nHead of IT\n+1 555 0100"),
            "Reject.\nRegards,\nBob Smith\nHead of IT\n+1 555 0100"
        );
    }

    #[test]
    fn normalised_output() {
        assert_eq!(
            new_text("\r\n\r\n  No \t\r\nway\u{a0}\r\n\r\n"),
            "  No\nway"
        );
        assert_eq!(new_text(""), "");
    }

    #[test]
    fn unflow_joins_soft_breaks() {
        assert_eq!(
            unflow("This is a \r\nlong line.\r\nNext.", false),
            "This is a long line.\nNext."
        );
        assert_eq!(unflow("Spl \nit", true), "Split");
        assert_eq!(
            unflow("> quoted \n> more\nnew", false),
            "> quoted more\nnew"
        );
        assert_eq!(unflow(" >not a quote", false), ">not a quote");
        assert_eq!(unflow("Bye \n-- \nBob", false), "Bye \n-- \nBob");
    }
}
