//! `graph.act_as = "approver"` end to end, in a real headless browser (Debian's chromium over
//! WebDriver): an approver's reply is held and answered with a one-time link; the browser follows
//! it to graph-sim's sign-in page; the held rejection then goes out with the approver's own token
//! (Intune records them as the approver); their next reply goes straight through; someone else
//! signing in on their link stores nothing; an approver outside the approver group gets Intune's
//! refusal in words. graph-sim behaves as Intune documents (only users decide, only members of
//! the approver group, never the requester).
//!
//! Needs the stack (`scripts/stack-up.sh`, `RB_STACK_DIR`) and chromium + chromedriver
//! (`scripts/stack-install.sh`).

mod support;

use serde_json::{Value, json};

use support::browser::Browser;
use support::config::BridgeConfig;
use support::mail::{Msg, list, wait_count};
use support::process::{poll, spawn_bridge};
use support::sim::Sim;
use support::stack::{Stack, closed_port, stack, unique};

const GROUP: &str = "0d5e0000-0000-4000-8000-0000000000a1";
const PASSWORD: &str = "sim-password";

struct Person {
    address: String,
    id: String,
}

fn person(tag: &str) -> Person {
    Person {
        address: unique(tag),
        id: uuid::Uuid::new_v4().to_string(),
    }
}

fn user(p: &Person, name: &str) -> Value {
    json!({"id": p.id, "userPrincipalName": p.address, "displayName": name})
}

async fn reply(s: &Stack, bridge: &str, from: &str, id: &str, text: &str) {
    let msg = Msg::new(from, bridge, &format!("RE: Approval needed ({id})"), text);
    support::mail::deliver_to(s, bridge, &msg.render()).await;
}

/// The link in the one link mail `who` got (waits for it).
async fn link_in_mail(s: &Stack, who: &str, web: u16) -> String {
    let mail = wait_count(s, who, "INBOX", 1).await;
    let text = mail
        .iter()
        .map(|m| m.body_text())
        .find(|t| t.contains("/link/"))
        .unwrap_or_else(|| panic!("no link mail for {who}"));
    let start = text
        .find(&format!("http://127.0.0.1:{web}/link/"))
        .expect("the link");
    text[start..].split_whitespace().next().unwrap().to_string()
}

async fn sign_in(b: &Browser, link: &str, who: &str) -> (String, String) {
    b.forget_cookies().await;
    b.open(link).await;
    let (h1, _) = b.page().await;
    assert_eq!(
        h1,
        "Sign in",
        "the link leads to the sign-in page ({})",
        b.url().await
    );
    b.fill("username", who).await;
    b.fill("password", PASSWORD).await;
    b.click("accept").await;
    b.left_sign_in().await;
    b.page().await
}

