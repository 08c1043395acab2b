//! Nothing panics on input: arbitrary bytes, truncated MIME and huge header lines go through the
//! whole read → decide path.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use reject_bridge::config::Config;
use reject_bridge::decide::{self, Policy};
use reject_bridge::read::incoming;

/// The golden tests' policy: authentication required from `mx.example.test`, `@example.test` allowed.
fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config.toml");
        Policy::from_config(&Config::load(&path).expect("the fixtures' config loads"))
    })
}

fn run(raw: &[u8]) {
    let reply = incoming::read(raw);
    let d = decide::decide(&reply, None, policy());
    // An unauthenticated message can never be a reject.
    assert_ne!(d.decision, reject_bridge::model::Verdict::Reject);
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
    let reply = incoming::read(&huge);
    assert_eq!(
        reply.from.as_ref().map(|f| f.address.as_str()),
        Some("a@example.test")
    );
    run(&huge);
}
