//! Attribution lines: "On … wrote:" and its equivalents in other languages and scripts, the
//! verbless date-and-address forms, Gmail's and Android's dashed forms, and an attribution that
//! shares its line with the reply.

use std::sync::LazyLock;

use regex::Regex;

use super::{ADDRESS, TIME, re};

/// Verbs of attribution lines ("On … wrote:"), as they appear just before the closing colon or
/// the quoted author.
const VERBS: &str = r"(?:\b(?:wrote|writes|you\s+wrote|schrieb|geschrieben|a\s+écrit|écrit|escribió|escribio|ha\s+scritto|scrisse|
    escreveu|schreef|geschreven|skrev|skriver|napisał\(a\)|napisała|napisał|napisal|pisze|
    napsal\(a\)|napsala|napsal|napísal\(a\)|napísala|napísal|napisal\(a\)|napisao\s+je|napisala\s+je|je\s+napisao|
    написал\(а\)|написала|написал|написав|написа|пишет|пише|писали|писал|је\s+написао|
    kirjoitti|kirjutas|írta|yazdı|έγραψε|a\s+scris|rašė|rakstīja|skrifaði|escrigué|va\s+escriure|ha\s+escrit|đã\s+viết|
    כתב|כתבה|كتب)
    |写道|寫道|のメッセージ|が書きました|さんは書きました|님이\s*작성|작성:)";

pub(super) static WROTE: LazyLock<Regex> = LazyLock::new(|| re(&format!("(?ix){VERBS}")));
/// The verb closes the line ("---- On … wrote ----" after the dashes are trimmed).
pub(super) static WROTE_AT_END: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?ix){VERBS}\s*[:：]?\s*$")));

/// Webmail's "Quoting Bob <bob@x.test>:" (Horde, SquirrelMail) and its translations.
pub(super) static QUOTING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^\s*(?:quoting|zitat\s+von|citation\s+de|citando(?:\s+a)?|citaat\s+van|cytuj[ąa]c|cituji|idézet)\s+\S.{0,200}[:：]\s*$",
    )
});
/// A colon inside the line that is not part of a time ("Rejected: …"): typed text, not an
/// attribution, when it stands outside parentheses (Hungarian Gmail writes "(időpont: …)").
pub(super) static INNER_COLON: LazyLock<Regex> = LazyLock::new(|| re(r"[^\d\s][:：]\s+\S"));

/// Words that open an attribution line in the languages SPEC §2 names.
pub(super) static ATTRIBUTION_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^[\s*]*(?:(?:on|am|le|el|il|em|op|den|på|w\s+dniu|dnia|dne|in\s+data|en|el\s+día|
        στις|בתאריך|في|you\s+wrote|вы\s+писали|quoting|zitat\s+von|citation\s+de|citando|citaat\s+van)\b|d\.|
        在|於|于|\d|(?:mon|tue|wed|thu|fri|sat|sun)|(?:mo|di|mi|do|fr|sa|so)\.|\p{L}{1,4}[.,]?\s+\d{1,2}[.,\s])",
    )
});

/// An attribution line ending: a colon, maybe full width, maybe after a closing `>` or `)`.
pub(super) static ENDS_WITH_COLON: LazyLock<Regex> = LazyLock::new(|| re(r"[:：]\s*$"));

/// Evidence that a line talks about a message: an address, a time or a year.
pub(super) static HAS_META: LazyLock<Regex> =
    LazyLock::new(|| re(r"@|\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b|\d{4}年|\d{1,2}月"));

/// Gmail/Android style "2016-03-03 17:21 GMT+01:00 Some One <a@b>:" and Japanese
/// "2016年3月3日(木) 17:21 山田 <a@b>:" attributions, which have no verb.
pub(super) static DATE_LED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:\d{4}[-/.年]\s*\d{1,2}[-/.月]\s*\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}).*(?:@|<).*[:：]\s*$",
    )
});

/// Gmail's older attribution, sometimes without its colon: "2016-03-03 17:21 GMT+01:00 Some One".
pub(super) static GMAIL_DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}\s+(?:\d{1,2}:\d{2}(?::\d{2})?(?:\s+GMT[+-]\d{1,2}(?::\d{2})?)?\s+\p{L}[^\d@]{0,80}(?:<[^<>\s]+@[^<>\s]+>)?|\p{L}[^\d@<>]{0,80}<[^<>\s]+@[^<>\s]+>)$",
    )
});

/// Android's "---- John Smith wrote ----".
pub(super) static DASHED_WROTE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?ix)^\s*-{{3,}}\s*\S.{{0,100}}{VERBS}\s*[:：]?\s*-{{3,}}\s*$"
    ))
});

/// An attribution sharing its line with the reply ("reply On Wed, … wrote:"): where it begins.
pub(super) static INLINE_LEAD: LazyLock<Regex> =
    LazyLock::new(|| re(r"\s(?:On|Am|Le|El|Il|Em|Op|Den|W\s+dniu)\s"));

/// An attribution introducing quoted history: "On Tue, … Bob <bob@x> wrote:", "Am … schrieb …:",
/// "Le … a écrit :", "在 …，… 写道：", "2016年3月3日 … <a@b>:", "Quoting Bob <bob@x>:", and so on.
///
/// Whether it is one also depends on what follows it (see [`is_standalone_attribution`] for the
/// ones that need nothing below them): a verbless form ("…, John <j@x.test>:") counts only
/// before quoted text or a header block, and the reader checks that.
pub(crate) fn is_attribution(text: &str) -> bool {
    attribution_kind(text).is_some()
}

