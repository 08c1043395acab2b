//! The bridge's answers, bounded and never lost (issue 12), with the real binary and the stack:
//! at most `approvers.max_replies_per_hour` answers per sender, then silence (the messages are
//! still decided and filed) and one log line; a refused SMTP login (535) keeps the message and
//! its answer for later and `/healthz` says why; every answer carries
//! `X-Auto-Response-Suppress: All`.

mod support;

use support::mail::{Msg, approver_mail};
use support::process::{poll, spawn_bridge};
use support::stack::{closed_port, unique};
use support::world::{Knobs, World};

#[tokio::test]
async fn answers_per_sender_are_capped_then_silent() {
    let knobs = Knobs {
        approvers_extra: vec!["max_replies_per_hour = 2".into()],
        ..Knobs::default()
    };
    let w = World::with("capped", knobs).await;
    let id = uuid::Uuid::new_v4().to_string();
    let approver = unique("capped-alice");
    let msgs: Vec<Msg> = (0..4)
        .map(|_| {
            Msg::new(
                &approver,
                &w.bridge,
                &format!("Re: Approval needed ({id})"),
                "Approved.",
            )
        })
        .collect();
    for m in &msgs {
        w.deliver(&m.render()).await;
    }
    w.wait_inbox(4).await;

    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mail = approver_mail(&w.stack, &approver, 2).await;
    assert_eq!(mail.len(), 2, "two answers, then silence");
    for m in &mail {
        assert_eq!(m.header("X-Auto-Response-Suppress").as_deref(), Some("All"));
    }
    assert_eq!(
        w.folder("Processed").await.len(),
        4,
        "all four decided and filed"
    );
    assert_eq!(
        out.stderr.matches("further answers are withheld").count(),
        1,
        "said once: {}",
        out.stderr
    );
    assert!(w.calls("reject").await.is_empty(), "approvals are refused");
}

#[tokio::test]
async fn a_refused_smtp_login_keeps_the_answer_and_health_says_why() {
    let w = World::new("smtp535").await;
    let reply = w.pending_reply("smtp535-alice", "Not this one.").await;
    w.wait_inbox(1).await;

    // The daemon with a wrong SMTP password and the health endpoint on.
    let port = closed_port();
    let good = std::fs::read_to_string(&w.config).unwrap();
    let bad = good
        .replacen(
            "password = \"secret\"\nfrom",
            "password = \"not-the-password\"\nfrom",
            1,
        )
        .replace(
            "[state]",
            &format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n\n[state]"),
        );
    assert_ne!(good, bad, "the SMTP password is in the config");
    std::fs::write(&w.config, &bad).unwrap();
    let mut daemon = spawn_bridge(&["run"], &w.config, &w.dir.path().join("daemon.log"));
    let health = poll(60, || async {
        match support::http::get(port, "/healthz").await {
            Some((503, body)) if body.contains("refuses the bridge's account") => Some(body),
            _ => None,
        }
    })
    .await
    .unwrap_or_else(|| panic!("/healthz never said why"));
    assert!(health.contains("535"), "{health}");
    assert!(!health.contains("not-the-password"), "{health}");
    daemon.kill().unwrap();
    daemon.wait().unwrap();

    // Rejected once, unanswered and unfiled: nothing lost.
    assert_eq!(w.calls("reject").await.len(), 1);
    assert_eq!(w.folder("INBOX").await.len(), 1);
    assert!(approver_mail(&w.stack, &reply.approver, 0).await.is_empty());

    // With the password fixed, the answer goes out and the message is filed; no second POST.
    std::fs::write(&w.config, &good).unwrap();
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(approver_mail(&w.stack, &reply.approver, 1).await.len(), 1);
    assert!(w.folder("INBOX").await.is_empty());
    assert_eq!(w.calls("reject").await.len(), 1);
    assert_eq!(w.sim.request(&reply.id).await["status"], "rejected");
}
