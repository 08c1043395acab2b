//! The line patterns the plain-text reader recognises: attribution lines, Outlook header fields,
//! original/forwarded-message markers, signature delimiters and mail-app footers, in the languages
//! named in SPEC §2 and the others that Outlook, Gmail, Apple Mail, Thunderbird, Samsung Email,
//! Zimbra and The Bat! write in Europe and the Middle East. Kept in one place so that adding a
//! language is one edit.
//!
//! Every pattern is matched against a line with its bidirectional-text marks taken out
//! ([`strip_marks`]): right-to-left mail (Hebrew, Arabic) puts them around labels, addresses and
//! colons, where they would hide a label from any pattern.

use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file; the unit tests compile every one of them.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

/// Verbs of attribution lines ("On … wrote:"), as they appear just before the closing colon or
/// the quoted author.
const VERBS: &str = r"(?:\b(?:wrote|writes|you\s+wrote|schrieb|geschrieben|a\s+écrit|écrit|escribió|escribio|ha\s+scritto|scrisse|
    escreveu|schreef|geschreven|skrev|skriver|napisał\(a\)|napisała|napisał|napisal|pisze|
    napsal\(a\)|napsala|napsal|napísal\(a\)|napísala|napísal|napisal\(a\)|napisao\s+je|napisala\s+je|je\s+napisao|
    написал\(а\)|написала|написал|написав|написа|пишет|пише|писали|писал|је\s+написао|
    kirjoitti|kirjutas|írta|yazdı|έγραψε|a\s+scris|rašė|rakstīja|skrifaði|escrigué|va\s+escriure|ha\s+escrit|đã\s+viết|
    כתב|כתבה|كتب)
    |写道|寫道|のメッセージ|が書きました|さんは書きました|님이\s*작성|작성:)";

static WROTE: LazyLock<Regex> = LazyLock::new(|| re(&format!("(?ix){VERBS}")));
/// The verb closes the line ("---- On … wrote ----" after the dashes are trimmed).
static WROTE_AT_END: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?ix){VERBS}\s*[:：]?\s*$")));

/// An e-mail address and a time of day: with a closing colon, an attribution in any language
/// ("ср, 30 апр. 2025 г. в 15:19, John <j@x.test>:", "11:00 AM, November 17, 2021, "J" <j@x.test>:").
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| re(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"));
static TIME: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d{1,2}[:.]\d{2}\b"));
/// Webmail's "Quoting Bob <bob@x.test>:" (Horde, SquirrelMail) and its translations.
static QUOTING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^\s*(?:quoting|zitat\s+von|citation\s+de|citando(?:\s+a)?|citaat\s+van|cytuj[ąa]c|cituji|idézet)\s+\S.{0,200}[:：]\s*$",
    )
});
/// A colon inside the line that is not part of a time ("Rejected: …"): typed text, not an
/// attribution, when it stands outside parentheses (Hungarian Gmail writes "(időpont: …)").
static INNER_COLON: LazyLock<Regex> = LazyLock::new(|| re(r"[^\d\s][:：]\s+\S"));

/// Words that open an attribution line in the languages SPEC §2 names.
static ATTRIBUTION_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^[\s*]*(?:(?:on|am|le|el|il|em|op|den|på|w\s+dniu|dnia|dne|in\s+data|en|el\s+día|
        στις|בתאריך|في|you\s+wrote|вы\s+писали|quoting|zitat\s+von|citation\s+de|citando|citaat\s+van)\b|d\.|
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

/// Header field names of the first line of an Outlook-style header block (the sender), in the
/// languages Outlook, Apple Mail, Gmail and Thunderbird label it in.
static FROM_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^\s*[*_]{0,2}\s*(?:from|von|de|de\s+la|da|van|från|fra|frá|od|од|от|від|від\s+кого|
        отправитель|lähettäjä|feladó|kimden|gönderen|šalje|nadawca|mittente|expeditorul|saatja|
        nuo|no|από|מאת|من|المرسل|از|dari|từ|
        差出人|送信者|发件人|發件人|寄件者|寄件人|보낸\s*사람)\s*[*_]{0,2}\s*[:：]",
    )
});

