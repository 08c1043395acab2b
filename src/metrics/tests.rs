//! Unit tests of [`crate::metrics`].

use super::*;

const LIMIT: Duration = Duration::from_secs(600);

#[test]
fn health_needs_a_recent_successful_pass() {
    let (ok, why) = health(None, 1000, LIMIT, None);
    assert!(!ok);
    assert_eq!(why, "no successful pass yet");
    let (ok, why) = health(Some(1000), 1600, LIMIT, None);
    assert!(ok, "{why}");
    assert_eq!(why, "ok: last successful pass 600 s ago (limit 600 s)");
    let (ok, why) = health(Some(1000), 1601, LIMIT, Some("imap: connection\nrefused"));
    assert!(!ok);
    assert_eq!(
        why,
        "stalled: no successful pass for 601 s (limit 600 s); last error: imap: connection refused"
    );
    // A clock that went back is not a stall.
    assert!(health(Some(1000), 900, LIMIT, None).0);
    let long = "x".repeat(1000);
    let (_, why) = health(None, 0, LIMIT, Some(&long));
    assert!(why.len() < 400 && !why.contains('\n'), "{why}");
}

#[test]
fn the_limit_is_twice_the_longest_normal_wait_plus_the_graph_budget() {
    assert_eq!(
        health_max_age(Duration::from_secs(300), Duration::ZERO),
        Duration::from_secs(600)
    );
    assert_eq!(
        health_max_age(Duration::from_secs(3600), Duration::from_secs(600)),
        Duration::from_secs(7800)
    );
}

fn decided(verdict: crate::model::Verdict, reason: &str) -> Decided {
    Decided {
        verdict,
        reason: reason.into(),
        request_id: None,
        approver: None,
        justification: None,
        graph_justification: None,
        truncated: false,
        subject: None,
        references: Vec::new(),
    }
}

#[test]
fn recorded_outcomes_render_with_their_labels() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        describe();
        message_filed(Some(&decided(crate::model::Verdict::Reject, "ok")));
        message_filed(Some(&decided(crate::model::Verdict::Reject, "ok")));
        message_filed(Some(&decided(
            crate::model::Verdict::Ignore,
            "no_request_id",
        )));
        graph_outcome("rejected");
        graph_retry();
        reply_result(&ReplyResult::Sent);
        reply_result(&ReplyResult::Undeliverable { error: "x".into() });
        reply_deferred();
        imap_reconnect(&"journal: test");
        pass_succeeded(2);
    });
    let text = handle.render();
    for line in [
        "reject_bridge_messages_total{decision=\"reject\",reason=\"ok\"} 2",
        "reject_bridge_messages_total{decision=\"ignore\",reason=\"no_request_id\"} 1",
        "reject_bridge_graph_outcomes_total{outcome=\"rejected\"} 1",
        "reject_bridge_graph_retries_total 1",
        "reject_bridge_replies_total{result=\"sent\"} 1",
        "reject_bridge_replies_total{result=\"undeliverable\"} 1",
        "reject_bridge_replies_total{result=\"deferred\"} 1",
        "reject_bridge_imap_reconnects_total 1",
        "reject_bridge_passes_total{result=\"ok\"} 1",
        "reject_bridge_passes_total{result=\"failed\"} 0",
        "reject_bridge_last_pass_unfinished_messages 2",
        "# HELP reject_bridge_graph_retries_total Graph calls retried",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let ts = text
        .lines()
        .find_map(|l| l.strip_prefix("reject_bridge_last_successful_pass_timestamp_seconds "))
        .and_then(|v| v.parse::<f64>().ok())
        .expect("the last-success gauge");
    assert!((ts - unix_now() as f64).abs() < 60.0, "{ts}");
}

async fn get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn the_router_serves_metrics_and_health() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || graph_outcome("not_found"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, router(handle, LIMIT)).into_future());
    let m = get(addr, "/metrics").await;
    assert!(
        m.starts_with("HTTP/1.0 200") || m.starts_with("HTTP/1.1 200"),
        "{m}"
    );
    assert!(
        m.contains("reject_bridge_graph_outcomes_total{outcome=\"not_found\"} 1"),
        "{m}"
    );
    // The health statics are process-wide; other tests may record passes, so only the
    // shape is checked here (the rule itself is tested above).
    let h = get(addr, "/healthz").await;
    assert!(
        h.contains(" 200 ") || h.contains(" 503 "),
        "unexpected status: {h}"
    );
    assert!(
        h.trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.contains("pass")),
        "{h}"
    );
    let missing = get(addr, "/nope").await;
    assert!(missing.contains(" 404 "), "{missing}");
}
