//! XOAUTH2 end to end against the real stack: Dovecot checks bearer tokens through graph-sim's
//! introspection endpoint (`scripts/stack-up.sh` configures an oauth2 passdb pointing at
//! `RB_OAUTH2_INTROSPECTION_URL`), and Postfix submission authenticates through Dovecot, so both
//! IMAP and SMTP see exactly what Exchange Online would: `user=…\x01auth=Bearer …\x01\x01`.
//!
//! The simulator must listen on that fixed address, so everything runs in one test: login and
//! send with tokens from the Graph app's credentials, a revoked token replaced once, a mailbox
//! the app was not granted refused, `check` in XOAUTH2 mode, and a whole `run --once`.

mod support;

use std::process::Command;
use std::time::Duration;

use reject_bridge::config::Config;
use reject_bridge::graph::GraphClient;
use reject_bridge::imap::ImapError;
use reject_bridge::mailauth::{connect_mailbox, make_sender};
use serde_json::json;
use support::config::BridgeConfig;
use support::mail::{AUTH_OK, deliver, list};
use support::sim::Sim;
use support::stack::{Stack, stack, unique};

const TENANT: &str = "xo-tenant";
const CLIENT: &str = "xo-client";
const SECRET: &str = "xo-secret-never-printed";
const REQUEST: &str = "0a0b0c0d-1111-4222-8333-0000000a0a17";

/// graph-sim on the address Dovecot introspects, granting the app `mailbox`.
fn start_sim(s: &Stack, mailbox: &str) -> Sim {
    let introspect = s.get("RB_OAUTH2_INTROSPECTION_URL");
    let url = reqwest::Url::parse(&introspect).unwrap_or_else(|e| {
        panic!("RB_OAUTH2_INTROSPECTION_URL={introspect:?} in the stack env: {e}; start the stack with OAuth2 on")
    });
    let listen = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    Sim::spawn(&[
        "--listen",
        &listen,
        "--tenant",
        TENANT,
        "--client-id",
        CLIENT,
        "--client-secret",
        SECRET,
        "--mailbox-user",
        mailbox,
        // The mailbox side is what this test is about; decisions by the app are allowed here.
        "--decisions",
        "any",
    ])
}

fn config_for(s: &Stack, dir: &std::path::Path, user: &str, sim: &Sim) -> Config {
    let path = dir.join("reject-bridge.toml");
    BridgeConfig {
        tenant: TENANT.into(),
        client_id: CLIENT.into(),
        client_secret: SECRET.into(),
        imap_extra: vec!["auth = \"xoauth2\"".into()],
        smtp_extra: vec!["auth = \"xoauth2\"".into()],
        ..BridgeConfig::new(s, user, &sim.url)
    }
    .write(&path);
    Config::load(&path).unwrap_or_else(|e| panic!("config: {:?}", e.0))
}

