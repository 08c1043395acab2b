//! Golden tests: every `tests/fixtures/*.eml` and every realistic approver reply in
//! `tests/fixtures/replies/*.eml` (many clients and languages, written by
//! `tests/fixtures/replies/make_fixtures.py`) and every small hostile shape in
//! `tests/fixtures/hostile/` goes through `reject-bridge parse --json` (the real
//! binary) and must match the fields of the `.json` beside it. A `"config"` key in the JSON picks
//! another config file from `tests/fixtures` (default `config.toml`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn parse_json(config: &Path, eml: &Path) -> serde_json::Value {
    parse_json_at(config, eml, None)
}

/// `parse --json`, with `--at TIME` when `at` is given (rule 3a).
fn parse_json_at(config: &Path, eml: &Path, at: Option<&str>) -> serde_json::Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reject-bridge"));
    cmd.args(["parse", "--json", "--config"]).arg(config);
    if let Some(at) = at {
        cmd.args(["--at", at]);
    }
    let out = cmd.arg(eml).output().expect("run reject-bridge");
    assert!(
        out.status.success(),
        "parse failed for {}: {}",
        eml.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    assert_eq!(
        stdout.trim().lines().count(),
        1,
        "exactly one JSON line: {stdout}"
    );
    serde_json::from_str(stdout.trim()).expect("valid JSON")
}

#[test]
fn every_fixture_gets_its_expected_decision() {
    check_folder(&fixtures(), 30);
}

#[test]
fn every_realistic_reply_gets_its_expected_decision() {
    check_folder(&fixtures().join("replies"), 150);
}

#[test]
fn every_hostile_shape_gets_its_expected_decision() {
    // Markup that once panicked (`colspan`/`rowspan`), was quadratic (`<div></x>`, `<a<a…`,
    // content inside a table) or hid tags from the nesting guard (`<div/>`, comments).
    check_folder(&fixtures().join("hostile"), 7);
}

/// Runs every `.eml` in `dir` and compares with its `.json`; at least `min` messages must be there.
fn check_folder(dir: &Path, min: usize) {
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    entries.sort();
    for eml in entries {
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(eml.with_extension("json")).unwrap())
                .unwrap();
        let config = fixtures().join(expected["config"].as_str().unwrap_or("config.toml"));
        let got = parse_json_at(&config, &eml, expected["at"].as_str());
        for key in [
            "decision",
            "reason",
            "request_id",
            "approver",
            "justification",
            "graph_justification",
            "message_id",
        ] {
            assert!(got.get(key).is_some(), "{key} missing from the output");
        }
        for (key, want) in expected.as_object().unwrap() {
            if key == "config" || key == "at" {
                continue;
            }
            if got.get(key) != Some(want) {
                failures.push(format!(
                    "{}: {key}: expected {want}, got {}",
                    eml.file_name().unwrap().to_string_lossy(),
                    got.get(key).unwrap_or(&serde_json::Value::Null)
                ));
            }
        }
        // Never a reject without a Graph justification within the limit.
        if got["decision"] == "reject" {
            let g = got["graph_justification"]
                .as_str()
                .expect("graph_justification on reject");
            assert!(g.encode_utf16().count() <= 1024);
        } else {
            assert!(got["graph_justification"].is_null());
        }
        checked += 1;
    }
    assert!(
        checked >= min,
        "only {checked} fixtures found in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rule_8_reads_assent_in_every_language_we_read() {
    // Each line of rule8/forms.jsonl is an approver's whole reply and the reason it must get:
    // assent is refused (`looks_like_approval`), anything else is a rejection (`ok`).
    let forms = std::fs::read_to_string(fixtures().join("rule8/forms.jsonl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = "3f2a9c1e-7b4d-4e8a-9f01-2c3d4e5f6a7b";
    let (mut assent, mut langs, mut failures) = (0, std::collections::BTreeSet::new(), Vec::new());
    for (n, line) in forms.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let form: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = form["text"].as_str().unwrap();
        let want = form["reason"].as_str().unwrap();
        let eml = dir.path().join(format!("{n}.eml"));
        let raw = format!(
            "Authentication-Results: mx.example.test; dmarc=pass header.from=example.test\n\
             From: Alice <alice@example.test>\nTo: approvals@example.test\n\
             Subject: RE: Approval needed ({id})\nMessage-ID: <form{n}@example.test>\n\
             MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\
             Content-Transfer-Encoding: 8bit\n\n{text}\n"
        )
        .replace('\n', "\r\n");
        std::fs::write(&eml, raw).unwrap();
        let got = parse_json(&fixtures().join("config.toml"), &eml);
        if got["reason"] != want {
            failures.push(format!("{text:?}: expected {want}, got {}", got["reason"]));
        }
        if want == "looks_like_approval" {
            assent += 1;
            langs.insert(form["lang"].as_str().unwrap().to_string());
        }
    }
    assert!(assent >= 40, "only {assent} assent forms");
    assert!(langs.len() >= 12, "assent forms in {langs:?} only");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn message_id_comes_without_angles() {
    let got = parse_json(
        &fixtures().join("config.toml"),
        &fixtures().join("reject_dkim_aligned_only.eml"),
    );
    assert_eq!(got["message_id"], "CAB1234@mail.example.test");
}

#[test]
fn stdin_is_read_with_a_dash() {
    let raw = std::fs::read(fixtures().join("no_request_id.eml")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["parse", "--json", "--config"])
        .arg(fixtures().join("config.toml"))
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&raw).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reason"], "no_request_id");
}

#[test]
fn unreadable_message_exits_1_and_bad_config_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["parse", "--json", "--config"])
        .arg(fixtures().join("config.toml"))
        .arg("/nonexistent/message.eml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[imap]\nport = \"x\"\nhots = 1\n[graph]\ntenant_id = \"t\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["parse", "--json", "--config"])
        .arg(&bad)
        .arg(fixtures().join("no_request_id.eml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing on stdout for a bad config");
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "imap.port",
        "imap.hots",
        "imap.host",
        "smtp.host",
        "graph.client_id",
        "approvers.allowed",
    ] {
        assert!(
            err.lines().any(|l| l.contains(key)),
            "no line names {key}:\n{err}"
        );
    }

    let out = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["parse", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "bad arguments exit 2");
}

#[test]
fn unknown_environment_override_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["parse", "--json", "--config"])
        .arg(fixtures().join("config.toml"))
        .arg(fixtures().join("no_request_id.eml"))
        .env("REJECT_BRIDGE__IMAP__NOPE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REJECT_BRIDGE__IMAP__NOPE"));
}