async fn ok_rejects(sim: &Sim, id: &str) -> Vec<Value> {
    sim.calls_to("reject")
        .await
        .into_iter()
        .filter(|c| c["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .collect()
}

/// A bridge in approver mode (its linking endpoint on `web`), its daemon started with its log in
/// the returned folder.
fn approver_bridge(
    s: &Stack,
    bridge: &str,
    sim: &Sim,
    web: u16,
) -> (tempfile::TempDir, std::path::PathBuf, std::process::Child) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bridge.toml");
    let mut text = BridgeConfig {
        client_secret: String::new(),
        retry_max_secs: 8,
        imap_extra: vec!["poll_interval_secs = 2".into()],
        graph_extra: vec![
            "auth = \"delegated\"".into(),
            "act_as = \"approver\"".into(),
        ],
        ..BridgeConfig::new(s, bridge, &sim.url)
    }
    .render();
    text.push_str(&format!(
        "\n[web]\nlisten = \"127.0.0.1:{web}\"\npublic_url = \"http://127.0.0.1:{web}\"\n"
    ));
    std::fs::write(&config, text).unwrap();
    let log = dir.path().join("daemon.log");
    let daemon = spawn_bridge(&["run"], &config, &log);
    (dir, log, daemon)
}

#[tokio::test]
async fn approvers_link_their_own_account_in_a_browser_and_reject_as_themselves() {
    let s = stack();
    let web = closed_port();
    let sim = Sim::start_delegated(&["--redirect-uri", "http://127.0.0.1/callback"]);
    let (alice, bob, mallory, requester) = (
        person("alice-link"),
        person("bob-link"),
        person("mallory-link"),
        person("req-link"),
    );
    sim.post(
        "/_sim/directory",
        json!({
            "users": [user(&alice, "Alice Approver"), user(&bob, "Bob Outsider"), user(&mallory, "Mallory"), user(&requester, "Requester")],
            "groups": [{"id": GROUP, "displayName": "MAA Approvers", "members": [alice.id, mallory.id]}],
            "policies": [{"id": "p-1", "displayName": "Wipes", "policyType": "deviceAction", "approverGroupIds": [GROUP]}],
        }),
    )
    .await;
    let ids: Vec<String> = (0..3).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let requests: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"id": id, "status": "needsApproval",
            "requestor": {"user": {"id": requester.id, "displayName": "Requester"}},
            "requiredOperationApprovalPolicyTypes": ["deviceAction"]})
        })
        .collect();
    sim.seed(Value::Array(requests)).await;

    let bridge = unique("bridge-link");
    let (dir, log, mut daemon) = approver_bridge(&s, &bridge, &sim, web);
    let config = dir.path().join("bridge.toml");
    let daemon_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let browser = Browser::start().await;

    // 1. Alice's reply is held and answered with a link; nothing reaches Graph yet.
    reply(
        &s,
        &bridge,
        &alice.address,
        &ids[0],
        "Rejected: wrong device.",
    )
    .await;
    let link = link_in_mail(&s, &alice.address, web).await;
    assert!(ok_rejects(&sim, &ids[0]).await.is_empty(), "held");
    assert!(list(&s, &bridge, "Processed").await.is_empty());

    // 2. Mallory signs in on Alice's link: nothing is stored, the page says why.
    let (h1, body) = sign_in(&browser, &link, &mallory.address).await;
    assert_eq!(h1, "This is not the account the link is for", "{body}");
    assert!(body.contains("Nothing was stored"), "{body}");
    assert!(ok_rejects(&sim, &ids[0]).await.is_empty());

    // 3. Alice signs in: linked, and the held rejection goes out in her name at once.
    let (h1, body) = sign_in(&browser, &link, &alice.address).await;
    assert_eq!(h1, "Your account is linked", "{body}\n{}", daemon_log());
    let done = poll(30, || async {
        let r = sim.request(&ids[0]).await;
        (r["status"] == "rejected").then_some(r)
    })
    .await
    .unwrap_or_else(|| panic!("the held rejection did not go out\n{}", daemon_log()));
    assert_eq!(done["approver"]["user"]["id"], alice.id.as_str(), "{done}");
    assert_eq!(done["approver"]["user"]["displayName"], "Alice Approver");
    // The link works once.
    browser.open(&link).await;
    assert_eq!(browser.page().await.0, "This link was already used");

    // 4. Alice's next reply goes straight through: no second link mail.
    reply(
        &s,
        &bridge,
        &alice.address,
        &ids[1],
        "Rejected: not approved by the CAB.",
    )
    .await;
    let r2 = poll(30, || async {
        let r = sim.request(&ids[1]).await;
        (r["status"] == "rejected").then_some(r)
    })
    .await
    .unwrap_or_else(|| panic!("the second reply was not rejected\n{}", daemon_log()));
    assert_eq!(r2["approver"]["user"]["id"], alice.id.as_str());
    let mail = wait_count(&s, &alice.address, "INBOX", 3).await;
    let links = mail
        .iter()
        .filter(|m| m.body_text().contains("/link/"))
        .count();
    assert_eq!(links, 1, "one link mail in all");
    assert_eq!(mail.len(), 3, "the link and two confirmations");

    // 5. Bob is not in the approver group: he links, and Intune's refusal reaches him in words.
    reply(&s, &bridge, &bob.address, &ids[2], "Rejected.").await;
    let bob_link = link_in_mail(&s, &bob.address, web).await;
    let (h1, _) = sign_in(&browser, &bob_link, &bob.address).await;
    assert_eq!(h1, "Your account is linked");
    let refused = poll(30, || async {
        let mail = list(&s, &bob.address, "INBOX").await;
        mail.into_iter()
            .map(|m| m.body_text())
            .find(|t| t.contains("refused your rejection"))
    })
    .await
    .unwrap_or_else(|| panic!("bob got no refusal\n{}", daemon_log()));
    assert!(refused.contains("approver group"), "{refused}");
    assert_eq!(sim.request(&ids[2]).await["status"], "needsApproval");
    let bob_calls = ok_rejects(&sim, &ids[2]).await;
    assert_eq!(bob_calls.len(), 1, "tried once, never as another identity");
    assert_eq!(bob_calls[0]["status"], 403);
    let filed = poll(30, || async {
        (list(&s, &bridge, "Processed").await.len() == 3).then_some(())
    })
    .await;
    assert!(filed.is_some(), "all three filed\n{}", daemon_log());

    // 6. Alice's sign-in is revoked (and her hour-long token runs out): her next reply is held
    //    and gets a fresh link, nothing is lost.
    sim.post(
        &format!("/_sim/users/{}/revokeSignInSessions", alice.id),
        json!({}),
    )
    .await;
    sim.post("/_sim/tokens/expire", json!({})).await;
    let id4 = uuid::Uuid::new_v4().to_string();
    sim.seed(json!({"id": id4, "status": "needsApproval",
        "requiredOperationApprovalPolicyTypes": ["deviceAction"]}))
        .await;
    reply(&s, &bridge, &alice.address, &id4, "Rejected again.").await;
    let fresh = poll(30, || async {
        let mail = list(&s, &alice.address, "INBOX").await;
        (mail
            .iter()
            .filter(|m| m.body_text().contains("/link/"))
            .count()
            == 2)
            .then_some(())
    })
    .await;
    assert!(
        fresh.is_some(),
        "a fresh link after the revocation\n{}",
        daemon_log()
    );
    assert_eq!(sim.request(&id4).await["status"], "needsApproval", "held");

    // 7. `approvers` lists who linked; `unlink` forgets one.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["approvers", "--json", "--config"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let addresses: Vec<&str> = listed
        .iter()
        .filter_map(|a| a["address"].as_str())
        .collect();
    assert_eq!(addresses.len(), 2, "{listed:?}");
    assert!(
        addresses.contains(&alice.address.as_str()) && addresses.contains(&bob.address.as_str())
    );
    let health: Vec<&str> = listed.iter().filter_map(|a| a["health"].as_str()).collect();
    assert!(
        health.iter().any(|h| h.starts_with("lost")),
        "alice's sign-in was revoked: {listed:?}"
    );
    assert!(health.contains(&"ok"), "bob's works: {listed:?}");
    assert!(
        !addresses.contains(&mallory.address.as_str()),
        "mallory stored nothing"
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["approvers", "--config"])
        .arg(&config)
        .args(["unlink", &bob.address])
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Forgot the linked account"));
    let _ = daemon.kill();
    let _ = daemon.wait();
}

