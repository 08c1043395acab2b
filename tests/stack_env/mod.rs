//! The running mail stack as `scripts/stack-up.sh` describes it in `$RB_STACK_DIR/env` (default
//! `.stack/env`), and a config file for the bridge pointing at it and at a graph-sim. Shared by
//! the `check` and XOAUTH2 tests (`#[path = "stack_env/mod.rs"] mod stack_env;`). A missing or
//! stopped stack is a failure with instructions, never a skip.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub struct Stack {
    pub env: HashMap<String, String>,
    pub file: PathBuf,
}

impl Stack {
    pub fn get(&self, key: &str) -> String {
        self.env.get(key).cloned().unwrap_or_else(|| {
            panic!(
                "{} lacks {key}: re-run scripts/stack-up.sh (this branch's version)",
                self.file.display()
            )
        })
    }

    pub fn port(&self, key: &str) -> u16 {
        self.get(key).parse().expect("a port number")
    }
}

pub fn stack() -> Stack {
    let dir = std::env::var("RB_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".stack"));
    let file = dir.join("env");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "the mail stack is not set up ({}: {e}): run `scripts/stack-install.sh` once and \
             `scripts/stack-up.sh` (as root) before these tests, or set RB_STACK_DIR",
            file.display()
        )
    });
    let env = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let s = Stack { env, file };
    for key in ["RB_IMAP_PORT", "RB_SUBMISSION_PORT"] {
        let p = s.port(key);
        if std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
            panic!(
                "the mail stack is not running (127.0.0.1:{p} refuses connections): run \
                 `scripts/stack-up.sh` (as root) before these tests"
            );
        }
    }
    s
}

/// A fresh address at the test domain: every address there has a mailbox.
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{tag}-{}-{nanos}-{}@example.test",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A bridge config: IMAP STARTTLS and submission with the stack's CA, logging in as `user`,
/// Graph at `sim_url` (tenant, client and secret given). `extra` is appended to the sections by
/// name (`[imap]` lines first, …) as raw TOML lines.
pub struct ConfigSpec<'a> {
    pub user: &'a str,
    pub sim_url: &'a str,
    pub tenant: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub imap_extra: &'a str,
    pub smtp_extra: &'a str,
}

pub fn write_config(s: &Stack, dir: &Path, spec: &ConfigSpec<'_>) -> PathBuf {
    let text = format!(
        r#"[imap]
host = "127.0.0.1"
port = {imap}
tls = "starttls"
ca_file = "{ca}"
username = "{user}"
password = "{password}"
{imap_extra}

[smtp]
host = "127.0.0.1"
port = {submission}
tls = "starttls"
ca_file = "{ca}"
username = "{user}"
password = "{password}"
from = "Approvals <{user}>"
{smtp_extra}

[graph]
base_url = "{sim}/beta"
authority = "{sim}"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret = "{secret}"
retry_max_secs = 2

[approvers]
allowed = ["@example.test"]
trusted_authserv_id = "mx.example.test"

[state]
path = "state.db"
"#,
        imap = s.port("RB_IMAP_PORT"),
        submission = s.port("RB_SUBMISSION_PORT"),
        ca = s.get("RB_CA_FILE"),
        password = s.get("RB_PASSWORD"),
        user = spec.user,
        sim = spec.sim_url,
        tenant = spec.tenant,
        client = spec.client_id,
        secret = spec.client_secret,
        imap_extra = spec.imap_extra,
        smtp_extra = spec.smtp_extra,
    );
    let path = dir.join("reject-bridge.toml");
    std::fs::write(&path, text).unwrap();
    path
}
