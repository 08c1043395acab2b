//! Unit tests of the IMAP session: errors, what they mean for a retry.

use super::*;

#[test]
fn errors_say_whether_to_retry() {
    assert!(
        ImapError::Timeout {
            step: "LOGIN",
            after: Duration::from_secs(3)
        }
        .is_retryable()
    );
    let auth = ImapError::Auth {
        user: "u".into(),
        reason: "no".into(),
    };
    assert!(!auth.is_retryable());
    assert!(auth.to_string().contains("imap.password"));
}
