//! Tests of the plain-text reader: attributions, header blocks, markers, signatures and footers
//! in many languages, interleaved replies, and format=flowed.

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
        new_text("Onwards: no.\n\nOn Sat, Nov 28, 2026 at 10:00 AM X <\nx@y.test> wrote:\n> q\n"),
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
