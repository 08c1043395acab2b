//! Unquoted history: the fields of an Outlook-style header block ("From:", "Sent:", … in many
//! languages), the "-----Original Message-----" and forwarded-message markers, and the rule
//! lines and dashed titles above them.

use std::sync::LazyLock;

use regex::Regex;

use super::{ADDRESS, TIME, re};

/// Header field names of the first line of an Outlook-style header block (the sender), in the
/// languages Outlook, Apple Mail, Gmail and Thunderbird label it in.
pub(super) static FROM_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)^\s*[*_]{0,2}\s*(?:from|von|de|de\s+la|da|van|från|fra|frá|od|од|от|від|від\s+кого|
        отправитель|lähettäjä|feladó|kimden|gönderen|šalje|nadawca|mittente|expeditorul|saatja|
        nuo|no|από|מאת|من|المرسل|از|dari|từ|
        差出人|送信者|发件人|發件人|寄件者|寄件人|보낸\s*사람)\s*[*_]{0,2}\s*[:：]",
    )
});

/// Header field names that follow the sender in such a block.
pub(super) static OTHER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
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
pub(super) static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
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
pub(super) static BEGIN_FORWARDED: LazyLock<Regex> = LazyLock::new(|| {
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
pub(super) static RULE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\s*(?:_{4,}|[-\u{2010}-\u{2015}\u{2212}]{4,}|={4,}|\*{4,}|[\u{2500}-\u{257f}]{4,})\s*$")
});

/// A title between dashes ("----- Mail original -----", "—— Переслане повідомлення ——"), in any
/// language: history when a header field follows it.
pub(super) static DASHED_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*[-=_\u{2010}-\u{2015}\u{2212}]{3,}\s*[\p{L}][\p{L}\p{M}'’ ./]{1,60}?\s*[-=_\u{2010}-\u{2015}\u{2212}]{3,}\s*$",
    )
});

/// The key of a header field holds a date or a recipient ("Date: …", "To: …") with an address or a time.
pub(crate) fn is_dated_field(line: &str) -> bool {
    is_other_field(line) && (ADDRESS.is_match(line) || TIME.is_match(line))
}

/// The first line of an Outlook header block (the sender field).
pub(crate) fn is_from_field(line: &str) -> bool {
    FROM_FIELD.is_match(line)
}

/// Any header field of an Outlook header block other than the sender.
pub(crate) fn is_other_field(line: &str) -> bool {
    OTHER_FIELD.is_match(line)
}

pub(crate) fn is_original_message(line: &str) -> bool {
    line.chars().count() <= 120
        && (ORIGINAL_MESSAGE.is_match(line) || BEGIN_FORWARDED.is_match(line))
}

pub(crate) fn is_rule(line: &str) -> bool {
    RULE.is_match(line)
}

/// A title between dashes ("----- Mail original -----") in any language.
pub(crate) fn is_dashed_title(line: &str) -> bool {
    line.chars().count() <= 100 && DASHED_TITLE.is_match(line)
}

/// A short "Key : value" line, as header blocks in less common languages have ("Message du : …").
pub(crate) fn looks_like_field(line: &str) -> bool {
    static FIELD: LazyLock<Regex> =
        LazyLock::new(|| re(r"^\s*[*_]{0,2}[\p{L}][\p{L} ]{0,18}[*_]{0,2}\s?[:：]\s"));
    FIELD.is_match(line)
}
