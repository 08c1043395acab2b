//! `graph.auth = "delegated"` end to end (SPEC §4): `reject-bridge login` through the device
//! code flow (the test plays the user's browser through graph-sim's admin API), rejections made
//! as the signed-in user, a revoked sign-in that makes replies wait (not failed, not answered,
//! one alert mail, `/healthz` not ready), a new `login` after which each waiting reply is
//! rejected once, a `kill -9` during the refresh token's rotation, and no token anywhere in the
//! logs, the outputs or the journal file. graph-sim runs with `--decisions delegated-only`, as
//! Intune documents: an application's own token cannot decide.
//!
//! Needs the stack (`scripts/stack-up.sh`, `RB_STACK_DIR`).

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use support::config::BridgeConfig;
use support::http::get;
use support::mail::{Msg, list};
use support::process::poll;
use support::sim::Sim;
use support::stack::{Stack, closed_port, stack, unique};

const SVC_ID: &str = "8a3c0d4e-0000-4000-8000-00000000a001";
const REQUESTER_ID: &str = "8a3c0d4e-0000-4000-8000-00000000b002";
const GROUP_ID: &str = "6f1e0000-0000-4000-8000-0000000000c3";

fn svc() -> Value {
    json!({"id": SVC_ID, "userPrincipalName": "svc-approvals@example.test", "displayName": "Approvals Service"})
}

/// One test's bridge: mailbox, simulator, folder and config.
struct Setup {
    stack: Stack,
    sim: Sim,
    bridge: String,
    ops: String,
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    metrics: u16,
}

