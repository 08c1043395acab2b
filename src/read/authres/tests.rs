//! Tests of the Authentication-Results parser and of rule 4 in both authentication modes.

use super::*;

#[test]
fn parses_a_typical_header() {
    let ar = parse(
        "mx.example.test 1;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.test header.i=@example.test header.b=\"abc\";\r\n dmarc=pass (p=none dis=none) header.from=example.test",
    )
    .unwrap();
    assert_eq!(ar.authserv_id.as_deref(), Some("mx.example.test"));
    assert_eq!(ar.results.len(), 2);
    assert_eq!(ar.results[0].method, "dkim");
    assert_eq!(ar.results[0].prop("header.d"), Some("example.test"));
    assert_eq!(ar.results[0].prop("header.b"), Some("abc"));
    assert_eq!(ar.results[1].method, "dmarc");
    assert_eq!(ar.results[1].result, "pass");
}

#[test]
fn comments_never_hold_results() {
    let ar = parse("mx.example.test; dmarc=fail (dmarc=pass header.from=example.test) header.from=example.test").unwrap();
    assert_eq!(ar.results.len(), 1);
    assert_eq!(ar.results[0].result, "fail");
    let ar = parse("mx.example.test; none (dmarc=pass)").unwrap();
    assert!(ar.results.is_empty());
}

#[test]
fn quoted_authserv_id_and_method_version() {
    let ar = parse("\"mx.example.test\"; dkim/1=pass header.d=example.test").unwrap();
    assert_eq!(ar.authserv_id.as_deref(), Some("mx.example.test"));
    assert_eq!(ar.results[0].method, "dkim");
}

#[test]
fn exchange_online_shape_has_no_authserv_id() {
    let ar = parse("spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=contoso.com; dkim=pass (signature was verified) header.d=contoso.com;dmarc=pass action=none header.from=contoso.com;compauth=pass reason=100").unwrap();
    assert_eq!(ar.authserv_id, None);
    assert_eq!(ar.results.len(), 4);
    assert_eq!(ar.results[2].prop("header.from"), Some("contoso.com"));
    assert_eq!(ar.results[3].prop("reason"), Some("100"));
}

#[test]
fn garbage_does_not_panic() {
    for s in [
        "",
        ";",
        "=",
        "((((",
        "\"",
        "a=",
        "=b;c",
        "x (y",
        "a; b=c d=",
        "\\",
    ] {
        let _ = parse(s);
    }
}

fn ev(headers: &[&'static str]) -> AuthEvidence<'static> {
    AuthEvidence {
        results_headers: headers.to_vec(),
        exchange_auth_as: vec![],
    }
}

#[test]
fn only_the_topmost_trusted_header_counts() {
    let e = ev(&[
        "other.test; dmarc=pass header.from=example.test",
        "mx.example.test; dmarc=fail header.from=example.test",
        "mx.example.test; dmarc=pass header.from=example.test",
    ]);
    assert!(!authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
    let e = ev(&["MX.Example.Test 1; dkim=pass header.d=Example.test"]);
    assert!(authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
}

#[test]
fn dkim_must_align_with_from() {
    let e = ev(&["mx.example.test; dkim=pass header.d=evil.test"]);
    assert!(!authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
    let e = ev(&["mx.example.test; dmarc=pass header.from=evil.test"]);
    assert!(!authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
}

#[test]
fn exchange_online_mode() {
    let mut e = ev(&[]);
    e.exchange_auth_as = vec![" Internal "];
    assert!(authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    // Not trusted in authserv-id mode.
    assert!(!authenticated(&e, "contoso.com", AuthMode::AuthservId, "mx.contoso.com").0);
    // compauth=pass counts when that header's dmarc result, if any, passed for the From domain.
    let e = ev(&["spf=fail smtp.mailfrom=x.test; compauth=pass reason=100"]);
    assert!(authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    // dmarc=none is a dmarc result, and not a pass: compauth does not overrule it.
    let e = ev(&[
        "spf=pass smtp.mailfrom=contoso.com; dkim=pass header.d=contoso.com; dmarc=none action=none header.from=contoso.com;compauth=pass reason=109",
    ]);
    assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    let e = ev(&[
        "spf=fail smtp.mailfrom=x.test; dmarc=fail header.from=contoso.com; compauth=pass reason=100",
    ]);
    assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    let e = ev(&["dmarc=pass header.from=evil.test; compauth=pass"]);
    assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    let e = ev(&["dmarc=pass action=none header.from=Contoso.COM"]);
    assert!(authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    // dmarc=pass that names no domain authenticates none.
    let e = ev(&["dmarc=pass action=none"]);
    assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
}

#[test]
fn exchange_online_trusts_only_its_own_stamp() {
    // Several AuthAs headers: Exchange writes one; the others came with the message.
    let mut e = ev(&["dmarc=pass header.from=contoso.com"]);
    e.exchange_auth_as = vec!["Internal", "Internal"];
    let (ok, why) = authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "");
    assert!(!ok && why.contains("2 X-MS-Exchange"), "{why}");
    e.exchange_auth_as = vec!["Anonymous", "Internal"];
    assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    // A topmost results header with an authserv-id was not written by Exchange.
    let e = ev(&["mx.evil.test; dmarc=pass header.from=contoso.com"]);
    assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    // One AuthAs that is not Internal: the results header decides.
    let mut e = ev(&["dmarc=pass header.from=contoso.com"]);
    e.exchange_auth_as = vec!["Anonymous"];
    assert!(authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
}

#[test]
fn dmarc_without_header_from_authenticates_nobody() {
    let e = ev(&["mx.example.test; dmarc=pass"]);
    assert!(!authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
    let e = ev(&["mx.example.test; dmarc=pass header.from=EXAMPLE.test"]);
    assert!(authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
    // ASCII case folding only: KELVIN SIGN is not `k`.
    let e = ev(&["mx.example.test; dmarc=pass header.from=\u{212A}ontoso.test"]);
    assert!(!authenticated(&e, "kontoso.test", AuthMode::AuthservId, "mx.example.test").0);
}
