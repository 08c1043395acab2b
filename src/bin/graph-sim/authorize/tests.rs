//! Unit tests of [`crate::authorize`].

use super::*;

#[test]
fn s256_and_loopback_redirects() {
    // RFC 7636 appendix B.
    assert_eq!(
        challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let reg = vec![
        "http://127.0.0.1/callback".to_string(),
        "https://b.test/callback".to_string(),
    ];
    assert!(registered(&reg, "http://127.0.0.1:41000/callback"));
    assert!(registered(&reg, "https://b.test/callback"));
    assert!(!registered(&reg, "https://b.test:8443/callback"));
    assert!(!registered(&reg, "http://127.0.0.1:41000/other"));
    assert!(!registered(&reg, "https://evil.test/callback"));
}
