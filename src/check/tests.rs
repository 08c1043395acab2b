//! Unit tests of `check`: the line format, network errors and Graph errors in words.

use super::graph::graph_words;
use super::imap::server_text;
use super::*;
use crate::graph::GraphError;

#[test]
fn lines_start_with_ok_or_fail() {
    assert_eq!(ok("imap", "fine".into()).to_string(), "ok   imap: fine");
    assert_eq!(fail("smtp", "bad".into()).to_string(), "FAIL smtp: bad");
}

#[test]
fn network_causes_in_words() {
    let c = |t: &str| network_cause(t, "mail.example", 993).unwrap_or_default();
    assert!(c("Connection refused (os error 111)").starts_with("connection refused"));
    assert!(c("No route to host (os error 113)").starts_with("host unreachable"));
    assert!(c("Network is unreachable (os error 101)").starts_with("host unreachable"));
    assert!(
        c("failed to lookup address information: Name or service not known")
            .starts_with("DNS failure")
    );
    assert!(c("operation timed out").starts_with("timeout"));
    assert_eq!(network_cause("500 oops", "h", 1), None);
}

#[test]
fn server_words_are_unwrapped() {
    assert_eq!(
        server_text(r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#),
        "[AUTHENTICATIONFAILED] Authentication failed."
    );
    assert_eq!(server_text("plain"), "plain");
}

#[test]
fn forbidden_is_a_missing_permission() {
    let e = GraphError::Api {
        status: 403,
        code: "Forbidden".into(),
        message: "Application is not authorized".into(),
        request_id: None,
        retry_after: None,
        retryable: false,
    };
    let text = graph_words(&e, &("graph.microsoft.com".into(), 443));
    assert!(text.starts_with("missing permission (403"), "{text}");
}