#[tokio::test]
async fn declining_consent_stores_nothing_and_says_what_to_do() {
    let s = stack();
    let web = closed_port();
    let sim = Sim::start_delegated(&["--redirect-uri", "http://127.0.0.1/callback"]);
    let carol = person("carol-link");
    sim.post("/_sim/directory", json!({"users": [user(&carol, "Carol")]}))
        .await;
    let id = uuid::Uuid::new_v4().to_string();
    sim.seed(json!({"id": id, "status": "needsApproval"})).await;
    let bridge = unique("bridge-decline");
    let (_dir, _log, mut daemon) = approver_bridge(&s, &bridge, &sim, web);
    reply(&s, &bridge, &carol.address, &id, "No.").await;
    let link = link_in_mail(&s, &carol.address, web).await;
    let b = Browser::start().await;
    b.open(&link).await;
    b.click("cancel").await;
    b.left_sign_in().await;
    let (h1, body) = b.page().await;
    assert_eq!(h1, "You did not accept", "{body}");
    assert!(
        body.contains("open the link from your e-mail again"),
        "{body}"
    );
    // A link that is not one.
    b.open(&format!("http://127.0.0.1:{web}/link/not-a-token"))
        .await;
    assert_eq!(b.page().await.0, "This link is not valid");
    assert_eq!(sim.request(&id).await["status"], "needsApproval");
    let _ = daemon.kill();
    let _ = daemon.wait();
}
