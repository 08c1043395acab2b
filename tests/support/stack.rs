//! The running mail stack as `scripts/stack-up.sh` describes it in `$RB_STACK_DIR/env` (default
//! `.stack/env`). A missing or stopped stack is a failure with instructions, never a skip.
//! Also fresh addresses ([`unique`]) and a port nothing listens on ([`closed_port`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The stack's folder, ports, CA and special hosts, plus every `KEY=value` of its env file.
#[derive(Clone, Debug)]
pub struct Stack {
    /// The state folder (mailboxes under `mail/<domain>/<user>/Maildir`, logs under `log/`).
    pub dir: PathBuf,
    /// The env file read.
    pub file: PathBuf,
    pub env: HashMap<String, String>,
    /// IMAP, plain + STARTTLS.
    pub imap: u16,
    /// IMAP, implicit TLS.
    pub imaps: u16,
    /// SMTP delivery (plain, no auth), as an MX.
    pub smtp: u16,
    /// Submission (STARTTLS + AUTH).
    pub submission: u16,
    /// SMTP, implicit TLS + AUTH.
    pub smtps: u16,
    pub ca: PathBuf,
    /// The IMAP server's address announcing no MOVE (COPY + STORE + UID EXPUNGE path).
    pub nomove_host: String,
    /// The IMAP server's address announcing neither MOVE nor UIDPLUS.
    pub bare_host: String,
}

impl Stack {
    /// A value of the env file; fails saying to re-run stack-up.sh when it lacks `key`.
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

    /// Stops or starts Dovecot or Postfix alone (`scripts/stack-service.sh DIR WHAT ACTION`).
    pub fn service(&self, what: &str, action: &str) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stack-service.sh");
        let out = Command::new("bash")
            .arg(script)
            .arg(&self.dir)
            .args([what, action])
            .output()
            .expect("run stack-service.sh");
        assert!(
            out.status.success(),
            "stack-service.sh {what} {action}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Reads `$RB_STACK_DIR/env` and checks that every port answers.
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
    let env: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    // stack-up.sh writes the folder's absolute path; fall back to the one we were given.
    let dir = env.get("RB_STACK_DIR").map(PathBuf::from).unwrap_or(dir);
    let mut s = Stack {
        dir,
        file,
        env,
        imap: 0,
        imaps: 0,
        smtp: 0,
        submission: 0,
        smtps: 0,
        ca: PathBuf::new(),
        nomove_host: String::new(),
        bare_host: String::new(),
    };
    s.imap = s.port("RB_IMAP_PORT");
    s.imaps = s.port("RB_IMAPS_PORT");
    s.smtp = s.port("RB_SMTP_PORT");
    s.submission = s.port("RB_SUBMISSION_PORT");
    s.smtps = s.port("RB_SMTPS_PORT");
    s.ca = PathBuf::from(s.get("RB_CA_FILE"));
    s.nomove_host = s.get("RB_IMAP_NOMOVE_HOST");
    s.bare_host = s.get("RB_IMAP_BARE_HOST");
    for p in [s.imap, s.imaps, s.smtp, s.submission, s.smtps] {
        if std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
            panic!(
                "the mail stack is not running (127.0.0.1:{p} refuses connections): run \
                 `scripts/stack-up.sh` (as root) before these tests"
            );
        }
    }
    s
}

/// A fresh address at example.test (every address there has a mailbox): `tag`, the process ID,
/// the clock's nanoseconds within the second and a counter.
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000;
    format!(
        "{tag}-{}-{nanos}-{}@example.test",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A port on which nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
