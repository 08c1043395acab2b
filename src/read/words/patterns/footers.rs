//! The end of the approver's text: the signature delimiter, the footers mail apps add ("Sent
//! from my iPhone", "Get Outlook for iOS", … in their languages) and mailing-list footers.

use std::sync::LazyLock;

use regex::Regex;

use super::re;

/// The opening phrase of a footer a mail app adds; what follows must name a device or an app.
/// The phrases are those of iOS Mail ("Sent from my iPhone"), Samsung Email ("Sent from my
/// Galaxy", "Sent from my Samsung Galaxy smartphone."), Android and BlackBerry mail, Outlook
/// mobile ("Get Outlook for iOS") and Proton in the languages they ship.
pub(super) static FOOTER_LEAD: LazyLock<Regex> = LazyLock::new(|| {
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
pub(super) static FOOTER_TRAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:從我的|나의|내|az)?\s*(?:\S{1,30}\s*){1,4}(?:から送信|傳送|发送|gönderildi\.?|에서\s*보냄|에서\s*보냈습니다\.?|küldve\.?|için\s+outlook'u\s+edinin|용\s+outlook\s+받기)$",
    )
});

/// A word that says "sent" in a language a footer may be in (for footers in no list above).
pub(super) static SENT_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?ix)\bsent\b|gesendet|envoy|enviad|enviat|inviat|verstuurd|verzonden|skickat|\bsendt\b|lähetetty|
        wysłan|odeslán|odoslan|gönder|отправлен|надіслан|küldve|poslan|poslat|trimis|στάλθηκε|נשלח|
        أرسل|أُرسل|الإرسال|보냄|보냈|送信|发自|發自|傳送|发送|išsiųst|nosūtīt|saadetud|изпратен|послат|dikirim|gửi",
    )
});

/// A device or mail app a footer names (narrower than [`DEVICE`]: no common words).
pub(super) static FOOTER_DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)iphone|ipad|android|galaxy|samsung|blackberry|huawei|xiaomi|\bpixel\b|outlook|proton\s*mail|\bios\b|mobil|smartphone|smartfon|älypuhelin|akıllı|스마트폰|telefon",
    )
});

/// Words that make a "Sent from …"-style line a device or app footer, not a typed sentence.
pub(super) static DEVICE: LazyLock<Regex> = LazyLock::new(|| {
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
pub(crate) fn is_sig_delimiter(line: &str) -> bool {
    line.trim_end() == "--" && !line.starts_with(char::is_whitespace)
}

/// A footer a mail app adds ("Sent from my iPhone", "Get Outlook for Android", "iPhoneから送信", …).
pub(crate) fn is_app_footer(line: &str) -> bool {
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
pub(crate) fn is_loose_footer(line: &str) -> bool {
    let t = strip_links(line.trim());
    !t.is_empty()
        && t.chars().count() <= 80
        && t.split_whitespace().count() <= 8
        && FOOTER_DEVICE.is_match(&t)
        && SENT_WORD.is_match(&t)
}

/// A mailing-list footer: a rule of underscores followed by "… mailing list".
pub(crate) fn is_list_footer(line: &str, next: Option<&str>) -> bool {
    let t = line.trim();
    t.len() >= 2
        && t.chars().all(|c| c == '_')
        && next.is_some_and(|n| n.trim().to_lowercase().ends_with("mailing list"))
}

fn strip_links(t: &str) -> String {
    static LINK: LazyLock<Regex> =
        LazyLock::new(|| re(r"<(?:https?|mailto):[^>]*>|\((?:https?|mailto):[^)]*\)"));
    LINK.replace_all(t, "").trim().to_string()
}
