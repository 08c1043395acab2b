//! `reject-bridge check` against the real mail stack and a graph-sim: all lines `ok` when the
//! configuration is right; one clear `FAIL` line per broken connection (wrong IMAP password,
//! untrusted certificate, nothing listening, wrong Graph credentials, missing request), exit 1;
//! a bad config exits 2; no secret ever printed.

mod support;

use std::process::Command;

use support::config::BridgeConfig;
use support::sim::{SECRET, Sim};
use support::stack::{closed_port, stack, unique};

const REQUEST: &str = "6a1b2c3d-0000-4000-8000-00000000c4ec";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn line(&self, name: &str) -> &str {
        let prefix_ok = format!("ok   {name}:");
        let prefix_fail = format!("FAIL {name}:");
        self.stdout
            .lines()
            .find(|l| l.starts_with(&prefix_ok) || l.starts_with(&prefix_fail))
            .unwrap_or_else(|| panic!("no {name} line in:\n{}", self.stdout))
    }

    fn assert_no_secret(&self, secrets: &[&str]) {
        for s in secrets {
            assert!(
                !self.stdout.contains(s) && !self.stderr.contains(s),
                "secret {s:?} printed:\n{}\n{}",
                self.stdout,
                self.stderr
            );
        }
    }
}

/// Runs `check` with a config for a fresh mailbox and `env` overrides.
fn check(sim: &Sim, tag: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
    let s = stack();
    let dir = tempfile::tempdir().unwrap();
    let user = unique(tag);
    let config = dir.path().join("reject-bridge.toml");
    BridgeConfig::new(&s, &user, &sim.url).write(&config);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reject-bridge"));
    cmd.arg("check").arg("--config").arg(&config).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run reject-bridge check");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn everything_right_is_all_ok() {
    let sim = Sim::start(&[]);
    sim.seed(serde_json::json!({"id": REQUEST, "status": "needsApproval"}))
        .await;
    let run = check(&sim, "check-ok", &[], &["--request", REQUEST]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("ok   config"), "{}", run.stdout);
    let imap = run.line("imap");
    assert!(
        imap.starts_with("ok   imap: connected to 127.0.0.1:"),
        "{imap}"
    );
    assert!(imap.contains("(STARTTLS)"), "{imap}");
    assert!(imap.contains("IDLE yes, MOVE yes"), "{imap}");
    // A fresh mailbox has no filing folders yet: check says so and creates nothing.
    assert!(
        imap.contains("Processed, Ignored, Failed would be created"),
        "{imap}"
    );
    let smtp = run.line("smtp");
    assert!(smtp.starts_with("ok   smtp:"), "{smtp}");
    assert!(smtp.contains("MAIL FROM:<check-ok-"), "{smtp}");
    let graph = run.line("graph");
    assert!(graph.starts_with("ok   graph: token for"), "{graph}");
    assert!(graph.contains("status needsApproval"), "{graph}");
    // This tenant (simulated with --decisions any) lets the application decide; check found out
    // with a reject of a request that cannot exist.
    assert!(graph.contains("application decisions accepted"), "{graph}");
    assert!(
        graph.contains("decisions are made as the application client-1"),
        "{graph}"
    );
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
    run.assert_no_secret(&[SECRET]);
    // Nothing was sent and the request is untouched: the only reject is the probe's, a 404.
    let rejects = sim.calls_to("reject").await;
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0]["id"], reject_bridge::graph::PROBE_REQUEST_ID);
    assert_eq!(rejects[0]["status"], 404);
    assert_eq!(sim.request(REQUEST).await["status"], "needsApproval");
}

#[tokio::test]
async fn wrong_imap_password_is_one_clear_line() {
    let sim = Sim::start(&[]);
    let wrong = "Wr0ng-imap-Pa55-9431";
    let run = check(
        &sim,
        "check-pw",
        &[("REJECT_BRIDGE__IMAP__PASSWORD", wrong)],
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let imap = run.line("imap");
    assert!(imap.starts_with("FAIL imap: wrong password"), "{imap}");
    assert!(imap.contains("imap.password"), "{imap}");
    // The other checks are independent of this one.
    assert!(run.line("smtp").starts_with("ok   smtp"), "{}", run.stdout);
    assert!(
        run.line("graph").starts_with("ok   graph"),
        "{}",
        run.stdout
    );
    run.assert_no_secret(&[wrong, SECRET]);
}

#[tokio::test]
async fn untrusted_certificate_says_so() {
    let sim = Sim::start(&[]);
    let run = check(
        &sim,
        "check-ca",
        &[
            ("REJECT_BRIDGE__IMAP__CA_FILE", ""),
            ("REJECT_BRIDGE__SMTP__CA_FILE", ""),
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    for name in ["imap", "smtp"] {
        let line = run.line(name);
        assert!(line.starts_with(&format!("FAIL {name}:")), "{line}");
        assert!(line.contains("certificate not trusted"), "{line}");
        assert!(line.contains("ca_file"), "{line}");
    }
    assert!(
        run.line("graph").starts_with("ok   graph"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn nothing_listening_is_connection_refused() {
    let sim = Sim::start(&[]);
    let closed = closed_port().to_string();
    let run = check(
        &sim,
        "check-port",
        &[
            ("REJECT_BRIDGE__IMAP__PORT", &closed),
            ("REJECT_BRIDGE__SMTP__PORT", &closed),
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    for name in ["imap", "smtp"] {
        let line = run.line(name);
        assert!(
            line.starts_with(&format!(
                "FAIL {name}: connection refused: nothing listens on 127.0.0.1:{closed}"
            )),
            "{line}"
        );
    }
}

#[tokio::test]
async fn wrong_graph_credentials_and_unknown_request() {
    let sim = Sim::start(&[]);
    let wrong = "not-the-Secret-7765";
    let run = check(
        &sim,
        "check-graph",
        &[("REJECT_BRIDGE__GRAPH__CLIENT_SECRET", wrong)],
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let graph = run.line("graph");
    assert!(
        graph.starts_with("FAIL graph: Entra ID refused the credentials"),
        "{graph}"
    );
    assert!(graph.contains("AADSTS7000215"), "{graph}");
    assert!(run.line("imap").starts_with("ok   imap"), "{}", run.stdout);
    run.assert_no_secret(&[wrong, SECRET]);

    let run = check(&sim, "check-404", &[], &["--request", REQUEST]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let graph = run.line("graph");
    assert!(graph.contains("was not found (404)"), "{graph}");
}

#[tokio::test]
async fn missing_permission_is_named() {
    let sim = Sim::start(&[]);
    sim.seed(serde_json::json!({"id": REQUEST, "status": "needsApproval"}))
        .await;
    sim.fault(serde_json::json!({"endpoint": "get", "kind": "status", "status": 403,
        "code": "Forbidden", "message": "Application is not authorized to perform this operation."}))
        .await;
    let run = check(&sim, "check-403", &[], &["--request", REQUEST]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let graph = run.line("graph");
    assert!(graph.contains("missing permission (403"), "{graph}");
}

#[test]
fn bad_config_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[imap]\nport = 993\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("imap.host"), "{stderr}");
    assert!(out.stdout.is_empty(), "no check ran");
}
