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
static WROTE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        \b(?:wrote|writes|schrieb|geschrieben|a\s+écrit|écrit|escribió|escribio|ha\s+scritto|scrisse|
            escreveu|schreef|geschreven|skrev|skriver|napisał|napisała|napisał\(a\)|napisal|
            написал|написала|написал\(а\)|написав|написала\(а\)|kirjoitti|írta|yazdı|έγραψε)
        |写道|寫道|のメッセージ|が書きました|さんは書きました")
});

/// Words that open an attribution line in the languages SPEC §2 names.
static ATTRIBUTION_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^[\s*]*(?:on|am|le|el|il|em|op|den|d\.|på|w\s+dniu|dnia|in\s+data|en|el\s+día|
        在|於|于|\d|(?:mon|tue|wed|thu|fri|sat|sun)|(?:mo|di|mi|do|fr|sa|so)\.)")
});

/// An attribution line ending: a colon, maybe full width, maybe after a closing `>` or `)`.
static ENDS_WITH_COLON: LazyLock<Regex> = LazyLock::new(|| re(r"[:：]\s*$"));

/// Evidence that a line talks about a message: an address, a time or a year.
static HAS_META: LazyLock<Regex> =
    LazyLock::new(|| re(r"@|\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b|\d{4}年|\d{1,2}月"));

/// Gmail/Android style "2016-03-03 17:21 GMT+01:00 Some One <a@b>:" and Japanese
/// "2016年3月3日(木) 17:21 山田 <a@b>:" attributions, which have no verb.
static DATE_LED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\s*(?:\d{4}[-/.年]\s*\d{1,2}[-/.月]\s*\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}).*(?:@|<).*[:：]\s*$")
});

/// Header field names of the first line of an Outlook-style header block (the sender).
static FROM_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^\s*[*_]{0,2}\s*(?:from|von|de|da|van|från|fra|frá|od|от|від|lähettäjä|feladó|
        差出人|送信者|发件人|發件人|寄件者|寄件人|보낸\s*사람)\s*[*_]{0,2}\s*[:：]")
});

/// Header field names that follow the sender in such a block.
static OTHER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^\s*[*_]{0,2}\s*(?:sent|date|to|cc|bcc|subject|reply-to|importance|
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
        보낸\s*날짜|받는\s*사람|제목)\s*[*_]{0,2}\s*[:：]")
});

/// "-----Original Message-----" and its translations; forwarded-message markers.
static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^\s*[-_=*\s]*(?:
        original\s+message|ursprüngliche\s+nachricht|ursprungliche\s+nachricht|message\s+d'origine|
        message\s+original|mensaje\s+original|messaggio\s+originale|mensagem\s+original|
        oorspronkelijk\s+bericht|origineel\s+bericht|ursprungligt\s+meddelande|originalmeddelande|
        original\s+meddelelse|oprindelig\s+meddelelse|opprinnelig\s+melding|originalmelding|
        oryginalna\s+wiadomość|wiadomość\s+oryginalna|исходное\s+сообщение|原始邮件|原始郵件|元のメッセージ|
        forwarded\s+message|weitergeleitete\s+nachricht|message\s+transféré|mensaje\s+reenviado|
        messaggio\s+inoltrato|mensagem\s+encaminhada|doorgestuurd\s+bericht|
        vidarebefordrat\s+meddelande|videresendt\s+meddelelse|videresendt\s+melding|
        przekazana\s+wiadomość|wiadomość\s+przekazana|пересылаемое\s+сообщение|
        转发的邮件|轉寄的郵件|転送されたメッセージ
    )\s*[-_=*\s]*:?\s*$")
});

/// "Begin forwarded message:" (Apple Mail) and its translations.
static BEGIN_FORWARDED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht|
        début\s+du\s+message\s+réexpédié|inicio\s+del\s+mensaje\s+reenviado|
        inizio\s+messaggio\s+inoltrato|início\s+da\s+mensagem\s+reencaminhada|
        begin\s+doorgestuurd\s+bericht|vidarebefordrat\s+brev|videresendt\s+brev)\s*[:：]\s*$")
});

/// A rule line Outlook puts above its header block.
static RULE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(?:_{5,}|-{5,}|={5,})\s*$"));

