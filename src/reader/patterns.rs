//! The line patterns the plain-text reader recognises: attribution lines, Outlook header fields,
//! original/forwarded-message markers, signature delimiters and mail-app footers, in the languages
//! named in SPEC §2 and a few more. Kept in one place so that adding a language is one edit.

use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file; the unit tests compile every one of them.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

/// Verbs of attribution lines ("On … wrote:"), as they appear just before the closing colon or
/// the quoted author.
const VERBS: &str = r"(?:\b(?:wrote|writes|schrieb|geschrieben|a\s+écrit|écrit|escribió|escribio|ha\s+scritto|scrisse|
    escreveu|schreef|geschreven|skrev|skriver|napisał\(a\)|napisała|napisał|napisal|
    написал\(а\)|написала|написал|написав|пишет|пише|kirjoitti|írta|yazdı|έγραψε)
    |写道|寫道|のメッセージ|が書きました|さんは書きました)";

static WROTE: LazyLock<Regex> = LazyLock::new(|| re(&format!("(?ix){VERBS}")));
/// The verb closes the line ("---- On … wrote ----" after the dashes are trimmed).
static WROTE_AT_END: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?ix){VERBS}\s*[:：]?\s*$")));

/// An e-mail address and a time of day: with a closing colon, an attribution in any language
/// ("ср, 30 апр. 2025 г. в 15:19, John <j@x.test>:", "11:00 AM, November 17, 2021, "J" <j@x.test>:").
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| re(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"));
static TIME: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d{1,2}[:.]\d{2}\b"));

/// Words that open an attribution line in the languages SPEC §2 names.
static ATTRIBUTION_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^[\s*]*(?:(?:on|am|le|el|il|em|op|den|på|w\s+dniu|dnia|in\s+data|en|el\s+día)\b|d\.|
        在|於|于|\d|(?:mon|tue|wed|thu|fri|sat|sun)|(?:mo|di|mi|do|fr|sa|so)\.|\p{L}{1,4}[.,]?\s+\d{1,2}[.,\s])",
    )
});

/// An attribution line ending: a colon, maybe full width, maybe after a closing `>` or `)`.
static ENDS_WITH_COLON: LazyLock<Regex> = LazyLock::new(|| re(r"[:：]\s*$"));

/// Evidence that a line talks about a message: an address, a time or a year.
static HAS_META: LazyLock<Regex> =
    LazyLock::new(|| re(r"@|\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b|\d{4}年|\d{1,2}月"));

/// Gmail/Android style "2016-03-03 17:21 GMT+01:00 Some One <a@b>:" and Japanese
/// "2016年3月3日(木) 17:21 山田 <a@b>:" attributions, which have no verb.
static DATE_LED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:\d{4}[-/.年]\s*\d{1,2}[-/.月]\s*\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}).*(?:@|<).*[:：]\s*$",
    )
});

/// Gmail's older attribution, sometimes without its colon: "2016-03-03 17:21 GMT+01:00 Some One".
static GMAIL_DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}\s+(?:\d{1,2}:\d{2}(?::\d{2})?(?:\s+GMT[+-]\d{1,2}(?::\d{2})?)?\s+\p{L}[^\d@]{0,80}(?:<[^<>\s]+@[^<>\s]+>)?|\p{L}[^\d@<>]{0,80}<[^<>\s]+@[^<>\s]+>)$",
    )
});

/// Android's "---- John Smith wrote ----".
static DASHED_WROTE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?ix)^\s*-{{3,}}\s*\S.{{0,100}}{VERBS}\s*[:：]?\s*-{{3,}}\s*$"
    ))
});

/// An attribution sharing its line with the reply ("reply On Wed, … wrote:"): where it begins.
static INLINE_LEAD: LazyLock<Regex> =
    LazyLock::new(|| re(r"\s(?:On|Am|Le|El|Il|Em|Op|Den|W\s+dniu)\s"));

/// Header field names of the first line of an Outlook-style header block (the sender).
static FROM_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^\s*[*_]{0,2}\s*(?:from|von|de|da|van|från|fra|frá|od|от|від|lähettäjä|feladó|
        差出人|送信者|发件人|發件人|寄件者|寄件人|보낸\s*사람)\s*[*_]{0,2}\s*[:：]",
    )
});

