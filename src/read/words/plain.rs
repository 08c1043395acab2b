//! Reading a plain-text reply body: which lines are the approver's, which are history
//! (see the module doc of [`crate::read::words`] for the rules), and RFC 3676 `format=flowed` unwrapping.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use super::patterns::{
    MAX_ATTRIBUTION_BYTES, inline_attribution_start, is_app_footer, is_attribution,
    is_attribution_tail, is_blank, is_dashed_title, is_dated_field, is_from_field, is_list_footer,
    is_loose_footer, is_original_message, is_other_field, is_quoted, is_rule, is_sig_delimiter,
    is_standalone_attribution, is_tracking_glyph, looks_like_field, starts_like_attribution,
    strip_marks,
};
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
    let n = lines.len();
    let mut removed = vec![false; n];
    // Lines where reply text and an attribution share the line: the attribution goes to `rest`.
    let mut split_off: Vec<&str> = Vec::new();
    let mut cut = n;
    let mut i = 0;
    while i < n {
        let line = views[i];
        if is_tracking_glyph(lines[i]) {
            removed[i] = true;
            i += 1;
            continue;
        }
        if is_quoted(line) {
            removed[i] = true;
            i += 1;
            continue;
        }
        if is_blank(line) {
            i += 1;
            continue;
        }
        if is_broken_quote_wrap(&views, i) {
            removed[i] = true;
            i += 1;
            continue;
        }
        if is_sig_delimiter(line)
            || is_app_footer(line)
            || is_original_message(line)
            || is_list_footer(line, views.get(i + 1).copied())
            || (is_loose_footer(line) && history_or_end_after(&views, i + 1))
            || (is_dashed_title(line) && field_follows(&views, i + 1))
        {
            cut = i;
            break;
        }
        if let Some(at) = inline_attribution_start(line) {
            let next = (i + 1..n).find(|&j| !is_blank(views[j]));
            if next.is_some_and(|j| is_quoted(views[j])) {
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
        }
        if let Some((k, standalone)) = attribution_at(&views, i) {
            let next = (i + k..n).find(|&j| !is_blank(views[j]));
            if next.is_some_and(|j| is_quoted(views[j])) {
                // It introduces a quoted block: only the block is history, text below is new again.
                removed[i..i + k].iter_mut().for_each(|r| *r = true);
                i += k;
                continue;
            }
            // Unquoted history below it (a header block, a marker), or an attribution that
            // reads as one on its own: it and everything below are history. Otherwise it is a
            // line the approver typed that happens to end with a colon.
            if standalone || next.is_some_and(|j| starts_history(&views, j)) {
                cut = i;
                break;
            }
        }
        if header_block_at(&views, i) {
            cut = start_of_header_block(&views, i);
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

    #[test]
    fn typed_lines_ending_with_a_colon_are_the_approvers() {
        // An address, a time and a closing colon do not make an attribution: the shape does.
        for typed in [
            "Rejected: bob@contoso.com asked at 10:30 for a wipe of all devices:",
            "Nein: bob@contoso.com hat um 10:30 Folgendes verlangt:",
            "Please check with carol@contoso.com before 14:00 and tell me:",
            "Rejected: bob@contoso.com wrote at 10:30 that he needs a wipe of every device we own:",
            "Reason: the ticket from 09:15 (bob@contoso.com) was closed, see:",
        ] {
            for tail in [
                "",
                "\n\n- laptop PC-0042\n- phone",
                "\nThe device is in use.\n",
            ] {
                let body = format!("{typed}{tail}");
                let want = normalise(&body);
                assert_eq!(new_text(&body), want, "{body:?}");
            }
        }
        // Before quoted text or a header block the same shape is history.
        let r = read_plain("No.\n\n28.11.2026 10:00, Intune <mma@corp.test>:\n> Approve?\n");
        assert_eq!(r.new_text, "No.");
        let r = read_plain(
            "No.\n\nIntune <mma@corp.test> at 10:00:\nFrom: Intune\nSent: Saturday\nTo: Bob\nSubject: x\n",
        );
        assert_eq!(r.new_text, "No.");
    }

    #[test]
    fn answers_typed_between_quoted_lines_stay() {
        for (body, want) in [
            (
                "> Which device should be wiped on Saturday morning for the finance team?\nThe CFO's laptop, not this one.\n> Anything else?\n",
                "The CFO's laptop, not this one.",
            ),
            (
                "> Operation: Wipe device PC-0042 belonging to Alice Example in Finance\nNo.\n> Requested by: admin@example.test\n",
                "No.",
            ),
            (
                "> Reply to this message to reject the request; write your reason at the top.\nRejected, wrong tenant.\n>\n",
                "Rejected, wrong tenant.",
            ),
            // A broken wrap: lower case, or a word that would not have fitted on the quoted line.
            (
                "> Lorem ipsum dolor sit amet, consectetur adipiscing elit. Nullam pharetra d\nignissim odio?\n>\n\nReject.",
                "Reject.",
            ),
            (
                "> Maecenas tempor libero nec orci scelerisque porta a quis orci.\nrhoncus tortor in.\n>\n\nReject.",
                "Reject.",
            ),
            (
                "> Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\nIncididunt ut labore\n>\n\nReject.",
                "Reject.",
            ),
        ] {
            assert_eq!(new_text(body), want, "{body:?}");
        }
    }

    #[test]
    fn outlook_header_blocks_in_every_language() {
        // (From, Sent, To, Subject) as Outlook, Apple Mail and Thunderbird label them.
        for (f, s, t, subj) in [
            ("Od", "Odesláno", "Komu", "Předmět"),
            ("Od", "Odoslané", "Komu", "Predmet"),
            ("Kimden", "Gönderildi", "Kime", "Konu"),
            ("Gönderen", "Tarih", "Kime", "Konu"),
            ("מאת", "נשלח", "אל", "נושא"),
            ("Feladó", "Elküldve", "Címzett", "Tárgy"),
            ("من", "تم الإرسال", "إلى", "الموضوع"),
            ("من", "تاريخ الإرسال", "إلى", "الموضوع"),
            ("De la", "Trimis", "Către", "Subiect"),
            ("Šalje", "Poslano", "Prima", "Predmet"),
            ("Od", "Poslano", "Za", "Zadeva"),
            ("Od", "Poslato", "Za", "Tema"),
            ("Од", "Послато", "За", "Тема"),
            ("От", "Изпратено", "До", "Относно"),
            ("Από", "Στάλθηκε", "Προς", "Θέμα"),
            ("Від", "Надіслано", "Кому", "Тема"),
            ("От", "Отправлено", "Кому", "Тема"),
            ("Lähettäjä", "Lähetetty", "Vastaanottaja", "Aihe"),
            ("Saatja", "Saadetud", "Adressaat", "Teema"),
            ("No", "Nosūtīts", "Kam", "Tēma"),
            ("Nuo", "Išsiųsta", "Kam", "Tema"),
            ("Från", "Skickat", "Till", "Ämne"),
            ("Fra", "Sendt", "Til", "Emne"),
            ("Van", "Verzonden", "Aan", "Onderwerp"),
            ("Von", "Gesendet", "An", "Betreff"),
            ("De", "Envoyé", "À", "Objet"),
            ("Da", "Inviato", "A", "Oggetto"),
            ("De", "Enviado el", "Para", "Asunto"),
            ("De", "Enviado", "Para", "Assunto"),
            ("Od", "Wysłano", "Do", "Temat"),
            ("De", "Enviat", "Per a", "Assumpte"),
        ] {
            for (bold, mark) in [
                (false, ""),
                (true, ""),
                (false, "\u{200f}"),
                (false, "\u{202b}"),
            ] {
                let field = |k: &str, v: &str| {
                    if bold {
                        format!("*{k}:* {v}")
                    } else {
                        format!("{mark}{k}{mark}:{mark} {v}")
                    }
                };
                let body = format!(
                    "Zamítnuto.\n\n________________________________\n{}\n{}\n{}\n{}\n\nPlease approve 3f2a.\n",
                    field(f, "Intune <mma@corp.test>"),
                    field(s, "28.11.2026 10:00"),
                    field(t, "Bob"),
                    field(subj, "Approval"),
                );
                let r = read_plain(&body);
                assert_eq!(r.new_text, "Zamítnuto.", "{body}");
                assert!(r.rest.contains("Please approve 3f2a."));
            }
        }
    }

    #[test]
    fn attributions_in_more_languages_and_scripts() {
        for attribution in [
            "W dniu 28.11.2026 o 10:00, Intune Approvals pisze:",
            "Dne 28. 11. 2026 v 10:00 Intune Approvals napsal(a):",
            "so 28. 11. 2026 v 10:00 odesílatel Intune Approvals <mma@corp.test> napsal:",
            "Вы писали 28 ноября 2026 г., 10:00:",
            "Saturday, November 28, 2026, 10:00:00 AM, you wrote:",
            "\u{202b}בתאריך שבת, 28 בנוב׳ 2026 ב-10:00 מאת \u{202a}Intune Approvals\u{202c}\u{200f} <\u{202a}mma@corp.test\u{202c}\u{200f}>\u{200f}:\u{202c}",
            "\u{202b}في السبت، 28 نوفمبر 2026 في 10:00 ص كتب Intune Approvals <mma@corp.test>:\u{202c}",
            "Intune Approvals <mma@corp.test>, 28 Kas 2026 Cmt, 10:00 tarihinde şunu yazdı:",
            "Intune Approvals <mma@corp.test> ezt írta (időpont: 2026. nov. 28., Szo, 10:00):",
            "Pe sâm., 28 nov. 2026 la 10:00, Intune Approvals <mma@corp.test> a scris:",
            "Στις Σάβ 28 Νοε 2026 στις 10:00, ο/η Intune Approvals <mma@corp.test> έγραψε:",
            "la 28.11.2026 klo 10.00 Intune Approvals (mma@corp.test) kirjoitti:",
            "2026년 11월 28일 (토) 오전 10:00, Intune Approvals <mma@corp.test>님이 작성:",
            "sub, 28. stu 2026. u 10:00 Intune Approvals <mma@corp.test> napisao je:",
            "сб, 28.11.2026 г. в 10:00 ч. Intune Approvals <mma@corp.test> написа:",
        ] {
            for quoted in [true, false] {
                let history = if quoted {
                    "> Bitte genehmigen."
                } else {
                    "Bitte genehmigen."
                };
                let body = format!("Odmítnuto.\n\n{attribution}\n\n{history}\n");
                let r = read_plain(&body);
                assert_eq!(r.new_text, "Odmítnuto.", "{body}");
                assert!(r.rest.contains("Bitte genehmigen."), "{body}");
            }
        }
    }

    #[test]
    fn separators_with_unicode_dashes_and_zimbra_titles() {
        for marker in [
            "\u{2010}\u{2010}\u{2010}\u{2010}\u{2010}Original Message\u{2010}\u{2010}\u{2010}\u{2010}\u{2010}",
            "\u{2013}\u{2013}\u{2013}\u{2013}\u{2013} Original Message \u{2013}\u{2013}\u{2013}\u{2013}\u{2013}",
            "\u{2014}\u{2014}\u{2014} Původní zpráva \u{2014}\u{2014}\u{2014}",
            "\u{2212}\u{2212}\u{2212}\u{2212}\u{2212}Özgün İleti\u{2212}\u{2212}\u{2212}\u{2212}\u{2212}",
            "----- Mail original -----",
            "----- Original Message -----",
            "----- Ursprüngliche Mail -----",
            "----- Mensaje original -----",
            "----- Messaggio originale -----",
            "----- Mensagem original -----",
            "----- Oorspronkelijk bericht -----",
            "----- Wiadomość oryginalna -----",
            "----- Исходное сообщение -----",
            "-------- הודעה מקורית --------",
            "-------- الرسالة الأصلية --------",
            "-------- Αρχικό μήνυμα --------",
            "-------- Eredeti üzenet --------",
            "-------- Pôvodná správa --------",
            "-------- 원본 메시지 --------",
            "\u{200e}  Original Message  \u{200e}",
        ] {
            let body = format!("Reject.\n\n{marker}\nFrom: Intune\nTo: Bob\n\nhistory\n");
            assert_eq!(new_text(&body), "Reject.", "{marker}");
        }
        // A title between dashes in a language of its own, with a header field below it.
        assert_eq!(
            new_text("Nee.\n\n------ Mesazhi origjinal ------\nNga: Intune\nDërguar: e shtunë\n"),
            "Nee."
        );
        // A dashed line the approver typed is theirs.
        assert_eq!(
            new_text("Rejected.\n----- see below -----\nIt is the CFO's laptop."),
            "Rejected.\n----- see below -----\nIt is the CFO's laptop."
        );
    }

    #[test]
    fn mobile_footers_in_their_languages() {
        for footer in [
            "Lähetetty iPhonesta",
            "Odesláno z iPhonu",
            "Odoslané z iPhonu",
            "iPhone'umdan gönderildi",
            "나의 iPhone에서 보냄",
            "iPhone-ról küldve",
            "Trimis de pe iPhone-ul meu",
            "Poslano s mog iPhonea",
            "Poslano iz mojega iPhona",
            "Изпратено от моя iPhone",
            "Στάλθηκε από το iPhone μου",
            "Надіслано з iPhone",
            "Отправлено с iPhone",
            "נשלח מה-iPhone שלי",
            "أُرسلت من الـ iPhone",
            "Išsiųsta iš mano iPhone",
            "Enviat des del meu iPhone",
            "Wysłane z iPhone'a",
            "Sent from my Galaxy",
            "Sent from my Samsung Galaxy smartphone.",
            "Von meinem Samsung Galaxy Smartphone gesendet.",
            "Envoyé depuis mon smartphone Samsung Galaxy.",
            "Odesláno z mého chytrého telefonu Samsung Galaxy.",
            "Samsung Galaxy akıllı telefonumdan gönderildi.",
            "Lähetetty Samsung Galaxy -älypuhelimesta.",
            "내 Samsung Galaxy 스마트폰에서 보냈습니다.",
            "Sent from my BlackBerry 10 smartphone.",
            "Hanki Outlook for iOS",
            "Stáhnout Outlook pro Android",
            "iOS için Outlook'u edinin",
            "Получить Outlook для iOS",
            "Sent with Proton Mail secure email.",
        ] {
            let body = format!("Reject.\n\n{footer}\n");
            let r = read_plain(&body);
            assert_eq!(r.new_text, "Reject.", "{footer}");
            // The footer also ends the new text above quoted history.
            let body = format!("Reject.\n\n{footer}\n\nOn Sat, Bob <b@x.test> wrote:\n> q\n");
            assert_eq!(new_text(&body), "Reject.", "{footer}");
        }
        // Typed sentences that mention a device stay.
        for typed in [
            "Talep zaten gönderildi.",
            "I sent it from my iPhone yesterday, ignore the first one.",
            "Lähetetty: the phone was sent back to Samsung.",
        ] {
            let body = format!("{typed}\nThe device is in use.");
            assert_eq!(new_text(&body), body, "{typed}");
        }
    }
}
