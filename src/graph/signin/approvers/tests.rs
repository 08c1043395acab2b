//! Unit tests of the approvers' own sign-ins.

use super::*;

#[test]
fn pkce_tokens_and_accounts() {
    let v = new_verifier();
    assert!(v.expose().len() >= 43 && v.expose().len() <= 128);
    assert!(
        v.expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        challenge(&Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "RFC 7636 appendix B"
    );
    assert_ne!(new_link_token().expose(), new_link_token().expose());
    assert_eq!(token_hash("abc").len(), 64);
    assert_eq!(
        account_of(" Alice@Example.TEST "),
        "approver:alice@example.test"
    );
    assert_eq!(address_of("approver:a@x.test"), Some("a@x.test"));
    assert_eq!(address_of("service"), None);
}

#[test]
fn the_signed_in_account_must_be_the_approver_by_ascii_case_folding() {
    let id = Identity {
        username: Some("Alice@Example.test".into()),
        ..Identity::default()
    };
    assert!(is_account_of(&id, "alice@example.test"));
    assert!(!is_account_of(&id, "mallory@example.test"));
    // KELVIN SIGN does not fold into k.
    let k = Identity {
        username: Some("\u{212A}im@example.test".into()),
        ..Identity::default()
    };
    assert!(!is_account_of(&k, "kim@example.test"));
    let by_mail = Identity {
        username: Some("a.b@tenant.onmicrosoft.test".into()),
        email: Some("alice@example.test".into()),
        ..Identity::default()
    };
    assert!(is_account_of(&by_mail, "ALICE@example.test"));
}