/// An attribution that reads as one even with no quoted text below it (some clients put the
/// history unquoted under it): one with an attribution verb ("wrote", "schrieb", "napsal(a)", …)
/// at its end or followed by little more than a name, that opens like one ("On …", a date, "You
/// wrote …") or names an address or a time, and holds no colon of a typed sentence ("Rejected: …");
/// or one led by a date with the sender's address; or Gmail's and Android's dashed forms.
pub(crate) fn is_standalone_attribution(text: &str) -> bool {
    attribution_kind(text) == Some(Strength::Standalone)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Strength {
    /// Only before quoted text or a header block.
    BeforeHistory,
    /// Anywhere.
    Standalone,
}

/// At most this many words may follow the attribution verb ("schrieb Carol Ames <c@x>:",
/// "Вы писали 28 ноября 2026 г., 10:00:").
const MAX_WORDS_AFTER_VERB: usize = 8;

fn attribution_kind(text: &str) -> Option<Strength> {
    let t = text.trim_matches(|c: char| c == '-' || c.is_whitespace());
    // Longer than any attribution in bytes already: no need to count its characters (callers
    // try many suffixes of one line; counting each would be quadratic).
    if t.len() > MAX_ATTRIBUTION_BYTES {
        return None;
    }
    let count = t.chars().count();
    if !(6..=400).contains(&count) {
        return None;
    }
    if DASHED_WROTE.is_match(text) || GMAIL_DATE_TIME.is_match(t) {
        return Some(Strength::Standalone);
    }
    let colon = ENDS_WITH_COLON.is_match(t);
    let typed_colon = || INNER_COLON.is_match(&without_parentheses(t));
    if let Some(verb) = WROTE.find_iter(t).last()
        && (colon || WROTE_AT_END.is_match(t))
        && (ATTRIBUTION_LEAD.is_match(t) || HAS_META.is_match(t))
    {
        let after = t[verb.end()..].split_whitespace().count();
        let typed_colon = typed_colon();
        return Some(if after <= MAX_WORDS_AFTER_VERB && !typed_colon {
            Strength::Standalone
        } else {
            Strength::BeforeHistory
        });
    }
    if !colon {
        return None;
    }
    if DATE_LED.is_match(t) {
        return Some(Strength::Standalone);
    }
    if QUOTING.is_match(t) && (t.contains('@') || t.contains('<')) {
        return Some(Strength::BeforeHistory);
    }
    // Verbless ("ср, 30 апр. 2025 г. в 15:19, John <j@x.test>:", "11:00 AM, November 17, 2021,
    // "J" <j@x.test>:"), or with a verb in no list ("… <r@x.test> sent:", "… đã viết:"): an
    // address and a time, the address among the last words, no colon of a typed sentence. It
    // opens like an attribution (a date, a weekday, "On …"), or it counts only before history.
    if count > 200 || !TIME.is_match(t) || typed_colon() {
        return None;
    }
    let address = ADDRESS.find_iter(t).last()?;
    let after = t[address.end()..].split_whitespace().count();
    if after > MAX_WORDS_AFTER_ADDRESS {
        return None;
    }
    Some(if ATTRIBUTION_LEAD.is_match(t) {
        Strength::Standalone
    } else {
        Strength::BeforeHistory
    })
}

/// At most this many words may follow the sender's address in an attribution without a known
/// verb ("<r@x.test> sent:", "<h@x.test> đã viết:", "<j@x.test>>:").
const MAX_WORDS_AFTER_ADDRESS: usize = 3;

/// `text` without what stands in parentheses (one level is enough for attributions).
fn without_parentheses(text: &str) -> String {
    let mut depth = 0usize;
    text.chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

/// Attributions are at most 400 characters; a suffix longer than this many bytes cannot be one.
pub(crate) const MAX_ATTRIBUTION_BYTES: usize = 400 * 4;
/// How many places an attribution may start at, on one line, are tried (the leftmost first):
/// real lines have one or two "On"s; a hostile line could have thousands.
const MAX_INLINE_CANDIDATES: usize = 4;

/// Where an attribution that shares its line with reply text starts (a byte offset into `line`).
/// Only the line's last [`MAX_ATTRIBUTION_BYTES`] can hold one, so the work per line is bounded
/// whatever its length.
pub(crate) fn inline_attribution_start(line: &str) -> Option<usize> {
    if !ENDS_WITH_COLON.is_match(line) || !WROTE.is_match(line) {
        return None;
    }
    let mut from = line.len().saturating_sub(MAX_ATTRIBUTION_BYTES + 1);
    while !line.is_char_boundary(from) {
        from += 1;
    }
    INLINE_LEAD
        .find_iter(&line[from..])
        .map(|m| from + m.start())
        .take(MAX_INLINE_CANDIDATES)
        .find(|&at| is_attribution(&line[at..]) && !line[..at].trim().is_empty())
}

/// The line opens like an attribution ("On …", "Am …", a date, a weekday, …).
pub(crate) fn starts_like_attribution(line: &str) -> bool {
    ATTRIBUTION_LEAD.is_match(line)
}

/// The quoted-looking end of a wrapped attribution: `>:` or `> wrote:` (the `>` closed an address).
pub(crate) fn is_attribution_tail(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('>') && t.chars().count() <= 14 && ENDS_WITH_COLON.is_match(t)
}