/// Header field names that follow the sender in such a block.
static OTHER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^\s*[*_]{0,2}\s*(?:sent|date|to|cc|bcc|subject|reply-to|importance|
        gesendet|datum|an|kopie|kopie\s+\(cc\)|betreff|
        envoyé|envoye|date|à|a|cc|objet|
        enviado|enviado\s+el|enviada|fecha|para|asunto|
        inviato|data|oggetto|
        verzonden|verstuurd|aan|onderwerp|
        skickat|till|ämne|kopia|
        sendt|til|emne|dato|kopi|
        wysłano|wysłane|do|temat|dw|
        enviada\s+em|assunto|
        enviat|per\s+a|assumpte|
        odesláno|komu|předmět|
        odoslané|predmet|kópia|dátum|
        gönderildi|gönderilme\s+tarihi|kime|konu|bilgi|tarih|
        elküldve|küldve|címzett|tárgy|másolat|másolatot\s+kap|
        trimis|către|catre|subiect|dată|
        poslano|poslato|prima|za|naslov|tema|kopija|zadeva|kp|
        изпратено|до|относно|копие|
        послато|за|копија|датум|
        στάλθηκε|προς|θέμα|κοιν\.?|ημερομηνία|
        отправлено|надіслано|відправлено|дата|кому|тема|копия|копія|
        lähetetty|vastaanottaja|aihe|kopio|päivämäärä|päiväys|
        saadetud|saatmisaeg|adressaat|kellele|teema|koopia|
        nosūtīts|kam|tēma|datums|
        išsiųsta|
        sent|til|efni|
        נשלח|אל|נושא|עותק|תאריך|
        تم\s+الإرسال|تاريخ\s+الإرسال|أرسلت|أُرسلت|إلى|الى|الموضوع|نسخة|التاريخ|
        送信日時|日付|宛先|件名|
        发送时间|發送時間|日期|收件人|主题|主旨|抄送|时间|
        보낸\s*날짜|받는\s*사람|제목|참조)\s*[*_]{0,2}\s*[:：]",
    )
});

/// "-----Original Message-----" and its translations (Outlook, Thunderbird, Samsung Email, Zimbra's
/// "----- Mail original -----", BlackBerry's undashed one); forwarded-message markers. The dashes
/// may be any of the Unicode hyphens and dashes (U+2010-2015, U+2212).
static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^\s*[-_=*\s\u{2010}-\u{2015}\u{2212}]*(?:
        original\s+message|ursprüngliche\s+nachricht|ursprungliche\s+nachricht|ursprüngliche\s+mail|message\s+d'origine|
        message\s+original|mail\s+original|mensaje\s+original|messaggio\s+originale|mensagem\s+original|
        oorspronkelijk\s+bericht|origineel\s+bericht|ursprungligt\s+meddelande|originalmeddelande|
        original\s+meddelelse|oprindelig\s+meddelelse|oprindelig\s+besked|original\s+besked|alkuperäinen\s+viesti|eredeti\s+üzenet|původní\s+zpráva|originalnachricht|opprinnelig\s+melding|originalmelding|
        oryginalna\s+wiadomość|reply\s+message|antwort\s+nachricht|wiadomość\s+oryginalna|исходное\s+сообщение|原始邮件|原始郵件|元のメッセージ|
        pôvodná\s+správa|özgün\s+ileti|orijinal\s+ileti|orijinal\s+mesaj|הודעה\s+מקורית|الرسالة\s+الأصلي\u{651}?ة|
        mesaj\s+original|mesajul\s+original|izvirno\s+sporočilo|izvorna\s+poruka|izvorna\s+poruka|originalna\s+poruka|
        оригинална\s+порука|оригинално\s+съобщение|оригинално\s+писмо|αρχικό\s+μήνυμα|оригінальне\s+повідомлення|
        початкове\s+повідомлення|вихідне\s+повідомлення|оригинальное\s+сообщение|исходное\s+письмо|algne\s+kiri|
        sākotnējā\s+ziņa|oriģinālā\s+ziņa|pradinis\s+laiškas|originalus\s+laiškas|원본\s*메시지|missatge\s+original|
        forwarded\s+message|weitergeleitete\s+nachricht|weitergeleitete\s+mail|message\s+transféré|mensaje\s+reenviado|
        messaggio\s+inoltrato|mensagem\s+encaminhada|mensagem\s+reencaminhada|doorgestuurd\s+bericht|
        vidarebefordrat\s+meddelande|videresendt\s+meddelelse|videresendt\s+melding|
        przekazana\s+wiadomość|wiadomość\s+przekazana|treść\s+przekazanej\s+wiadomości|пересылаемое\s+сообщение|
        перенаправленное\s+сообщение|перенаправлене\s+повідомлення|переслане\s+повідомлення|
        přeposlaná\s+zpráva|preposlaná\s+správa|továbbított\s+üzenet|mesaj\s+redirecționat|iletilmiş\s+mesaj|iletilen\s+ileti|
        edelleenlähetetty\s+viesti|välitetty\s+viesti|proslijeđena\s+poruka|message\s+transmis|
        转发的邮件|轉寄的郵件|転送されたメッセージ
    )(?:\s*/\s*fwd\.msg)?[-_=*\s\u{2010}-\u{2015}\u{2212}]*:?\s*(?:processed\s+by\s+\S.*)?$")
});