/// Header field names that follow the sender in such a block.
static OTHER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^\s*[*_]{0,2}\s*(?:sent|date|to|cc|bcc|subject|reply-to|importance|
        gesendet|datum|an|kopie|betreff|
        envoyé|envoye|date|à|a|cc|objet|
        enviado|enviada|fecha|para|asunto|
        inviato|data|oggetto|
        verzonden|verstuurd|aan|onderwerp|
        skickat|till|ämne|
        sendt|til|emne|
        wysłano|wysłane|do|temat|
        enviada\s+em|assunto|
        отправлено|дата|кому|тема|
        lähetetty|vastaanottaja|aihe|
        送信日時|日付|宛先|件名|
        发送时间|發送時間|日期|收件人|主题|主旨|抄送|时间|
        보낸\s*날짜|받는\s*사람|제목)\s*[*_]{0,2}\s*[:：]",
    )
});

/// "-----Original Message-----" and its translations; forwarded-message markers.
static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^\s*[-_=*\s]*(?:
        original\s+message|ursprüngliche\s+nachricht|ursprungliche\s+nachricht|message\s+d'origine|
        message\s+original|mensaje\s+original|messaggio\s+originale|mensagem\s+original|
        oorspronkelijk\s+bericht|origineel\s+bericht|ursprungligt\s+meddelande|originalmeddelande|
        original\s+meddelelse|oprindelig\s+meddelelse|oprindelig\s+besked|original\s+besked|alkuperäinen\s+viesti|eredeti\s+üzenet|původní\s+zpráva|originalnachricht|opprinnelig\s+melding|originalmelding|
        oryginalna\s+wiadomość|reply\s+message|antwort\s+nachricht|wiadomość\s+oryginalna|исходное\s+сообщение|原始邮件|原始郵件|元のメッセージ|
        forwarded\s+message|weitergeleitete\s+nachricht|message\s+transféré|mensaje\s+reenviado|
        messaggio\s+inoltrato|mensagem\s+encaminhada|doorgestuurd\s+bericht|
        vidarebefordrat\s+meddelande|videresendt\s+meddelelse|videresendt\s+melding|
        przekazana\s+wiadomość|wiadomość\s+przekazana|пересылаемое\s+сообщение|
        转发的邮件|轉寄的郵件|転送されたメッセージ
    )\s*[-_=*\s]*:?\s*(?:processed\s+by\s+\S.*)?$")
});

/// "Begin forwarded message:" (Apple Mail) and its translations.
static BEGIN_FORWARDED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht|
        début\s+du\s+message\s+réexpédié|inicio\s+del\s+mensaje\s+reenviado|
        inizio\s+messaggio\s+inoltrato|início\s+da\s+mensagem\s+reencaminhada|
        begin\s+doorgestuurd\s+bericht|vidarebefordrat\s+brev|videresendt\s+brev)\s*[:：]\s*$",
    )
});

/// A rule line Outlook puts above its header block.
static RULE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(?:_{4,}|-{4,}|={4,}|\*{4,})\s*$"));

/// The opening phrase of a footer a mail app adds; what follows must name a device or an app.
static FOOTER_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^[(<\[]*\s*(?:
        sent\s+(?:from|via|with|using|on)(?:\s+my)?|get\s+outlook\s+for|
        von\s+meinem|gesendet\s+(?:von|mit|vom|über)(?:\s+meinem)?|outlook\s+für|
        diese\s+nachricht\s+wurde\s+von\s+meinem|
        envoyé\s+(?:de|depuis|avec|à\s+partir\s+de|à\s+partir\s+d'|par)(?:\s+mon)?|obtenir\s+outlook\s+pour|
        enviado\s+(?:desde|con|do|de|a\s+partir\s+do|pelo)(?:\s+mi|\s+meu|\s+o\s+meu|\s+o\s+seu)?|
        obtener\s+outlook\s+para|obter\s+o\s+outlook\s+para|
        inviato\s+da(?:l)?(?:\s+il)?(?:\s+mio)?|scarica\s+outlook\s+per|
        (?:verstuurd|verzonden)\s+(?:vanaf|van|met|via)(?:\s+mijn)?|outlook\s+voor|
        skickat\s+från(?:\s+min)?|hämta\s+outlook\s+för|
        sendt\s+fra(?:\s+min)?|hent\s+outlook\s+til|
        wysłane\s+z(?:\s+mojego)?|pobierz\s+outlook\s+dla|
        отправлено\s+с|
        发自我的|發自我的|来自我的|從我的
    )(?P<rest>.*)$")
});

/// Japanese "iPhoneから送信" and Chinese "從我的 iPhone 傳送": the device comes first.
static FOOTER_TRAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:從我的)?\s*\S{1,30}\s*(?:から送信|傳送|发送)$"));

