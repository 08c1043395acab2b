//! Nothing panics on input: arbitrary bytes, truncated MIME and huge header lines go through the
//! whole read → decide path.

use proptest::prelude::*;
use regex::Regex;
use reject_bridge::config::{
    Allowed, ApproversConfig, AuthMode, DEFAULT_JUSTIFICATION_TEMPLATE, DEFAULT_REQUEST_ID_PATTERN,
};
use reject_bridge::decide::{self, Policy};
use reject_bridge::message;

fn policy() -> Policy {
    Policy {
        approvers: ApproversConfig {
            allowed: vec![Allowed::Domain("example.test".into())],
            require_authentication: true,
            authentication: AuthMode::AuthservId,
            trusted_authserv_id: "mx.example.test".into(),
            require_notification_reference: false,
            greeting_words: vec!["hi".into()],
            approval_words: vec!["approved".into()],
        },
        own_addresses: vec!["bridge@example.test".into()],
        request_id_pattern: Regex::new(DEFAULT_REQUEST_ID_PATTERN).unwrap(),
        justification_template: DEFAULT_JUSTIFICATION_TEMPLATE.into(),
    }
}

fn run(raw: &[u8]) {
    let reply = message::read(raw);
    let d = decide::decide(&reply, None, &policy());
    // An unauthenticated message can never be a reject.
    assert_ne!(d.decision, decide::Verdict::Reject);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn arbitrary_bytes(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        run(&raw);
    }

    #[test]
    fn header_like_text(s in "(From|Subject|Content-Type|Authentication-Results|Auto-Submitted): [ -~\r\n\t]{0,200}(\r\n[ -~]{0,80}){0,5}\r\n\r\n[ -~\r\n>]{0,300}") {
        run(s.as_bytes());
    }
}

#[test]
fn truncated_mime_and_huge_header_line() {
    let truncated = b"From: a@example.test\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+";
    run(truncated);
    let mut huge = b"From: a@example.test\r\nSubject: ".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    huge.extend_from_slice(b"\r\n\r\nbody\r\n");
    let reply = message::read(&huge);
    assert_eq!(
        reply.from.as_ref().map(|f| f.address.as_str()),
        Some("a@example.test")
    );
    run(&huge);
}