/// Footers mail apps add below the text. Whole lines only (an optional link may follow).
static APP_FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^\s*[(<\[]*\s*(?:
        sent\s+(?:from|via|with|using)\s+(?:my\s+)?\S.{0,60}|
        get\s+outlook\s+for\s+\S.{0,30}|
        (?:von|gesendet\s+von|gesendet\s+mit)\s+(?:meinem\s+)?\S.{0,50}?(?:gesendet)?|
        diese\s+nachricht\s+wurde\s+von\s+meinem\s+.{0,60}\s+gesendet\.?|
        outlook\s+für\s+\S+\s+(?:beziehen|herunterladen)|
        envoyé\s+(?:de|depuis|avec)\s+(?:mon\s+)?\S.{0,50}|obtenir\s+outlook\s+pour\s+\S.{0,30}|
        enviado\s+(?:desde|con|do|de|a\s+partir\s+do)\s+(?:mi\s+|meu\s+|o\s+meu\s+)?\S.{0,50}|
        obtener\s+outlook\s+para\s+\S.{0,30}|obter\s+o\s+outlook\s+para\s+\S.{0,30}|
        inviato\s+da\s+(?:il\s+mio\s+|mio\s+)?\S.{0,50}|scarica\s+outlook\s+per\s+\S.{0,30}|
        (?:verstuurd|verzonden)\s+(?:vanaf|van|met|via)\s+(?:mijn\s+)?\S.{0,50}|
        outlook\s+voor\s+\S+\s+downloaden|
        skickat\s+från\s+(?:min\s+)?\S.{0,50}|
        sendt\s+fra\s+(?:min\s+)?\S.{0,50}|
        wysłane\s+z\s+(?:mojego\s+)?\S.{0,50}|
        отправлено\s+с\s+\S.{0,50}|
        \S{1,30}から送信|
        发自我的\s*\S.{0,30}|發自我的\s*\S.{0,30}|来自我的\s*\S.{0,30}|從我的\s*\S.{0,30}\s*傳送
    )\s*[)>\]]*\s*$")
});

/// Words that make a "Sent from …"-style line a device or app footer, not a typed sentence.
static DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)iphone|ipad|ipod|android|mobil|phone|handy|blackberry|samsung|galaxy|huawei|xiaomi|
        pixel|nokia|htc|sony|motorola|wiko|windows|outlook|mail|yahoo|gmail|aol|proton|tablet|
        device|dispositiv|apparaat|enhet|enhed|urządzen|appareil|gerät|smartphone|airmail|
        spark|newton|superhuman|k-9|fairphone|oneplus|lg\b|tizen|ios\b|mac\b|telefon|téléphone|
        teléfono|telefono|cell|ti-85|alcatel|\bpc\b|iphone'a|携帯|手机|手機|\S+から送信")
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
    let t = text.trim();
    let count = t.chars().count();
    if count < 6 || count > 400 || !ENDS_WITH_COLON.is_match(t) {
        return false;
    }
    if WROTE.is_match(t) {
        return ATTRIBUTION_LEAD.is_match(t) || HAS_META.is_match(t);
    }
    DATE_LED.is_match(t)
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
    line.chars().count() <= 120 && (ORIGINAL_MESSAGE.is_match(line) || BEGIN_FORWARDED.is_match(line))
}

pub(super) fn is_rule(line: &str) -> bool {
    RULE.is_match(line)
}

/// A footer a mail app adds ("Sent from my iPhone", "Get Outlook for Android", "iPhoneから送信", …).
pub(super) fn is_app_footer(line: &str) -> bool {
    let t = line.trim();
    // A trailing link (`<https://aka.ms/…>`) or markdown link target is part of the footer.
    let t = strip_links(t);
    t.chars().count() <= 100 && APP_FOOTER.is_match(&t) && DEVICE.is_match(&t)
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
            &APP_FOOTER,
            &DEVICE,
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
        for f in ["From: A", "*From:* A", "Von: A", "De : A", "Od: A", "差出人: A", "发件人: A"] {
            assert!(is_from_field(f), "{f}");
        }
        for f in ["Sent: x", "*Sent:* x", "Gesendet: x", "Objet : x", "Asunto: x", "Temat: x", "件名: x", "主题: x"] {
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
        ] {
            assert!(is_app_footer(f), "{f}");
        }
        for not in ["Sent from the office because the change breaks payroll", "Von Bob", "Thanks, Bob"] {
            assert!(!is_app_footer(not), "{not}");
        }
        assert!(is_sig_delimiter("-- "));
        assert!(is_sig_delimiter("--"));
        assert!(!is_sig_delimiter("---"));
        assert!(!is_sig_delimiter("-- Bob"));
    }
}
