//! Unit tests of the key and the sealing of stored sign-ins.

use super::*;

fn state(dir: &Path) -> StateConfig {
    StateConfig {
        retention: None,
        path: dir.join("j.db"),
        key_file: dir.join("sub/k.key"),
        key: None,
    }
}

#[test]
fn keys_parse_from_base64_or_hex_only_at_32_bytes() {
    let b64 = STANDARD.encode([7u8; 32]);
    assert!(Key::parse(&format!(" {b64}\n")).is_some());
    assert!(Key::parse(&"ab".repeat(32)).is_some());
    assert!(Key::parse(&STANDARD.encode([7u8; 31])).is_none());
    assert!(Key::parse("short").is_none());
    assert!(Key::parse("").is_none());
}

#[test]
fn sealed_tokens_open_only_with_the_key_and_row_they_were_sealed_for() {
    let key = Key::generate();
    let token = Secret::new("refresh-token-value");
    let sealed = key.seal("signin:service", &token);
    assert!(
        !sealed
            .windows(b"refresh-token-value".len())
            .any(|w| w == b"refresh-token-value"),
        "no plain text"
    );
    assert_eq!(key.open("signin:service", &sealed).unwrap(), token);
    assert!(matches!(
        key.open("signin:other", &sealed),
        Err(VaultError::Open)
    ));
    assert!(matches!(
        Key::generate().open("signin:service", &sealed),
        Err(VaultError::Open)
    ));
    let mut tampered = sealed.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert!(key.open("signin:service", &tampered).is_err());
    assert!(key.open("signin:service", &sealed[..10]).is_err());
    assert_ne!(
        key.seal("signin:service", &token),
        sealed,
        "a fresh nonce each time"
    );
}

#[test]
fn the_key_file_is_created_once_owner_only_and_then_reused() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    assert!(matches!(Key::load(&st), Err(VaultError::NoKey { .. })));
    let k1 = Key::load_or_create(&st).unwrap();
    let k2 = Key::load(&st).unwrap();
    assert_eq!(k1.0, k2.0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&st.key_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let from_env = StateConfig {
        key: Some(Secret::new("cd".repeat(32))),
        ..st.clone()
    };
    assert_eq!(Key::load(&from_env).unwrap().0, [0xcd; 32]);
    std::fs::write(&st.key_file, "garbage").unwrap();
    let err = Key::load(&st).unwrap_err().to_string();
    assert!(err.contains("not 32 bytes"), "{err}");
}
