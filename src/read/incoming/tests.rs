//! Tests of reading one message: sender, IDs, recipients, automatic markers, dates, header-block
//! anomalies, encryption and which body part is read.

use super::*;

fn msg(headers: &str, body: &str) -> Vec<u8> {
    format!("{headers}\r\n\r\n{body}")
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

#[test]
fn reads_sender_ids_and_subject() {
    let r = read(&msg(
        "From: \"Alice A.\" <Alice@Example.TEST>\nSubject: =?utf-8?q?R=C3=A9ponse?=\nMessage-ID: <abc@x.test>\nIn-Reply-To: <n1@bridge.test>\nReferences: <n0@bridge.test> <n1@bridge.test>",
        "No way.\n",
    ));
    assert_eq!(r.malformed, None);
    let from = r.from.unwrap();
    assert_eq!(from.address, "alice@example.test");
    assert_eq!(from.domain(), "example.test");
    assert_eq!(r.subject.as_deref(), Some("Réponse"));
    assert_eq!(r.message_id.as_deref(), Some("abc@x.test"));
    assert_eq!(r.in_reply_to, vec!["n1@bridge.test"]);
    assert_eq!(r.references, vec!["n0@bridge.test", "n1@bridge.test"]);
    assert_eq!(r.new_text, "No way.");
}

#[test]
fn recipients_come_from_to_cc_and_the_delivery_headers() {
    let r = read(&msg(
        "Delivered-To: Bridge+AbC@example.test\nX-Original-To: <bridge+abc@example.test>\nFrom: a@example.test\nTo: \"Approvals\" <Bridge+abc@Example.test>, other@example.test\nCc: team: c@example.test;",
        "x",
    ));
    assert_eq!(
        r.recipients,
        [
            "bridge+abc@example.test",
            "other@example.test",
            "c@example.test"
        ]
    );
}

#[test]
fn display_name_spoofing_uses_the_real_address() {
    let r = read(&msg(
        "From: \"alice@example.test\" <mallory@evil.test>",
        "x",
    ));
    assert_eq!(r.from.unwrap().address, "mallory@evil.test");
}

#[test]
fn from_twice_or_two_addresses_is_malformed() {
    let r = read(&msg("From: a@example.test\nFrom: b@example.test", "x"));
    assert!(r.malformed.unwrap().contains("more than once"));
    let r = read(&msg("From: a@example.test, b@example.test", "x"));
    assert!(r.malformed.unwrap().contains("more than one address"));
    let r = read(&msg("Subject: hi", "x"));
    assert!(r.malformed.unwrap().contains("no From"));
    let r = read(&msg("From: Just A Name", "x"));
    assert!(r.malformed.is_some());
}

#[test]
fn auto_generated_markers() {
    for h in [
        "Auto-Submitted: auto-replied",
        "auto-submitted: Auto-Generated; owner-email=x@y",
        "Precedence: BULK",
        "Precedence: list",
        "X-Autoreply: yes",
        "X-Autorespond: anything",
        "Return-Path: <>",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=x",
        "Precedence: auto_reply",
        "List-Id: Approvers <approvers.example.test>",
        "Subject: Automatic reply: Approval needed",
        "Subject: =?utf-8?q?R=C3=A9ponse_automatique_=3A_absent?=",
        "Subject: OUT OF OFFICE: back Monday",
        "Subject: Autosvar: Ledig",
        // Every prefix SPEC rule 3 names, in another case, with a space before the colon.
        "Subject: AUTO-REPLY : back Monday",
        "Subject: automatische antwort: x",
        "Subject: Abwesend: x",
        "Subject: =?utf-8?q?Respuesta_autom=C3=A1tica=3A_x?=",
        "Subject: Automatisch antwoord: x",
        "Subject: Risposta automatica: x",
        "Subject: =?utf-8?q?Resposta_autom=C3=A1tica=3A_x?=",
        "Subject: autosvar : x",
    ] {
        let r = read(&msg(&format!("From: a@example.test\n{h}"), "x"));
        assert!(r.auto_submitted.is_some(), "{h}");
    }
    for h in [
        "Auto-Submitted: no",
        "Auto-Submitted: no (typed by hand)",
        "Auto-Submitted: (comment) No",
        "X-Autoreply: NO",
        "Precedence: first-class",
        "Return-Path: <a@example.test>",
        "Subject: Re: Automatic reply: back Monday",
        "Subject: Out of office on Monday, reject it",
    ] {
        let r = read(&msg(&format!("From: a@example.test\n{h}"), "x"));
        assert!(r.auto_submitted.is_none(), "{h}");
    }
}

#[test]
fn all_eleven_out_of_office_prefixes_are_known() {
    assert_eq!(AUTO_REPLY_SUBJECTS.len(), 11);
    for prefix in AUTO_REPLY_SUBJECTS {
        assert_eq!(auto_reply_subject(&format!("{prefix} x")), Some(*prefix));
        assert_eq!(
            auto_reply_subject(&format!("{} x", prefix.to_uppercase())),
            Some(*prefix)
        );
    }
    // Decomposed accents (NFD) are the same prefix.
    assert!(auto_reply_subject("Re\u{301}ponse automatique : absent").is_some());
}

#[test]
fn from_must_be_a_plain_address_compared_in_ascii() {
    for from in [
        "\"a b\"@example.test",
        "a@b@example.test",
        "Team: alice@example.test;",
        "alice@[192.0.2.1]",
        "alice@example..test",
        "alice.@example.test",
        "<@relay.test:alice@example.test>",
    ] {
        let r = read(&msg(&format!("From: {from}"), "x"));
        assert!(r.malformed.is_some(), "{from}: {:?}", r.from);
    }
    let r = read(&msg("From: Bob <Bob.O'Neil+mma@Example.TEST>", "x"));
    assert_eq!(r.from.unwrap().address, "bob.o'neil+mma@example.test");
    // KELVIN SIGN stays what it is: lower-casing in Unicode would make it `k`.
    let r = read(&msg("From: bob@\u{212A}ontoso.test", "x"));
    assert_eq!(r.from.unwrap().address, "bob@\u{212A}ontoso.test");
    assert!(plain_address("用户@例子.广告"));
}

#[test]
fn message_id_from_a_bounded_scan() {
    let raw = b"Subject: x\r\nMessage-ID:\r\n <abc@x.test> (comment)\r\nFrom: a@b\r\n\r\nMessage-ID: <body@x>";
    assert_eq!(message_id_of(raw).as_deref(), Some("abc@x.test"));
    assert_eq!(
        message_id_of(b"message-id: plain@x\n\n").as_deref(),
        Some("plain@x")
    );
    assert_eq!(
        message_id_of(b"Subject: x\r\n\r\nMessage-ID: <body@x>\r\n"),
        None
    );
    assert_eq!(message_id_of(b"Message-ID: <a b@x>\r\n\r\n"), None);
    let long = format!("Message-ID: <{}@x>\r\n\r\n", "a".repeat(2000));
    assert_eq!(message_id_of(long.as_bytes()), None);
    assert_eq!(message_id_of(b""), None);
}

#[test]
fn date_is_read_in_seconds() {
    let r = read(&msg(
        "From: a@example.test\nDate: Mon, 1 Jun 2026 10:00:00 +0000",
        "x",
    ));
    assert_eq!(r.date, Some(1_780_308_000));
    assert_eq!(
        read(&msg("From: a@example.test\nDate: someday", "x")).date,
        None
    );
    assert_eq!(read(&msg("From: a@example.test", "x")).date, None);
}

#[test]
fn header_block_anomalies() {
    let ok = b"From: a@example.test\r\nSubject: x\r\n folded\r\n\r\nbody\n\nmore";
    assert_eq!(header_anomaly(ok), None);
    assert_eq!(header_anomaly(b"From: a@x\nSubject: y\n\nbody\r\n"), None);
    for (raw, what) in [
        (&b"From: a@x\r\nSubject: y\rX: z\r\n\r\n"[..], "bare CR"),
        (b"From: a@x\r\nSubject: y\nX: z\r\n\r\n", "mixed"),
        (
            b"From: a@x\r\n \t\r\nFrom: b@y\r\n\r\n",
            "white space inside",
        ),
        (b"From : a@x\r\n\r\n", "before the colon"),
        (b"Subject: y\r\nFrom\t: a@x\r\n\r\n", "before the colon"),
    ] {
        let a = header_anomaly(raw).unwrap_or_default();
        assert!(a.contains(what), "{raw:?}: {a:?}");
    }
    // Only the header block counts.
    assert_eq!(
        header_anomaly(b"From: a@x\r\n\r\nbody\rwith\nodd ends  : x\r\n"),
        None
    );
    let r = read(b"From: a@example.test\r\nSubject: y\nX: z\r\n\r\nbody");
    assert!(r.header_anomaly.is_some());
}

#[test]
fn encrypted_bodies_are_named_and_signed_only_ones_are_not() {
    assert_eq!(
        encrypted_kind("multipart", "encrypted", None).as_deref(),
        Some("multipart/encrypted")
    );
    assert_eq!(
        encrypted_kind("Application", "PKCS7-MIME", Some("enveloped-data")).as_deref(),
        Some("S/MIME enveloped-data")
    );
    assert!(encrypted_kind("application", "x-pkcs7-mime", None).is_some());
    assert!(encrypted_kind("application", "pkcs7-mime", Some("signed-data")).is_none());
    assert!(encrypted_kind("multipart", "signed", None).is_none());
    assert!(encrypted_kind("text", "plain", None).is_none());
}

#[test]
fn html_only_mail_is_read_as_text() {
    let r = read(&msg(
        "From: a@example.test\nContent-Type: text/html; charset=utf-8",
        "<html><body><p>Not now &amp; not <b>ever</b></p></body></html>",
    ));
    assert!(r.html_only);
    assert!(r.new_text.contains("Not now & not"), "{:?}", r.new_text);
}

#[test]
fn text_part_wins_over_html() {
    let r = read(&msg(
        "From: a@example.test\nContent-Type: multipart/alternative; boundary=b",
        "--b\nContent-Type: text/plain\n\nplain words\n--b\nContent-Type: text/html\n\n<p>html words</p>\n--b--\n",
    ));
    assert!(!r.html_only);
    assert_eq!(r.new_text, "plain words");
}

#[test]
fn authentication_headers_are_kept_in_order() {
    let r = read(&msg(
        "Authentication-Results: mx.example.test;\n dmarc=pass header.from=example.test\nAuthentication-Results: other; dkim=fail\nX-MS-Exchange-Organization-AuthAs: Internal\nFrom: a@example.test",
        "x",
    ));
    assert_eq!(r.auth_results.len(), 2);
    assert!(r.auth_results[0].contains("dmarc=pass"));
    assert_eq!(r.exchange_auth_as[0].trim(), "Internal");
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    for raw in [
        &b""[..],
        b"\xff\xfe\x00garbage",
        b"From:",
        b"\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
    ] {
        let r = read(raw);
        assert!(r.malformed.is_some(), "{raw:?}");
    }
}