/// Waits until `user`'s INBOX (password login) holds a message containing `needle`.
async fn wait_for_mail(s: &Stack, user: &str, needle: &str) -> String {
    for _ in 0..100 {
        if let Some(f) = list(s, user, "INBOX")
            .await
            .into_iter()
            .find(|f| f.text().contains(needle))
        {
            return f.text();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no message with {needle:?} reached {user}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_login_send_refresh_check_and_run() {
    let s = stack();
    let bridge = unique("bridge-xoauth2");
    let approver = unique("alice-xoauth2");
    let sim = start_sim(&s, &bridge);
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&s, dir.path(), &bridge, &sim);
    let graph = GraphClient::new(&config.graph).unwrap();

    // 1. IMAP login with a token for imap.oauth_scope.
    let mut mb = connect_mailbox(&config, &graph)
        .await
        .expect("XOAUTH2 IMAP login");
    assert!(mb.examine("INBOX").await.unwrap().is_some());
    mb.logout().await;
    let tokens = sim.calls_to("token").await;
    assert_eq!(tokens.len(), 1, "one token, cached for the next logins");
    assert_eq!(
        tokens[0]["body"]["scope"], "https://outlook.office365.com/.default",
        "{:?}",
        tokens[0]
    );

    // 2. SMTP send with XOAUTH2 through submission (same scope: the cached token).
    let sender = make_sender(&config, &graph).unwrap();
    let msg = lettre::Message::builder()
        .from(bridge.parse().unwrap())
        .to(approver.parse().unwrap())
        .subject("xoauth2 send 1")
        .body(String::from("sent with a bearer token"))
        .unwrap();
    sender.send(&msg).await.expect("XOAUTH2 SMTP send");
    wait_for_mail(&s, &approver, "xoauth2 send 1").await;
    assert_eq!(sim.calls_to("token").await.len(), 1);

    // 3. Every token revoked: the next login and the next send are refused once, then succeed
    //    with a fresh token (one new token, shared by IMAP and SMTP).
    sim.post("/_sim/tokens/expire", json!({})).await;
    let mb = connect_mailbox(&config, &graph)
        .await
        .expect("login after revocation");
    mb.logout().await;
    let msg2 = lettre::Message::builder()
        .from(bridge.parse().unwrap())
        .to(approver.parse().unwrap())
        .subject("xoauth2 send 2")
        .body(String::from("after a refresh"))
        .unwrap();
    sender.send(&msg2).await.expect("send after revocation");
    wait_for_mail(&s, &approver, "xoauth2 send 2").await;
    assert_eq!(
        sim.calls_to("token").await.len(),
        2,
        "exactly one fresh token"
    );

    // 4. A mailbox the app was not granted is refused, as Exchange refuses it.
    let other = unique("not-granted");
    let mut other_cfg = config.clone();
    other_cfg.imap.username = other.clone();
    match connect_mailbox(&other_cfg, &graph).await {
        Err(ImapError::Auth { user, .. }) => assert_eq!(user, other),
        other => panic!("expected an auth refusal, got {other:?}"),
    }

    // 5. check in XOAUTH2 mode.
    let path = dir.path().join("reject-bridge.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("logged in as {bridge} (XOAUTH2)")),
        "{stdout}"
    );
    assert_eq!(stdout.matches("(XOAUTH2)").count(), 2, "{stdout}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    assert!(
        !stdout.contains("sim.") && !stderr.contains("Bearer sim."),
        "no token printed"
    );

    // 6. The whole service with XOAUTH2 on both sides: a reply rejects the request and the
    //    confirmation goes out through SMTP XOAUTH2.
    sim.seed(json!({"id": REQUEST, "status": "needsApproval"}))
        .await;
    let reply = format!(
        "{AUTH_OK}\r\n\
         From: Alice <{approver}>\r\nTo: <{bridge}>\r\nSubject: Re: Approval needed ({REQUEST})\r\n\
         Message-ID: <xoauth2-reply-{}@example.test>\r\nDate: {}\r\n\r\n\
         Not approved: nobody asked for this.\r\n",
        std::process::id(),
        support::mail::date_now()
    );
    deliver(&s, "alice@example.test", &bridge, reply.as_bytes()).await;
    // Wait for delivery into the bridge's mailbox.
    let mut mb = connect_mailbox(&config, &graph).await.unwrap();
    for _ in 0..100 {
        if mb.examine("INBOX").await.unwrap() == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    mb.logout().await;
    let out = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["run", "--once", "--config"])
        .arg(&path)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains(SECRET) && !stderr.contains("Bearer sim."),
        "{stderr}"
    );
    let rejects: Vec<_> = sim
        .calls_to("reject")
        .await
        .into_iter()
        .filter(|c| c["id"] == REQUEST)
        .collect();
    assert_eq!(rejects.len(), 1, "{stderr}");
    let confirmation = wait_for_mail(&s, &approver, REQUEST).await;
    assert!(
        confirmation.contains(&format!("From: Approvals <{bridge}>")),
        "{confirmation}"
    );
}