async fn setup(tag: &str, extra_sim: &[&str]) -> Setup {
    let stack = stack();
    let sim = Sim::start_delegated(extra_sim);
    sim.post(
        "/_sim/directory",
        json!({
            "users": [svc(), {"id": REQUESTER_ID, "userPrincipalName": "requester@example.test", "displayName": "Requester"}],
            "groups": [{"id": GROUP_ID, "displayName": "MAA Approvers", "members": [SVC_ID]}],
            "policies": [{"id": "p-1", "displayName": "Device wipes", "policyType": "deviceAction", "approverGroupIds": [GROUP_ID]}],
        }),
    )
    .await;
    let bridge = unique(&format!("bridge-{tag}"));
    let ops = unique(&format!("ops-{tag}"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bridge.toml");
    let metrics = closed_port();
    let base = BridgeConfig::new(&stack, &bridge, &sim.url);
    let mut text = BridgeConfig {
        client_secret: String::new(),
        retry_max_secs: 8,
        state: "state/bridge.db".into(),
        imap_extra: vec!["poll_interval_secs = 2".into(), "timeout_secs = 20".into()],
        graph_extra: vec!["auth = \"delegated\"".into(), "timeout_secs = 5".into()],
        ..base
    }
    .render();
    text.push_str(&format!(
        "\n[alerts]\nto = [\"{ops}\"]\n\n[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n"
    ));
    std::fs::write(&config, text).unwrap();
    Setup {
        stack,
        sim,
        bridge,
        ops,
        dir,
        config,
        metrics,
    }
}

fn command(s: &Setup, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_reject-bridge"));
    cmd.args(args).arg("--config").arg(&s.config);
    for (k, _) in std::env::vars() {
        if k.starts_with("REJECT_BRIDGE__") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "debug").kill_on_drop(true);
    cmd
}

/// Runs `login`, approving its device code as `user` in the "browser"; returns its stdout+stderr.
async fn login(s: &Setup, user: Value) -> String {
    let child = command(s, &["login"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("login starts");
    let code = user_code(s).await;
    s.sim
        .post(
            "/_sim/devicecodes/approve",
            json!({"user_code": code, "user": user}),
        )
        .await;
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("login finished")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "login failed: {text}");
    assert!(text.contains(&code), "the user code is shown: {text}");
    assert!(text.contains("https://microsoft.com/devicelogin"), "{text}");
    text
}

/// The user code of the device code sign-in `login` started (what the operator would type).
async fn user_code(s: &Setup) -> String {
    poll(30, || async {
        let pending: Value = s
            .sim
            .http()
            .get(format!("{}/_sim/devicecodes", s.sim.url))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        pending[0]["user_code"].as_str().map(str::to_string)
    })
    .await
    .expect("login asked for a device code")
}

fn daemon(s: &Setup, log: &str) -> tokio::process::Child {
    command(s, &["run"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(s.dir.path().join(log)).unwrap())
        .spawn()
        .expect("the daemon starts")
}

async fn deliver_reply(s: &Setup, approver: &str, id: &str, text: &str) {
    let msg = Msg::new(
        approver,
        &s.bridge,
        &format!("RE: Approval needed ({id})"),
        text,
    );
    support::mail::deliver_to(&s.stack, &s.bridge, &msg.render()).await;
}

/// Successful reject calls for `id`.
async fn rejects_ok(s: &Setup, id: &str) -> usize {
    s.sim
        .calls_to("reject")
        .await
        .iter()
        .filter(|c| c["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .filter(|c| {
            c["status"]
                .as_u64()
                .is_some_and(|st| (200..300).contains(&st))
        })
        .count()
}

async fn wait_rejected(s: &Setup, id: &str, log: &str) {
    let done = poll(60, || async {
        (rejects_ok(s, id).await >= 1).then_some(())
    })
    .await;
    assert!(
        done.is_some(),
        "request {id} was not rejected; daemon log:\n{}",
        std::fs::read_to_string(s.dir.path().join(log)).unwrap_or_default()
    );
}

fn new_request() -> (String, Value) {
    let id = uuid::Uuid::new_v4().to_string();
    let r = json!({"id": id, "status": "needsApproval",
        "requestor": {"user": {"id": REQUESTER_ID, "displayName": "Requester"}},
        "requiredOperationApprovalPolicyTypes": ["deviceAction"]});
    (id, r)
}

#[tokio::test]
async fn signed_in_rejects_wait_through_a_lost_sign_in_and_survive_a_kill_during_rotation() {
    let s = setup("delegated", &[]).await;
    let approver = unique("alice-delegated");
    let ids: Vec<(String, Value)> = (0..5).map(|_| new_request()).collect();
    s.sim
        .seed(Value::Array(ids.iter().map(|(_, r)| r.clone()).collect()))
        .await;
    let mut outputs = String::new();

    // 1. Sign in once; `check` names the user, the scopes and the approver group.
    outputs.push_str(&login(&s, svc()).await);
    let check = command(&s, &["check"]).output().await.unwrap();
    let check_text = String::from_utf8_lossy(&check.stdout).into_owned();
    outputs.push_str(&check_text);
    outputs.push_str(&String::from_utf8_lossy(&check.stderr));
    assert!(check.status.success(), "check: {check_text}");
    let graph_line = check_text.lines().find(|l| l.contains("graph:")).unwrap();
    assert!(
        graph_line
            .starts_with("ok   graph: signed in as svc-approvals@example.test (Approvals Service)"),
        "{graph_line}"
    );
    assert!(
        graph_line.contains("DeviceManagementConfiguration.ReadWrite.All"),
        "{graph_line}"
    );
    assert!(
        graph_line.contains("member of approver group MAA Approvers"),
        "{graph_line}"
    );

    // 2. The service redeems the sign-in at start (the keep-alive), before any mail.
    let mut child = daemon(&s, "daemon1.log");
    let refreshed = poll(30, || async {
        let calls = s.sim.calls_to("token").await;
        calls
            .iter()
            .any(|c| c["body"]["grant_type"] == "refresh_token" && c["status"] == 200)
            .then_some(())
    })
    .await;
    assert!(
        refreshed.is_some(),
        "the daemon refreshed its sign-in at start"
    );

    // A reply is rejected as the signed-in user.
    deliver_reply(
        &s,
        &approver,
        &ids[0].0,
        "Not approved: the wipe targets the wrong device.",
    )
    .await;
    wait_rejected(&s, &ids[0].0, "daemon1.log").await;
    let r = s.sim.request(&ids[0].0).await;
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["approver"]["user"]["id"], SVC_ID, "{r}");
    assert_eq!(r["approver"]["user"]["displayName"], "Approvals Service");
    let healthy = poll(20, || async {
        get(s.metrics, "/healthz")
            .await
            .filter(|(st, _)| *st == 200)
    })
    .await;
    assert!(
        healthy.is_some(),
        "/healthz is ready while the sign-in works"
    );

    // 3. The sign-in is revoked (and the hour-long access token runs out): three replies wait.
    s.sim
        .post(
            &format!("/_sim/users/{SVC_ID}/revokeSignInSessions"),
            json!({}),
        )
        .await;
    s.sim.post("/_sim/tokens/expire", json!({})).await;
    for (id, _) in &ids[1..4] {
        deliver_reply(&s, &approver, id, "Rejected: no change ticket.").await;
    }
    let not_ready = poll(60, || async {
        get(s.metrics, "/healthz")
            .await
            .filter(|(st, body)| *st == 503 && body.contains("sign-in"))
    })
    .await;
    let log1 = || std::fs::read_to_string(s.dir.path().join("daemon1.log")).unwrap_or_default();
    let (_, why) = not_ready
        .unwrap_or_else(|| panic!("/healthz never said the sign-in is lost; log:\n{}", log1()));
    assert!(why.contains("invalid_grant"), "{why}");
    let waiting = poll(60, || async {
        let (_, text) = get(s.metrics, "/metrics").await?;
        text.lines()
            .any(|l| l == "reject_bridge_awaiting_signin_messages 3")
            .then_some(())
    })
    .await;
    assert!(waiting.is_some(), "three messages wait; log:\n{}", log1());
    let alerts = poll(30, || async {
        let found = list(&s.stack, &s.ops, "INBOX").await;
        (!found.is_empty()).then_some(found)
    })
    .await
    .expect("the ops address got an alert");
    // A few more passes: still one alert, nothing filed as failed, nothing answered, nothing decided.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let alerts_now = list(&s.stack, &s.ops, "INBOX").await;
    assert_eq!(alerts_now.len(), 1, "one alert mail, not one per pass");
    let alert = alerts[0].text();
    assert!(alert.contains("reject-bridge login --config"), "{alert}");
    assert!(alert.contains(&s.config.display().to_string()), "{alert}");
    assert!(list(&s.stack, &s.bridge, "Failed").await.is_empty());
    assert_eq!(list(&s.stack, &s.bridge, "INBOX").await.len(), 3);
    for (id, _) in &ids[1..4] {
        assert_eq!(rejects_ok(&s, id).await, 0);
    }
    assert_eq!(
        list(&s.stack, &approver, "INBOX").await.len(),
        1,
        "only the first reply was answered"
    );

    // 4. Sign in again: the waiting replies go on by themselves, each rejected once.
    outputs.push_str(&login(&s, svc()).await);
    for (id, _) in &ids[1..4] {
        wait_rejected(&s, id, "daemon1.log").await;
    }
    let ready = poll(60, || async {
        get(s.metrics, "/healthz")
            .await
            .filter(|(st, _)| *st == 200)
    })
    .await;
    assert!(ready.is_some(), "/healthz ready again; log:\n{}", log1());

    // 5. kill -9 while the refresh token rotates: the rotation is applied at Entra, its answer
    //    never reaches the bridge. The stored (previous) refresh token still works afterwards.
    s.sim.post("/_sim/tokens/expire", json!({})).await;
    s.sim
        .fault(json!({"endpoint": "token", "kind": "delay_after_apply", "ms": 20000}))
        .await;
    deliver_reply(&s, &approver, &ids[4].0, "Rejected after the outage.").await;
    let in_flight = poll(60, || async {
        let calls = s.sim.calls_to("token").await;
        calls
            .iter()
            .any(|c| {
                c["fault"]
                    .as_str()
                    .is_some_and(|f| f.starts_with("delay_after_apply"))
            })
            .then_some(())
    })
    .await;
    assert!(
        in_flight.is_some(),
        "the refresh reached Entra; log:\n{}",
        log1()
    );
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let mut child = daemon(&s, "daemon2.log");
    wait_rejected(&s, &ids[4].0, "daemon2.log").await;
    for (id, _) in &ids {
        assert_eq!(rejects_ok(&s, id).await, 1, "exactly one rejection of {id}");
    }
    let filed = poll(30, || async {
        (list(&s.stack, &s.bridge, "Processed").await.len() == 5).then_some(())
    })
    .await;
    assert!(filed.is_some(), "all five filed");
    child.start_kill().unwrap();
    let _ = child.wait().await;

    // 6. No token anywhere: logs, outputs, the journal (with its WAL).
    let secrets: Value = s
        .sim
        .http()
        .get(format!("{}/_sim/secrets", s.sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut haystack: Vec<u8> = outputs.into_bytes();
    for log in ["daemon1.log", "daemon2.log"] {
        haystack.extend(std::fs::read(s.dir.path().join(log)).unwrap());
    }
    for f in ["bridge.db", "bridge.db-wal"] {
        if let Ok(bytes) = std::fs::read(s.dir.path().join("state").join(f)) {
            haystack.extend(bytes);
        }
    }
    let tokens: Vec<&str> = secrets["refresh_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .chain(secrets["access_tokens"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    assert!(tokens.len() >= 6, "{secrets}");
    for t in tokens {
        assert!(
            !haystack.windows(t.len()).any(|w| w == t.as_bytes()),
            "a token leaked: {}…",
            &t[..12]
        );
    }
}

#[tokio::test]
async fn app_only_decisions_fail_check_with_the_cause_and_the_fix() {
    let stack = stack();
    let sim = Sim::start_delegated(&[]);
    let bridge = unique("bridge-apponly");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bridge.toml");
    BridgeConfig::new(&stack, &bridge, &sim.url).write(&config);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let graph: Vec<&str> = text.lines().filter(|l| l.contains("graph:")).collect();
    assert_eq!(graph.len(), 1, "{text}");
    assert!(graph[0].starts_with("FAIL graph:"), "{text}");
    assert!(
        graph[0].contains("Intune refuses decisions made by an application"),
        "{text}"
    );
    assert!(graph[0].contains("graph.auth = \"delegated\""), "{text}");
    assert!(graph[0].contains("reject-bridge login"), "{text}");
    // The probe changed nothing: its request does not exist.
    assert!(
        sim.calls_to("reject")
            .await
            .iter()
            .all(|c| c["status"] == 403)
    );
}

#[tokio::test]
async fn login_says_what_to_do_when_the_user_declines_or_the_code_expires() {
    let s = setup("login-errors", &[]).await;
    for (action, expect) in [
        (json!({"deny": true}), "declined"),
        (json!({"expire": true}), "expired"),
    ] {
        let child = command(&s, &["login"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let code = user_code(&s).await;
        if action["deny"] == true {
            s.sim
                .post(
                    "/_sim/devicecodes/approve",
                    json!({"user_code": code, "deny": true}),
                )
                .await;
        } else {
            s.sim.post("/_sim/devicecodes/expire", json!({})).await;
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(expect), "{err}");
        assert!(err.contains("run `reject-bridge login` again"), "{err}");
    }
    // logout forgets; a second logout says so.
    let text = login(&s, svc()).await;
    assert!(text.contains("Signed in as svc-approvals@example.test"));
    let out = command(&s, &["logout"]).output().await.unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Forgot the sign-in of svc-approvals@example.test")
    );
    let out = command(&s, &["logout"]).output().await.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("No sign-in was stored"));
    let check = command(&s, &["check"]).output().await.unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(text.contains("FAIL graph: no usable sign-in"), "{text}");
    assert!(text.contains("reject-bridge login --config"), "{text}");
}

#[tokio::test]
async fn login_backs_off_when_entra_says_slow_down() {
    let s = setup("slow-down", &[]).await;
    s.sim
        .fault(json!({"endpoint": "token", "kind": "status", "status": 400, "code": "slow_down"}))
        .await;
    login(&s, svc()).await;
    let polls = s.sim.calls_to("token").await;
    let slow = polls
        .iter()
        .position(|c| {
            c["fault"]
                .as_str()
                .is_some_and(|f| f.starts_with("status 400"))
        })
        .expect("the slow_down answer was given");
    let next = polls.get(slow + 1).expect("polling went on");
    let gap = next["at_ms"].as_u64().unwrap() - polls[slow]["at_ms"].as_u64().unwrap();
    // RFC 8628 §3.5: the interval (1 s here) grows by 5 s.
    assert!(gap >= 5_500, "the next poll came {gap} ms later");
    assert_eq!(polls[slow]["body"]["device_code"], "<redacted>");
}

#[tokio::test]
async fn interaction_required_makes_a_reply_wait_without_failing_it() {
    let s = setup("interaction", &[]).await;
    let (id, r) = new_request();
    s.sim.seed(r).await;
    login(&s, svc()).await;
    // MFA or Conditional Access now wants the user; the hour-long access token has run out.
    s.sim
        .post(
            &format!("/_sim/users/{SVC_ID}/requireInteraction"),
            json!({}),
        )
        .await;
    s.sim.post("/_sim/tokens/expire", json!({})).await;
    let approver = unique("bob-interaction");
    deliver_reply(&s, &approver, &id, "Rejected.").await;
    support::mail::wait_count(&s.stack, &s.bridge, "INBOX", 1).await;
    let out = command(&s, &["run", "--once"]).output().await.unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "unfinished: the reply waits\n{log}"
    );
    assert!(log.contains("interaction_required"), "{log}");
    assert_eq!(rejects_ok(&s, &id).await, 0);
    assert_eq!(list(&s.stack, &s.bridge, "INBOX").await.len(), 1);
    assert!(list(&s.stack, &s.bridge, "Failed").await.is_empty());
    assert!(
        list(&s.stack, &approver, "INBOX").await.is_empty(),
        "no answer"
    );
    // One alert mail; a second run the same day sends none.
    let alerts = support::mail::wait_count(&s.stack, &s.ops, "INBOX", 1).await;
    assert!(alerts[0].text().contains("interaction_required"));
    let again = command(&s, &["run", "--once"]).output().await.unwrap();
    assert_eq!(again.status.code(), Some(1));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(list(&s.stack, &s.ops, "INBOX").await.len(), 1);
    // After a new sign-in the same command finishes it.
    login(&s, svc()).await;
    let out = command(&s, &["run", "--once"]).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rejects_ok(&s, &id).await, 1);
    assert_eq!(list(&s.stack, &s.bridge, "Processed").await.len(), 1);
}