/// Words that make a "Sent from …"-style line a device or app footer, not a typed sentence.
static DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)iphone|ipad|ipod|android|mobil|phone|handy|blackberry|samsung|galaxy|huawei|xiaomi|
        pixel|nokia|htc|sony|motorola|wiko|windows|outlook|mail|yahoo|gmail|aol|proton|tablet|
        device|dispositiv|apparaat|enhet|enhed|urządzen|appareil|gerät|smartphone|airmail|
        spark|newton|superhuman|k-9|fairphone|oneplus|\blg\b|tizen|\bios\b|\bmac\b|telefon|téléphone|
        teléfono|telefono|\bcell\b|ti-85|alcatel|\bpc\b|携帯|手机|手機|\bapp\b|typeapp|bluemail|
        iOS|ipadOS|watch",
    )
});

/// A line that is a signature delimiter: `-- ` (RFC 3676) or a bare `--`.
pub(super) fn is_sig_delimiter(line: &str) -> bool {
    line.trim_end() == "--" && !line.starts_with(char::is_whitespace)
}

/// A `>`-quoted line (leading white space allowed).
pub(super) fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// An attribution introducing quoted history: "On Tue, … Bob <bob@x> wrote:", "Am … schrieb …:",
/// "Le … a écrit :", "在 …，… 写道：", "2016年3月3日 … <a@b>:", and so on.
pub(super) fn is_attribution(text: &str) -> bool {
    let t = text.trim_matches(|c: char| c == '-' || c.is_whitespace());
    // Longer than any attribution in bytes already: no need to count its characters (callers
    // try many suffixes of one line; counting each would be quadratic).
    if t.len() > MAX_ATTRIBUTION_BYTES {
        return false;
    }
    let count = t.chars().count();
    if !(6..=400).contains(&count) {
        return false;
    }
    let colon = ENDS_WITH_COLON.is_match(t);
    if WROTE.is_match(t) && (colon || WROTE_AT_END.is_match(t)) {
        return ATTRIBUTION_LEAD.is_match(t) || HAS_META.is_match(t);
    }
    colon && (DATE_LED.is_match(t) || (count <= 200 && ADDRESS.is_match(t) && TIME.is_match(t)))
        || GMAIL_DATE_TIME.is_match(t)
        || DASHED_WROTE.is_match(text)
}

/// Attributions are at most 400 characters; a suffix longer than this many bytes cannot be one.
pub(super) const MAX_ATTRIBUTION_BYTES: usize = 400 * 4;
/// How many places an attribution may start at, on one line, are tried (the leftmost first):
/// real lines have one or two "On"s; a hostile line could have thousands.
const MAX_INLINE_CANDIDATES: usize = 4;

