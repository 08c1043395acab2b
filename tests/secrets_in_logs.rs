//! Secrets never reach the log, even at `RUST_LOG=trace` (issue 12): async-imap and lettre log
//! protocol lines with credentials (the IMAP LOGIN command, SMTP AUTH) below INFO, and the HTTP
//! stack may show headers. A whole `run --once` against the stack and the Graph simulator, with
//! a reply sent (IMAP login, SMTP AUTH, a Graph token, a reject), is logged at TRACE; none of
//! the credentials appear in any form.

mod support;

use base64::Engine;
use support::mail::approver_mail;
use support::sim::SECRET;
use support::world::World;

#[tokio::test]
async fn nothing_secret_is_logged_at_trace_level() {
    let w = World::new("trace").await;
    let reply = w.pending_reply("trace-alice", "Not this one.").await;
    w.wait_inbox(1).await;

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["run", "--once", "--config"])
        .arg(&w.config)
        .env("RUST_LOG", "trace")
        .output()
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}", tail(&log));
    assert_eq!(w.calls("reject").await.len(), 1);
    assert_eq!(approver_mail(&w.stack, &reply.approver, 1).await.len(), 1);
    // Trace level is on: our own trace and debug events are there.
    assert!(
        log.contains("DEBUG") || log.contains("TRACE"),
        "{}",
        tail(&log)
    );

    let password = w.stack.get("RB_PASSWORD");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    // The password as a word of its own (quoted, escaped, after LOGIN …), and encoded as SASL
    // PLAIN and LOGIN would send it.
    let word =
        regex::Regex::new(&format!(r"(^|[^A-Za-z0-9_]){password}([^A-Za-z0-9_]|$)")).unwrap();
    assert!(
        !log.lines().any(|l| word.is_match(l)),
        "the password appears in the log at RUST_LOG=trace: {:?}",
        log.lines().find(|l| word.is_match(l))
    );
    let mut needles = vec![
        SECRET.to_string(),
        b64(&password),
        b64(&format!("\0{}\0{password}", w.bridge)),
        b64(&format!("{}\0{}\0{password}", w.bridge, w.bridge)),
    ];
    // Every access token the simulator handed out.
    for call in w.calls("token").await {
        if let Some(t) = call["access_token"].as_str() {
            needles.push(t.to_string());
        }
    }
    for needle in &needles {
        assert!(
            !log.contains(needle.as_str()),
            "{needle:?} appears in the log at RUST_LOG=trace"
        );
    }
    let token_like = regex::Regex::new(r"sim\.[0-9a-f]{32}").unwrap();
    assert!(!token_like.is_match(&log), "a bearer token in the log");
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
