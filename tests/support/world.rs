//! The harness of the end-to-end tests of `reject-bridge run` (tests/e2e.rs). A [`World`] is one
//! test's private universe: its own bridge mailbox address, its own simulator and its own state
//! folder (config file and journal), so tests run in parallel against one shared stack. It
//! delivers messages to the bridge, runs the binary, lists the bridge's folders over IMAP and
//! reads the simulator's call record.

use std::path::PathBuf;
use std::time::Duration;

use reject_bridge::config::ImapConfig;
use reject_bridge::imap::ImapSession;

use super::config::BridgeConfig;
use super::mail::{Found, Msg, deliver_to, imap_config, list, wait_count};
use super::sim::Sim;
use super::stack::{Stack, stack, unique};

/// What [`World::pending_reply`] made.
pub struct PendingReply {
    /// The request's ID.
    pub id: String,
    pub approver: String,
    pub msg: Msg,
}

/// The knobs a test may turn in the bridge's config.
#[derive(Clone, Debug)]
pub struct Knobs {
    /// SMTP port for replies (default: the stack's submission port, STARTTLS + AUTH).
    pub smtp_port: Option<u16>,
    pub retry_max_secs: u64,
    pub max_message_bytes: u64,
    /// IMAP host (default 127.0.0.1; the stack's 127.0.0.2 announces no MOVE).
    pub imap_host: Option<String>,
    /// `approvers.allowed` entries besides `@example.test`.
    pub extra_allowed: Vec<String>,
    /// More `[imap]` lines (`poison_attempts = 2`, …).
    pub imap_extra: Vec<String>,
    /// More `[approvers]` lines (`max_replies_per_hour = 2`, …).
    pub approvers_extra: Vec<String>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            smtp_port: None,
            retry_max_secs: 8,
            max_message_bytes: 2_000_000,
            imap_host: None,
            extra_allowed: Vec::new(),
            imap_extra: Vec::new(),
            approvers_extra: Vec::new(),
        }
    }
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct RunOut {
    pub code: Option<i32>,
    pub stderr: String,
}

/// One test's bridge mailbox, simulator and state folder.
pub struct World {
    pub stack: Stack,
    pub sim: Sim,
    /// The bridge's own address (its IMAP user and `smtp.from`).
    pub bridge: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub state: PathBuf,
}

impl World {
    pub async fn new(tag: &str) -> World {
        Self::with(tag, Knobs::default()).await
    }

    pub async fn with(tag: &str, knobs: Knobs) -> World {
        let stack = stack();
        let sim = Sim::start(&[]);
        let bridge = unique(&format!("bridge-{tag}"));
        let dir = tempfile::tempdir().expect("a temporary folder");
        let config = dir.path().join("bridge.toml");
        let state = dir.path().join("state").join("bridge.db");
        let w = World {
            stack,
            sim,
            bridge,
            dir,
            config,
            state,
        };
        w.write_config(&knobs);
        w
    }

    /// (Re)writes the config file with `knobs`.
    pub fn write_config(&self, knobs: &Knobs) {
        let base = BridgeConfig::new(&self.stack, &self.bridge, &self.sim.url);
        let mut allowed = base.allowed.clone();
        allowed.extend(knobs.extra_allowed.iter().cloned());
        BridgeConfig {
            imap_host: knobs.imap_host.clone().unwrap_or(base.imap_host.clone()),
            smtp_port: knobs.smtp_port.unwrap_or(base.smtp_port),
            from_name: "Intune Approvals".into(),
            retry_max_secs: knobs.retry_max_secs,
            allowed,
            state: "state/bridge.db".into(),
            imap_extra: [
                vec![
                    format!("max_message_bytes = {}", knobs.max_message_bytes),
                    "timeout_secs = 20".into(),
                ],
                knobs.imap_extra.clone(),
            ]
            .concat(),
            smtp_extra: vec!["timeout_secs = 10".into()],
            graph_extra: vec!["timeout_secs = 5".into()],
            approvers_extra: knobs.approvers_extra.clone(),
            ..base
        }
        .write(&self.config);
    }

    /// Hands `raw` (LF or CRLF line ends) to Postfix's delivery port for the bridge mailbox.
    pub async fn deliver(&self, raw: &str) {
        deliver_to(&self.stack, &self.bridge, raw).await;
    }

    /// A request waiting for approval in the simulator, and a new approver's authenticated
    /// reply about it saying `text`, delivered (not yet waited for).
    pub async fn pending_reply(&self, tag: &str, text: &str) -> PendingReply {
        let id = uuid::Uuid::new_v4().to_string();
        self.sim
            .seed(serde_json::json!({"id": id, "status": "needsApproval"}))
            .await;
        let approver = unique(tag);
        let msg = Msg::new(
            &approver,
            &self.bridge,
            &format!("Re: Approval needed ({id})"),
            text,
        );
        self.deliver(&msg.render()).await;
        PendingReply { id, approver, msg }
    }

    /// Runs `reject-bridge run --config … ARGS` and waits for it (at most 120 s).
    pub async fn run(&self, args: &[&str]) -> RunOut {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_reject-bridge"));
        cmd.arg("run").arg("--config").arg(&self.config).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("REJECT_BRIDGE__") {
                cmd.env_remove(k);
            }
        }
        cmd.env("RUST_LOG", "info");
        cmd.kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .expect("reject-bridge run finished within 120 s")
            .expect("reject-bridge starts");
        RunOut {
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn imap_config(&self, user: &str) -> ImapConfig {
        imap_config(&self.stack, user)
    }

    /// The messages in the bridge's `folder` (empty when the folder does not exist).
    pub async fn folder(&self, folder: &str) -> Vec<Found> {
        list(&self.stack, &self.bridge, folder).await
    }

    /// UIDs flagged `\Seen` in the bridge's `folder`.
    pub async fn seen(&self, folder: &str) -> Vec<u32> {
        let mut mb = ImapSession::connect(&self.imap_config(&self.bridge))
            .await
            .expect("IMAP login as the bridge");
        let out = match mb.select(folder).await {
            Ok(_) => mb.search("SEEN").await.expect("SEARCH SEEN"),
            Err(_) => Vec::new(),
        };
        mb.logout().await;
        out
    }

    /// Waits until the bridge's INBOX holds `n` messages (Postfix delivered them).
    pub async fn wait_inbox(&self, n: usize) {
        wait_count(&self.stack, &self.bridge, "INBOX", n).await;
    }

    /// The bridge's maildir on disk (for "no folder was created").
    pub fn maildir(&self) -> PathBuf {
        self.stack.maildir(&self.bridge)
    }

    /// Calls the simulator received at `endpoint` (`token`, `get`, `reject`, …).
    pub async fn calls(&self, endpoint: &str) -> Vec<serde_json::Value> {
        self.sim.calls_to(endpoint).await
    }
}