/// Where an attribution that shares its line with reply text starts (a byte offset into `line`).
/// Only the line's last [`MAX_ATTRIBUTION_BYTES`] can hold one, so the work per line is bounded
/// whatever its length.
pub(super) fn inline_attribution_start(line: &str) -> Option<usize> {
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

/// The key of a header field holds a date or a recipient ("Date: …", "To: …") with an address or a time.
pub(super) fn is_dated_field(line: &str) -> bool {
    is_other_field(line) && (ADDRESS.is_match(line) || TIME.is_match(line))
}

/// The line opens like an attribution ("On …", "Am …", a date, a weekday, …).
pub(super) fn starts_like_attribution(line: &str) -> bool {
    ATTRIBUTION_LEAD.is_match(line)
}

/// The quoted-looking end of a wrapped attribution: `>:` or `> wrote:` (the `>` closed an address).
pub(super) fn is_attribution_tail(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('>') && t.chars().count() <= 14 && ENDS_WITH_COLON.is_match(t)
}

/// The first line of an Outlook header block (the sender field).
pub(super) fn is_from_field(line: &str) -> bool {
    FROM_FIELD.is_match(line)
}

/// Any header field of an Outlook header block other than the sender.
pub(super) fn is_other_field(line: &str) -> bool {
    OTHER_FIELD.is_match(line)
}

pub(super) fn is_original_message(line: &str) -> bool {
    line.chars().count() <= 120
        && (ORIGINAL_MESSAGE.is_match(line) || BEGIN_FORWARDED.is_match(line))
}

pub(super) fn is_rule(line: &str) -> bool {
    RULE.is_match(line)
}

/// A footer a mail app adds ("Sent from my iPhone", "Get Outlook for Android", "iPhoneから送信", …).
pub(super) fn is_app_footer(line: &str) -> bool {
    let t = line.trim();
    if is_outlook_mobile_footer(t) {
        return true;
    }
    // A trailing link (`<https://aka.ms/…>`) or markdown link target is part of the footer.
    let t = strip_links(t);
    if t.chars().count() > 100 {
        return false;
    }
    if FOOTER_TRAIL.is_match(&t) {
        return true;
    }
    let Some(rest) = FOOTER_LEAD.captures(&t).and_then(|c| c.name("rest")) else {
        return false;
    };
    let rest = rest.as_str().trim();
    // The device or app must be named within the first few words ("Sent from my desk, is much
    // easier than my mobile phone" is a sentence, not a footer).
    let head: Vec<&str> = rest.split_whitespace().take(4).collect();
    let head = head.join(" ");
    let head = head.split([',', ';']).next().unwrap_or_default();
    DEVICE.is_match(head)
        || (rest.split_whitespace().count() == 1
            && rest.chars().next().is_some_and(char::is_uppercase))
        || (rest.is_empty() && t.contains("gesendet"))
}

/// Outlook mobile's footer in any language ("Get Outlook for iOS<https://aka.ms/o0ukef>",
/// "iOS 版 Outlook<https://aka.ms/o0ukef> を入手", "Outlook für Android<https://aka.ms/…> herunterladen"):
/// a short line naming Outlook and a mobile platform around Microsoft's `aka.ms` link.
fn is_outlook_mobile_footer(t: &str) -> bool {
    static PLATFORM: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(?:ios|android)\b"));
    t.chars().count() <= 120
        && t.contains("aka.ms/")
        && t.to_lowercase().contains("outlook")
        && PLATFORM.is_match(t)
        && strip_links(t).split_whitespace().count() <= 8
}

/// A short "Key : value" line, as header blocks in less common languages have ("Message du : …").
pub(super) fn looks_like_field(line: &str) -> bool {
    static FIELD: LazyLock<Regex> =
        LazyLock::new(|| re(r"^\s*[*_]{0,2}[\p{L}][\p{L} ]{0,18}[*_]{0,2}\s?[:：]\s"));
    FIELD.is_match(line)
}

/// A mailing-list footer: a rule of underscores followed by "… mailing list".
pub(super) fn is_list_footer(line: &str, next: Option<&str>) -> bool {
    let t = line.trim();
    t.len() >= 2
        && t.chars().all(|c| c == '_')
        && next.is_some_and(|n| n.trim().to_lowercase().ends_with("mailing list"))
}

/// Invisible tracking glyphs some mail add-ons put on a line of their own (Streak's "ᐧ").
pub(super) fn is_tracking_glyph(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty()
        && t.chars()
            .all(|c| matches!(c, '\u{1427}' | '\u{200b}' | '\u{feff}'))
}

fn strip_links(t: &str) -> String {
    static LINK: LazyLock<Regex> =
        LazyLock::new(|| re(r"<(?:https?|mailto):[^>]*>|\((?:https?|mailto):[^)]*\)"));
    LINK.replace_all(t, "").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for r in [
            &WROTE,
            &ATTRIBUTION_LEAD,
            &ENDS_WITH_COLON,
            &HAS_META,
            &DATE_LED,
            &FROM_FIELD,
            &OTHER_FIELD,
            &ORIGINAL_MESSAGE,
            &BEGIN_FORWARDED,
            &RULE,
            &FOOTER_LEAD,
            &FOOTER_TRAIL,
            &DEVICE,
            &WROTE_AT_END,
            &GMAIL_DATE_TIME,
            &DASHED_WROTE,
            &INLINE_LEAD,
            &ADDRESS,
            &TIME,
        ] {
            assert!(!r.as_str().is_empty());
        }
    }

    #[test]
    fn attributions_in_many_languages() {
        for a in [
            "On Tue, Mar 3, 2020 at 9:14 AM Carol Ames <carol@corp.test> wrote:",
            "Am 03.03.2020 um 09:14 schrieb Carol Ames <carol@corp.test>:",
            "Le mar. 3 mars 2020 à 09:14, Carol Ames <carol@corp.test> a écrit :",
            "El mar., 3 mar. 2020 a las 9:14, Carol Ames (<carol@corp.test>) escribió:",
            "Il giorno mar 3 mar 2020 alle ore 09:14 Carol Ames <carol@corp.test> ha scritto:",
            "Em ter., 3 de mar. de 2020 às 09:14, Carol Ames <carol@corp.test> escreveu:",
            "Op di 3 mrt. 2020 om 09:14 schreef Carol Ames <carol@corp.test>:",
            "Den tis 3 mars 2020 kl 09:14 skrev Carol Ames <carol@corp.test>:",
            "tir. 3. mar. 2020 kl. 09.14 skrev Carol Ames <carol@corp.test>:",
            "W dniu 3.03.2020 o 09:14 Carol Ames <carol@corp.test> napisał(a):",
            "2020年3月3日(火) 9:14 Carol Ames <carol@corp.test>:",
            "在 2020年3月3日 09:14，Carol Ames <carol@corp.test> 写道：",
            "2020-03-03 9:14 GMT+01:00 Carol Ames <carol@corp.test>:",
        ] {
            assert!(is_attribution(a), "{a}");
        }
        for not in [
            "Please reject this:",
            "The vendor wrote a bad script",
            "Reason: the change was not announced",
        ] {
            assert!(!is_attribution(not), "{not}");
        }
    }

    #[test]
    fn outlook_fields() {
        for f in [
            "From: A",
            "*From:* A",
            "Von: A",
            "De : A",
            "Od: A",
            "差出人: A",
            "发件人: A",
        ] {
            assert!(is_from_field(f), "{f}");
        }
        for f in [
            "Sent: x",
            "*Sent:* x",
            "Gesendet: x",
            "Objet : x",
            "Asunto: x",
            "Temat: x",
            "件名: x",
            "主题: x",
        ] {
            assert!(is_other_field(f), "{f}");
        }
        assert!(!is_from_field("Fromage: cheese"));
    }

    #[test]
    fn markers_and_footers() {
        for m in [
            "-----Original Message-----",
            "-----Ursprüngliche Nachricht-----",
            "-----Message d'origine-----",
            "-----Mensaje original-----",
            "---------- Forwarded message ---------",
            "Begin forwarded message:",
        ] {
            assert!(is_original_message(m), "{m}");
        }
        for f in [
            "Sent from my iPhone",
            "Sent from my Android",
            "Get Outlook for iOS<https://aka.ms/o0ukef>",
            "Get Outlook for Android",
            "Sent from Mail for Windows",
            "Von meinem iPhone gesendet",
            "Envoyé de mon iPhone",
            "Enviado desde mi iPhone",
            "Inviato da iPhone",
            "Verstuurd vanaf mijn iPhone",
            "Skickat från min iPhone",
            "Wysłane z iPhone'a",
            "iPhoneから送信",
            "iOS 版 Outlook<https://aka.ms/o0ukef> を入手",
            "Outlook für Android<https://aka.ms/AAb9ysg> herunterladen",
        ] {
            assert!(is_app_footer(f), "{f}");
        }
        for not in [
            "Sent from the office because the change breaks payroll",
            "Von Bob",
            "Thanks, Bob",
        ] {
            assert!(!is_app_footer(not), "{not}");
        }
        assert!(is_sig_delimiter("-- "));
        assert!(is_sig_delimiter("--"));
        assert!(!is_sig_delimiter("---"));
        assert!(!is_sig_delimiter("-- Bob"));
    }
}