/// "Begin forwarded message:" (Apple Mail) and its translations.
static BEGIN_FORWARDED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht|
        début\s+du\s+message\s+réexpédié|début\s+du\s+message\s+transféré|inicio\s+del\s+mensaje\s+reenviado|
        inizio\s+messaggio\s+inoltrato|início\s+da\s+mensagem\s+reencaminhada|início\s+da\s+mensagem\s+encaminhada|
        begin\s+doorgestuurd\s+bericht|vidarebefordrat\s+brev|vidarebefordrat\s+mejl|videresendt\s+brev|
        videresendt\s+melding|start\s+på\s+videresendt\s+besked|začátek\s+přeposílané\s+zprávy|
        začiatok\s+preposlanej\s+správy|välitetty\s+viesti\s+alkaa|započni\s+proslijeđenu\s+poruku|
        továbbított\s+levél\s+kezdete|początek\s+przekazywanej\s+wiadomości|începe\s+mesajul\s+redirecționat|
        начало\s+переадресованного\s+сообщения|ileti\s+başlangıcı|початок\s+листа,\s+що\s+пересилається)\s*[:：]\s*$",
    )
});

/// A rule line Outlook puts above its header block.
/// Any of the Unicode hyphens and dashes count, and box-drawing rules.
static RULE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\s*(?:_{4,}|[-\u{2010}-\u{2015}\u{2212}]{4,}|={4,}|\*{4,}|[\u{2500}-\u{257f}]{4,})\s*$")
});

/// A title between dashes ("----- Mail original -----", "—— Переслане повідомлення ——"), in any
/// language: history when a header field follows it.
static DASHED_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*[-=_\u{2010}-\u{2015}\u{2212}]{3,}\s*[\p{L}][\p{L}\p{M}'’ ./]{1,60}?\s*[-=_\u{2010}-\u{2015}\u{2212}]{3,}\s*$",
    )
});

