//! The `[metrics] listen` endpoint of the running daemon: `/metrics` counts what the bridge did
//! and `/healthz` follows the last successful pass, read over HTTP while `reject-bridge run`
//! works against the real mail stack and a `graph-sim` (tests/support's `World`); and the re-run
//! procedure of docs/operations.md (a message moved back from Failed goes through again).
//!
//! Needs the stack: `scripts/stack-up.sh` (as root) and `RB_STACK_DIR` pointing at its folder
//! (default `.stack/`); without it every test fails saying so.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use support::http::get;
use support::mail::{Msg, approver_mail};
use support::sim::SECRET;
use support::stack::{closed_port, unique};
use support::world::World;

/// The value of the sample `series` (name with labels, exactly as rendered) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Adds `[metrics] listen` on `port` to the world's config.
fn listen_on(w: &World, port: u16) {
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str(&format!("\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&w.config, text).unwrap();
}

/// The daemon, its stderr going to a file in the world's folder.
fn daemon(w: &World) -> (tokio::process::Child, std::path::PathBuf) {
    let log = w.dir.path().join("daemon.log");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_reject-bridge"));
    cmd.arg("run").arg("--config").arg(&w.config);
    for (k, _) in std::env::vars() {
        if k.starts_with("REJECT_BRIDGE__") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true);
    (cmd.spawn().expect("reject-bridge starts"), log)
}

/// Polls `/metrics` until `ready` holds for its text (at most `secs`).
async fn wait_metrics(
    port: u16,
    secs: u64,
    log: &std::path::Path,
    ready: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some((200, text)) = get(port, "/metrics").await
            && ready(&text)
        {
            return text;
        }
        if Instant::now() > deadline {
            let last = get(port, "/metrics").await;
            panic!(
                "/metrics did not reach the expected state in {secs} s; last answer: {last:?}\ndaemon log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_daemon_counts_a_rejection_and_reports_healthy() {
    let w = World::new("metrics").await;
    let port = closed_port();
    listen_on(&w, port);
    let id = uuid::Uuid::new_v4().to_string();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let approver = unique("alice-metrics");
    let msg = Msg::new(
        &approver,
        &w.bridge,
        &format!("RE: Approval needed ({id})"),
        "Not this one.",
    );
    w.deliver(&msg.render()).await;
    w.wait_inbox(1).await;

    let (mut child, log) = daemon(&w);
    let text = wait_metrics(port, 60, &log, |t| {
        sample(
            t,
            r#"reject_bridge_messages_total{decision="reject",reason="ok"}"#,
        ) == Some(1.0)
    })
    .await;
    assert_eq!(
        sample(
            &text,
            r#"reject_bridge_graph_outcomes_total{outcome="rejected"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"reject_bridge_replies_total{result="sent"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "reject_bridge_imap_reconnects_total"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "reject_bridge_graph_retries_total"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"reject_bridge_passes_total{result="failed"}"#),
        Some(0.0),
        "{text}"
    );

    // The pass that filed the message is over once its counters moved: it must show.
    let text = wait_metrics(port, 20, &log, |t| {
        sample(t, r#"reject_bridge_passes_total{result="ok"}"#).is_some_and(|n| n >= 1.0)
    })
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let last = sample(
        &text,
        "reject_bridge_last_successful_pass_timestamp_seconds",
    )
    .expect("the last-success gauge");
    assert!((now - last).abs() < 120.0, "last success {last}, now {now}");
    assert_eq!(
        sample(&text, "reject_bridge_last_pass_unfinished_messages"),
        Some(0.0),
        "{text}"
    );

    let (status, body) = get(port, "/healthz").await.expect("/healthz answers");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("ok: last successful pass"), "{body}");
    assert_eq!(body.lines().count(), 1, "{body:?}");
    assert_eq!(w.sim.request(&id).await["status"], "rejected");

    // SIGTERM: a clean stop.
    let pid = child.id().expect("a running daemon").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the daemon stops within 20 s of SIGTERM")
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

#[tokio::test]
async fn an_unreachable_mailbox_is_unhealthy_and_counts_reconnects() {
    let w = World::new("metrics-down").await;
    let text = std::fs::read_to_string(&w.config).unwrap();
    let imap_port = format!("port = {}\n", w.stack.imap);
    assert!(text.contains(&imap_port), "{text}");
    std::fs::write(
        &w.config,
        text.replacen(&imap_port, &format!("port = {}\n", closed_port()), 1),
    )
    .unwrap();
    let port = closed_port();
    listen_on(&w, port);

    let (_child, log) = daemon(&w);
    let text = wait_metrics(port, 30, &log, |t| {
        sample(t, "reject_bridge_imap_reconnects_total").is_some_and(|n| n >= 1.0)
    })
    .await;
    assert_eq!(
        sample(
            &text,
            "reject_bridge_last_successful_pass_timestamp_seconds"
        ),
        Some(0.0),
        "{text}"
    );
    let (status, body) = get(port, "/healthz").await.expect("/healthz answers");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.starts_with("no successful pass yet; last error: "),
        "{body}"
    );
    assert_eq!(body.lines().count(), 1, "{body:?}");
    assert!(!body.contains(SECRET), "{body}");
}

#[tokio::test]
async fn a_port_in_use_stops_the_run_with_the_key_named() {
    let w = World::new("metrics-busy").await;
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listen_on(&w, busy.local_addr().unwrap().port());
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("metrics.listen: cannot listen on 127.0.0.1:"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_message_moved_back_from_failed_goes_through_again() {
    let w = World::new("metrics-rerun").await;
    let id = uuid::Uuid::new_v4().to_string();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    w.sim
        .fault(
            json!({"endpoint": "reject", "id": id, "kind": "status", "status": 403,
                      "code": "Forbidden", "message": "Not allowed"}),
        )
        .await;
    let approver = unique("alice-rerun");
    let msg = Msg::new(
        &approver,
        &w.bridge,
        &format!("RE: Approval needed ({id})"),
        "Not this one.",
    );
    w.deliver(&msg.render()).await;
    w.wait_inbox(1).await;
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let failed = w.folder("Failed").await;
    assert_eq!(failed.len(), 1, "{}", out.stderr);
    assert_eq!(w.sim.request(&id).await["status"], "needsApproval");

    // The operator fixes the cause and moves the message back into the inbox.
    let mut mb = reject_bridge::imap::ImapSession::connect(&w.imap_config(&w.bridge))
        .await
        .unwrap();
    mb.select("Failed").await.unwrap();
    mb.move_to(failed[0].uid, "INBOX").await.unwrap();
    mb.logout().await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        w.sim.request(&id).await["status"],
        "rejected",
        "{}",
        out.stderr
    );
    assert!(w.folder("INBOX").await.is_empty());
    assert!(w.folder("Failed").await.is_empty());
    assert_eq!(w.folder("Processed").await.len(), 1);
    // One reply per run: the failure, then the rejection.
    let mail = approver_mail(&w.stack, &approver, 2).await;
    assert_eq!(mail.len(), 2, "{mail:#?}");
}
