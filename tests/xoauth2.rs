//! XOAUTH2 end to end against the real stack: Dovecot checks bearer tokens through graph-sim's
//! introspection endpoint (`scripts/stack-up.sh` configures an oauth2 passdb pointing at
//! `RB_OAUTH2_INTROSPECTION_URL`), and Postfix submission authenticates through Dovecot, so both
//! IMAP and SMTP see exactly what Exchange Online would: `user=…\x01auth=Bearer …\x01\x01`.
//!
//! The simulator must listen on that fixed address, so everything runs in one test: login and
//! send with tokens from the Graph app's credentials, a revoked token replaced once, a mailbox
//! the app was not granted refused, `check` in XOAUTH2 mode, and a whole `run --once`.

#[path = "stack_env/mod.rs"]
mod stack_env;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lettre::AsyncTransport;
use reject_bridge::config::Config;
use reject_bridge::graph::GraphClient;
use reject_bridge::mailauth::{connect_mailbox, make_sender};
use reject_bridge::mailbox::{ImapError, Mailbox};
use serde_json::{Value, json};
use stack_env::{ConfigSpec, Stack, stack, unique, write_config};

const TENANT: &str = "xo-tenant";
const CLIENT: &str = "xo-client";
const SECRET: &str = "xo-secret-never-printed";
const REQUEST: &str = "0a0b0c0d-1111-4222-8333-0000000a0a17";

struct SimProcess {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SimProcess {
    /// graph-sim on the address Dovecot introspects, granting the app `mailbox`.
    fn start(s: &Stack, mailbox: &str) -> SimProcess {
        let introspect = s.get("RB_OAUTH2_INTROSPECTION_URL");
        let url = reqwest::Url::parse(&introspect).unwrap_or_else(|e| {
            panic!("RB_OAUTH2_INTROSPECTION_URL={introspect:?} in the stack env: {e}; start the stack with OAuth2 on")
        });
        let listen = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let mut child = Command::new(env!("CARGO_BIN_EXE_graph-sim"))
            .args([
                "--listen",
                &listen,
                "--tenant",
                TENANT,
                "--client-id",
                CLIENT,
            ])
            .args(["--client-secret", SECRET, "--mailbox-user", mailbox])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start graph-sim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "graph-sim could not listen on {listen} (another test run using it?): {line:?}"
                )
            })
            .to_string();
        let _ = rustls::crypto::ring::default_provider().install_default();
        SimProcess {
            child,
            url,
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    async fn calls(&self, endpoint: &str) -> Vec<Value> {
        let all: Vec<Value> = self
            .http
            .get(format!("{}/_sim/calls", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.into_iter()
            .filter(|c| c["endpoint"] == endpoint)
            .collect()
    }
}

fn config_for(s: &Stack, dir: &std::path::Path, user: &str, sim: &SimProcess) -> Config {
    let path = write_config(
        s,
        dir,
        &ConfigSpec {
            user,
            sim_url: &sim.url,
            tenant: TENANT,
            client_id: CLIENT,
            client_secret: SECRET,
            imap_extra: "auth = \"xoauth2\"",
            smtp_extra: "auth = \"xoauth2\"",
        },
    );
    Config::load(&path).unwrap_or_else(|e| panic!("config: {:?}", e.0))
}

async fn deliver(s: &Stack, to: &str, raw: &[u8]) {
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(s.port("RB_SMTP_PORT"))
            .build();
    let envelope = lettre::address::Envelope::new(
        Some("alice@example.test".parse().unwrap()),
        vec![to.parse().unwrap()],
    )
    .unwrap();
    transport.send_raw(&envelope, raw).await.unwrap();
}

/// Waits until `user`'s INBOX (password login) holds a message containing `needle`.
async fn wait_for_mail(s: &Stack, user: &str, needle: &str) -> String {
    let mut cfg = Config::load(&write_probe(s, user)).unwrap().imap;
    cfg.timeout = Duration::from_secs(10);
    for _ in 0..100 {
        let mut mb = Mailbox::connect(&cfg).await.unwrap();
        mb.select("INBOX").await.unwrap();
        for uid in mb.uids().await.unwrap() {
            if let Some(f) = mb.fetch(uid, 1_000_000).await.unwrap() {
                let text = String::from_utf8_lossy(&f.raw).into_owned();
                if text.contains(needle) {
                    mb.logout().await;
                    return text;
                }
            }
        }
        mb.logout().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no message with {needle:?} reached {user}");
}

/// A password config for reading `user`'s mailbox.
fn write_probe(s: &Stack, user: &str) -> std::path::PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    write_config(
        s,
        &dir,
        &ConfigSpec {
            user,
            sim_url: "http://127.0.0.1:9",
            tenant: "t",
            client_id: "c",
            client_secret: "s",
            imap_extra: "",
            smtp_extra: "",
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_login_send_refresh_check_and_run() {
    let s = stack();
    let bridge = unique("bridge-xoauth2");
    let approver = unique("alice-xoauth2");
    let sim = SimProcess::start(&s, &bridge);
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&s, dir.path(), &bridge, &sim);
    let graph = GraphClient::new(&config.graph).unwrap();

    // 1. IMAP login with a token for imap.oauth_scope.
    let mut mb = connect_mailbox(&config, &graph)
        .await
        .expect("XOAUTH2 IMAP login");
    assert!(mb.examine("INBOX").await.unwrap().is_some());
    mb.logout().await;
    let tokens = sim.calls("token").await;
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
    assert_eq!(sim.calls("token").await.len(), 1);

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
    assert_eq!(sim.calls("token").await.len(), 2, "exactly one fresh token");

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
    sim.post(
        "/_sim/requests",
        json!({"id": REQUEST, "status": "needsApproval"}),
    )
    .await;
    let reply = format!(
        "Authentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n\
         From: Alice <{approver}>\r\nTo: <{bridge}>\r\nSubject: Re: Approval needed ({REQUEST})\r\n\
         Message-ID: <xoauth2-reply-{}@example.test>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n\
         Not approved: nobody asked for this.\r\n",
        std::process::id()
    );
    deliver(&s, &bridge, reply.as_bytes()).await;
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
    assert_eq!(sim.calls("reject").await.len(), 1, "{stderr}");
    let confirmation = wait_for_mail(&s, &approver, REQUEST).await;
    assert!(
        confirmation.contains(&format!("From: Approvals <{bridge}>")),
        "{confirmation}"
    );
}