/// The opening phrase of a footer a mail app adds; what follows must name a device or an app.
/// The phrases are those of iOS Mail ("Sent from my iPhone"), Samsung Email ("Sent from my
/// Galaxy", "Sent from my Samsung Galaxy smartphone."), Android and BlackBerry mail, Outlook
/// mobile ("Get Outlook for iOS") and Proton in the languages they ship.
static FOOTER_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^[(<\[]*\s*(?:
        sent\s+(?:from|via|with|using|on)(?:\s+my)?|get\s+outlook\s+for|
        von\s+meinem|gesendet\s+(?:von|mit|vom|über)(?:\s+meinem)?|outlook\s+für|
        diese\s+nachricht\s+wurde\s+von\s+meinem|
        envoyé\s+(?:de|depuis|avec|à\s+partir\s+de|à\s+partir\s+d'|par)(?:\s+mon)?|obtenir\s+outlook\s+pour|télécharger\s+outlook\s+pour|
        enviado\s+(?:desde|con|do|de|a\s+partir\s+do|pelo)(?:\s+mi|\s+meu|\s+o\s+meu|\s+o\s+seu)?|
        obtener\s+outlook\s+para|obter\s+o\s+outlook\s+para|
        enviat\s+des\s+de(?:l)?(?:\s+meu)?|
        inviato\s+da(?:l)?(?:\s+il)?(?:\s+mio)?|scarica\s+outlook\s+per|
        (?:verstuurd|verzonden)\s+(?:vanaf|van|met|via)(?:\s+mijn)?|outlook\s+voor|
        skickat\s+från(?:\s+min)?|hämta\s+outlook\s+för|
        sendt\s+fra(?:\s+min)?|hent\s+outlook\s+til|få\s+outlook\s+for|
        wysłane\s+z(?:\s+mojego)?|wysłano\s+z(?:\s+mojego)?|pobierz\s+(?:aplikację\s+)?outlook\s+dla|
        odesláno\s+z(?:e)?(?:\s+mého)?|stáhnout\s+outlook\s+pro|
        odoslané\s+z(?:o)?(?:\s+môjho)?|
        lähetetty(?:\s+laitteesta)?|hanki\s+outlook|
        küldve(?:\s+az?)?|
        trimis\s+de\s+pe|descarcă\s+outlook\s+pentru|
        poslano\s+(?:s|sa|iz|z)(?:\s+mog(?:a)?|\s+mojega)?|poslato\s+sa(?:\s+mog)?|послато\s+са(?:\s+мог)?|
        изпратено\s+от(?:\s+моя)?|
        στάλθηκε\s+από(?:\s+το)?|
        отправлено\s+с|получить\s+outlook\s+для|надіслано\s+з|
        išsiųsta\s+iš(?:\s+mano)?|nosūtīts\s+no(?:\s+mana)?|saadetud(?:\s+minu)?|
        נשלח\s+מ(?:ה-?)?|
        (?:أُرسلت|أرسلت|ارسلت|تم\s+الإرسال|مرسل)\s+من(?:\s+الـ?)?|
        dikirim\s+dari|được\s+gửi\s+từ|ส่งจาก|
        发自我的|發自我的|来自我的|從我的
    )(?P<rest>.*)$")
});

/// Footers that name the device first: Japanese "iPhoneから送信", Chinese "從我的 iPhone 傳送",
/// Turkish "iPhone'umdan gönderildi", Korean "나의 iPhone에서 보냄", Hungarian "iPhone-ról küldve".
static FOOTER_TRAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:從我的|나의|내|az)?\s*(?:\S{1,30}\s*){1,4}(?:から送信|傳送|发送|gönderildi\.?|에서\s*보냄|에서\s*보냈습니다\.?|küldve\.?|için\s+outlook'u\s+edinin|용\s+outlook\s+받기)$",
    )
});

/// A word that says "sent" in a language a footer may be in (for footers in no list above).
static SENT_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)\bsent\b|gesendet|envoy|enviad|enviat|inviat|verstuurd|verzonden|skickat|\bsendt\b|lähetetty|
        wysłan|odeslán|odoslan|gönder|отправлен|надіслан|küldve|poslan|poslat|trimis|στάλθηκε|נשלח|
        أرسل|أُرسل|الإرسال|보냄|보냈|送信|发自|發自|傳送|发送|išsiųst|nosūtīt|saadetud|изпратен|послат|dikirim|gửi",
    )
});

