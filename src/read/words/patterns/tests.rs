//! Tests of the line patterns: every one compiles, and attributions, header fields, markers and
//! footers are recognised in many languages (and look-alike sentences are not).

use super::attribution::*;
use super::footers::*;
use super::header_block::*;
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