/// A device or mail app a footer names (narrower than [`DEVICE`]: no common words).
static FOOTER_DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)iphone|ipad|android|galaxy|samsung|blackberry|huawei|xiaomi|\bpixel\b|outlook|proton\s*mail|\bios\b|mobil|smartphone|smartfon|älypuhelin|akıllı|스마트폰|telefon",
    )
});

/// Words that make a "Sent from …"-style line a device or app footer, not a typed sentence.
static DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)iphon|ipad|ipod|android|mobil|phone|handy|blackberry|samsung|galaxy|huawei|xiaomi|
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
/// "Le … a écrit :", "在 …，… 写道：", "2016年3月3日 … <a@b>:", "Quoting Bob <bob@x>:", and so on.
///
/// Whether it is one also depends on what follows it (see [`is_standalone_attribution`] for the
/// ones that need nothing below them): a verbless form ("…, John <j@x.test>:") counts only
/// before quoted text or a header block, and the reader checks that.
pub(super) fn is_attribution(text: &str) -> bool {
    attribution_kind(text).is_some()
}

/// An attribution that reads as one even with no quoted text below it (some clients put the
/// history unquoted under it): one with an attribution verb ("wrote", "schrieb", "napsal(a)", …)
/// at its end or followed by little more than a name, that opens like one ("On …", a date, "You
/// wrote …") or names an address or a time, and holds no colon of a typed sentence ("Rejected: …");
/// or one led by a date with the sender's address; or Gmail's and Android's dashed forms.
pub(super) fn is_standalone_attribution(text: &str) -> bool {
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
    if FOOTER_TRAIL.is_match(&t) && FOOTER_DEVICE.is_match(&t) {
        return true;
    }
    let Some(rest) = FOOTER_LEAD.captures(&t).and_then(|c| c.name("rest")) else {
        return false;
    };
    let rest = rest.as_str().trim();
    if rest.starts_with([':', '：']) {
        // "Lähetetty: 28. marraskuuta 2026" is a header field, not a footer.
        return false;
    }
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
/// "iOS 版 Outlook<https://aka.ms/o0ukef> を入手", "Outlook für Android<https://aka.ms/…> herunterladen",
/// "Hanki Outlook for iOS", "iOS için Outlook'u edinin"): a short line naming Outlook and a mobile
/// platform, around Microsoft's `aka.ms` link or, without it, as a line of its own that ends in
/// no sentence punctuation.
fn is_outlook_mobile_footer(t: &str) -> bool {
    static PLATFORM: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(?:ios|android)\b"));
    if t.chars().count() > 120 || !t.to_lowercase().contains("outlook") || !PLATFORM.is_match(t) {
        return false;
    }
    let words = strip_links(t).split_whitespace().count();
    if t.contains("aka.ms/") {
        return words <= 8;
    }
    words <= 6 && !t.ends_with(['.', '!', '?', ',', ';', ':', '。'])
}

/// A short line naming a device or mail app and saying "sent" in some language ("Lähetetty
/// Samsung Galaxy -älypuhelimesta.", "Poslano s mog iPhonea"): a footer when nothing but history
/// follows it, which the reader checks.
pub(super) fn is_loose_footer(line: &str) -> bool {
    let t = strip_links(line.trim());
    !t.is_empty()
        && t.chars().count() <= 80
        && t.split_whitespace().count() <= 8
        && FOOTER_DEVICE.is_match(&t)
        && SENT_WORD.is_match(&t)
}

/// A title between dashes ("----- Mail original -----") in any language.
pub(super) fn is_dashed_title(line: &str) -> bool {
    line.chars().count() <= 100 && DASHED_TITLE.is_match(line)
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
            &QUOTING,
            &INNER_COLON,
            &DASHED_TITLE,
            &SENT_WORD,
            &FOOTER_DEVICE,
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
