//! The notifier (SPEC §7) end to end: the real binary against the real Dovecot + Postfix of
//! `scripts/stack-up.sh` and a `graph-sim` per test with its own directory (users, nested
//! groups, approval policies). Approvers read their notifications from their own mailboxes and
//! reply the way a mail client does; what Graph received is read from the simulator.
//!
//! - the whole loop: two approvers of a group told, the requester not; one replies to the
//!   `Reply-To`, quoting; the request is rejected with their words; the other gets the follow-up;
//! - `kill -9` at random moments while announcing: nobody gets a second notification of a kind,
//!   except a resend of the one in flight (same Message-ID);
//! - outages: Graph down, SMTP down, a request expiring meanwhile: mail is late, never lost, never
//!   repeated, and an expired request is never announced;
//! - reminders before expiry, only to those who have not answered;
//! - reply keys resolved read-only by `parse` and `run --dry-run`; `references-only` mode;
//!   `require_notification_reference`;
//! - the Graph client's directory reads (policies, transitive members, users) with paging.
//!
//! Needs the stack (`RB_STACK_DIR`); without it every test fails saying so.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reject_bridge::graph::GraphClient;
use reject_bridge::journal::{Journal, MailKind, MailState};
use serde_json::{Value, json};
use support::config::BridgeConfig;
use support::mail::{AUTH_OK, Found, deliver, list, wait_count};
use support::process::wait_for;
use support::sim::Sim;
use support::stack::{Stack, closed_port, unique};
use support::world::World;

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Graph's DateTimeOffset `secs` from now.
fn graph_time(secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    t.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A person of the simulated directory.
#[derive(Clone, Debug)]
struct Person {
    id: String,
    address: String,
    name: String,
}

impl Person {
    fn new(tag: &str, name: &str) -> Person {
        Person {
            id: new_id(),
            address: unique(tag),
            name: name.into(),
        }
    }

    fn user(&self) -> Value {
        json!({"id": self.id, "userPrincipalName": self.address, "displayName": self.name})
    }
}

/// Ann and Bob, approvers, and Dana, who asks; `tag` keeps their addresses apart from other
/// tests'.
fn cast(tag: &str) -> (Person, Person, Person) {
    (
        Person::new(&format!("{tag}ann"), "Ann Approver"),
        Person::new(&format!("{tag}bob"), "Bob Approver"),
        Person::new(&format!("{tag}dana"), "Dana Requester"),
    )
}

/// A request waiting for approval, asked by `requester`, expiring in `expires_secs`.
fn request(id: &str, requester: &Person, expires_secs: i64) -> Value {
    json!({
        "id": id,
        "status": "needsApproval",
        "requestJustification": "Wipe the laptop reported stolen",
        "expirationDateTime": graph_time(expires_secs),
        "requestor": {"user": {"id": requester.id, "displayName": requester.name}},
        "requiredOperationApprovalPolicyTypes": ["deviceWipe"],
    })
}

/// The approver group `approvers` (through a nested group for all but the first) as the
/// approver group of the deviceWipe policy, plus everyone in `others` as plain users.
async fn directory(sim: &Sim, approvers: &[&Person], others: &[&Person]) {
    let users: Vec<Value> = approvers.iter().chain(others).map(|p| p.user()).collect();
    let nested: Vec<&str> = approvers[1..].iter().map(|p| p.id.as_str()).collect();
    sim.post(
        "/_sim/directory",
        json!({
            "users": users,
            "groups": [
                {"id": "g-approvers", "displayName": "Intune approvers", "members": [approvers[0].id, "g-nested"]},
                {"id": "g-nested", "displayName": "Helpdesk leads", "members": nested},
            ],
            "policies": [
                {"id": "p-wipe", "displayName": "Wipes", "policyType": "deviceWipe", "approverGroupIds": ["g-approvers"]},
                {"id": "p-app", "displayName": "Apps", "policyType": "app", "approverGroupIds": ["g-unused"]},
            ],
        }),
    )
    .await;
}

/// Writes the bridge config for `w` with `notify` as the `[notify]` section (and `approvers`
/// lines added to `[approvers]`), polling fast.
fn write_config(w: &World, smtp_port: Option<u16>, notify: &str, approvers: &str) {
    let base = BridgeConfig::new(&w.stack, &w.bridge, &w.sim.url);
    let text = BridgeConfig {
        smtp_port: smtp_port.unwrap_or(base.smtp_port),
        from_name: "Intune Approvals".into(),
        retry_max_secs: 3,
        state: "state/bridge.db".into(),
        imap_extra: vec!["timeout_secs = 20".into(), "poll_interval_secs = 1".into()],
        smtp_extra: vec!["timeout_secs = 10".into()],
        graph_extra: vec!["timeout_secs = 5".into()],
        ..base
    }
    .render()
    .replace(
        "trusted_authserv_id = \"mx.example.test\"\n",
        &format!("trusted_authserv_id = \"mx.example.test\"\n{approvers}\n"),
    );
    std::fs::write(&w.config, format!("{text}\n[notify]\n{notify}\n")).unwrap();
}

/// `[notify]` telling the approver groups, polling every second.
const GROUPS: &str = "enabled = true\nresolve = \"approver-groups\"\npoll_interval_secs = 1";

/// One request by `requester` waiting for approval (expiring in `expires_secs`), with `approvers`
/// in its approver group and `others` in the directory too, and the bridge configured with
/// `notify` as its `[notify]` section. Returns the request's ID.
async fn one_request(
    w: &World,
    approvers: &[&Person],
    others: &[&Person],
    requester: &Person,
    expires_secs: i64,
    notify: &str,
) -> String {
    directory(&w.sim, approvers, others).await;
    let rid = new_id();
    w.sim.seed(request(&rid, requester, expires_secs)).await;
    write_config(w, None, notify, "");
    rid
}

/// The daemon, killed when dropped.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn spawn(w: &World, log: &Path) -> Daemon {
        Daemon {
            child: support::process::spawn_bridge(&["run"], &w.config, log),
        }
    }

    /// SIGTERM; the exit status, or a failure after `limit`.
    fn term(&mut self, limit: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "no exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The notifier's mails of `kind` in `found`.
fn of_kind(found: &[Found], kind: MailKind) -> Vec<&Found> {
    let prefix = match kind {
        MailKind::Notification => "notify.",
        MailKind::Followup => "followup.",
        MailKind::Reminder => "reminder.",
    };
    found
        .iter()
        .filter(|f| {
            f.parsed()
                .message_id()
                .is_some_and(|m| m.starts_with(prefix))
        })
        .collect()
}

/// The address of a mail's `Reply-To`.
fn reply_to_of(f: &Found) -> String {
    let parsed = f.parsed();
    let first = parsed.reply_to().and_then(|a| a.first());
    first
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string()
}

/// The reply key in a notification's Message-ID.
fn key_of(f: &Found) -> String {
    let id = f.parsed().message_id().unwrap().to_string();
    id.split_once('.')
        .unwrap()
        .1
        .split_once('@')
        .unwrap()
        .0
        .to_string()
}

/// The reply an approver's mail client writes to `notification`: to its `Reply-To`, subject
/// `RE: …`, `In-Reply-To`/`References` kept, `text` on top of the quoted notification.
fn client_reply(from: &Person, notification: &Found, text: &str) -> (String, String) {
    let parsed = notification.parsed();
    let reply_to = reply_to_of(notification);
    let mid = parsed.message_id().unwrap();
    let quoted: String = notification
        .body_text()
        .lines()
        .map(|l| format!("> {l}\n"))
        .collect();
    let raw = format!(
        "{AUTH_OK}\nFrom: {name} <{from}>\nTo: Intune Approvals <{reply_to}>\nSubject: RE: {subject}\n\
         Message-ID: <{own}@client.example.test>\nIn-Reply-To: <{mid}>\nReferences: <{mid}>\n\
         Date: {date}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n\
         {text}\n\nOn Mon, 30 Nov 2026 at 09:00, Intune Approvals <{bridge}> wrote:\n{quoted}",
        name = from.name,
        from = from.address,
        subject = parsed.subject().unwrap(),
        own = new_id(),
        date = httpdate::fmt_http_date(std::time::SystemTime::now()).replace("GMT", "+0000"),
        bridge = reply_to,
    );
    (reply_to, raw.replace("\r\n", "\n").replace('\n', "\r\n"))
}

async fn mail_of(s: &Stack, p: &Person) -> Vec<Found> {
    list(s, &p.address, "INBOX").await
}

// ---------------------------------------------------------------------------------------------

/// SPEC §7 "Done when": the whole loop against the real stack, with the daemon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvers_are_told_one_rejects_by_reply_and_the_other_is_followed_up() {
    let w = World::new("notify-loop").await;
    let log = w.dir.path().join("bridge.log");
    let (ann, bob, dana) = cast("");
    // Dana asks, and is in the approver group herself: she must not be told.
    let rid = one_request(&w, &[&ann, &bob, &dana], &[], &dana, 24 * 3600, GROUPS).await;
    let mut daemon = Daemon::spawn(&w, &log);

    let ann_mail = wait_count(&w.stack, &ann.address, "INBOX", 1).await;
    let bob_mail = wait_count(&w.stack, &bob.address, "INBOX", 1).await;
    let note = &ann_mail[0];
    let parsed = note.parsed();
    let key = key_of(note);
    assert_eq!(
        parsed.subject().unwrap(),
        format!("Intune approval needed: a device wipe change [{rid}]")
    );
    let reply_to = reply_to_of(note);
    let (local, domain) = w.bridge.split_once('@').unwrap();
    assert_eq!(reply_to, format!("{local}+{key}@{domain}"));
    let text = note.body_text();
    for needle in [
        "Hello Ann Approver,",
        "Dana Requester asks for approval",
        "Wipe the laptop reported stolen",
        &format!("rb-{key}"),
        "reply to this mail and write your reason at the top",
        "mailto:",
        "intune.microsoft.com",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    assert_ne!(key, key_of(&bob_mail[0]), "a key per recipient");

    let (to, raw) = client_reply(&ann, note, "Not during the change freeze.\n\nAnn");
    deliver(&w.stack, &ann.address, &to, raw.as_bytes()).await;
    wait_for(
        "the request rejected",
        &log,
        Duration::from_secs(30),
        async || w.sim.request(&rid).await["status"] == "rejected",
    )
    .await;
    let r = w.sim.request(&rid).await;
    let justification = r["approvalJustification"].as_str().unwrap();
    assert!(
        justification.starts_with("Not during the change freeze.\n\nAnn"),
        "{justification}"
    );
    assert!(justification.contains(&ann.address), "{justification}");
    assert!(
        !justification.contains("rb-"),
        "the quote is not the text: {justification}"
    );

    // Bob gets the follow-up, threaded under his notification; Ann her confirmation.
    let bob_mail = wait_count(&w.stack, &bob.address, "INBOX", 2).await;
    let followups = of_kind(&bob_mail, MailKind::Followup);
    assert_eq!(followups.len(), 1);
    let f = followups[0];
    assert_eq!(
        f.header("In-Reply-To"),
        Some(format!("<notify.{}@{domain}>", key_of(&bob_mail[0])))
    );
    let body = f.body_text();
    assert!(
        body.contains(&format!(
            "was rejected by {} with an e-mail reply",
            ann.address
        )),
        "{body}"
    );
    let ann_mail = wait_count(&w.stack, &ann.address, "INBOX", 2).await;
    // A few more polls: nothing else arrives for anyone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ann_mail_now = mail_of(&w.stack, &ann).await;
    assert_eq!(
        ann_mail_now.len(),
        ann_mail.len(),
        "Ann: notification and confirmation only"
    );
    assert!(of_kind(&ann_mail_now, MailKind::Followup).is_empty());
    let confirmation = ann_mail_now
        .iter()
        .find(|m| {
            m.parsed()
                .message_id()
                .is_some_and(|id| id.starts_with("reply."))
        })
        .expect("Ann's confirmation");
    assert!(confirmation.body_text().contains("has been rejected"));
    assert_eq!(mail_of(&w.stack, &bob).await.len(), 2);
    assert!(
        mail_of(&w.stack, &dana).await.is_empty(),
        "the requester is never told"
    );
    assert_eq!(w.folder("Processed").await.len(), 1, "the reply is filed");
    let rejects = w.calls("reject").await;
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    // The notifier stops with the service.
    let status = daemon.term(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
}

/// SPEC §7: at most one notification per (request, recipient) across `kill -9`, except a resend
/// of the one in flight with the same Message-ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_announcing_sends_no_second_notification() {
    let seed: u64 = std::env::var("RB_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("notifier kill test: RB_KILL_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let w = World::new("notify-kill").await;
    let log = w.dir.path().join("bridge.log");
    let approvers: Vec<Person> = (0..10)
        .map(|i| Person::new(&format!("kapprover{i}"), &format!("Approver {i}")))
        .collect();
    let dana = Person::new("kdana", "Dana Requester");
    let refs: Vec<&Person> = approvers.iter().collect();
    directory(&w.sim, &refs, &[&dana]).await;
    let ids: Vec<String> = (0..3).map(|_| new_id()).collect();
    for id in &ids {
        w.sim.seed(request(id, &dana, 24 * 3600)).await;
    }
    // Slow directory reads, so that kills land while planning too.
    w.sim
        .fault(json!({"endpoint": "directory", "kind": "delay", "ms": 150, "count": 6}))
        .await;
    write_config(
        &w,
        None,
        "enabled = true\nresolve = \"approver-groups\"\npoll_interval_secs = 1\ndirectory_cache_secs = 0",
        "",
    );
    let expected = approvers.len() * ids.len();
    let delivered = |w: &World| -> usize {
        approvers
            .iter()
            .map(|a| w.stack.count(&a.address, "INBOX"))
            .sum()
    };
    let mut kills = 0;
    while kills < 12 && delivered(&w) < expected {
        let mut d = Daemon::spawn(&w, &log);
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..900))).await;
        d.kill9();
        kills += 1;
    }
    let _d = Daemon::spawn(&w, &log);
    wait_for(
        "every notification delivered",
        &log,
        Duration::from_secs(60),
        async || delivered(&w) >= expected,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut duplicates = 0;
    for a in &approvers {
        let found = mail_of(&w.stack, a).await;
        let notes = of_kind(&found, MailKind::Notification);
        let mut ids_seen: Vec<String> = notes
            .iter()
            .map(|f| f.parsed().message_id().unwrap().to_string())
            .collect();
        let copies = ids_seen.len();
        ids_seen.sort();
        ids_seen.dedup();
        assert_eq!(
            ids_seen.len(),
            ids.len(),
            "{}: one notification per request, got {ids_seen:?}",
            a.address
        );
        for id in &ids {
            let about: Vec<_> = notes
                .iter()
                .filter(|f| {
                    f.parsed()
                        .subject()
                        .unwrap_or_default()
                        .contains(id.as_str())
                })
                .map(|f| f.parsed().message_id().unwrap().to_string())
                .collect();
            let mut distinct = about.clone();
            distinct.dedup();
            assert_eq!(distinct.len(), 1, "{}: request {id}: {about:?}", a.address);
        }
        duplicates += copies - ids_seen.len();
    }
    eprintln!("notifier kill test: {kills} kills, {duplicates} resends of a mail in flight");
    assert!(
        duplicates <= kills,
        "{duplicates} duplicates for {kills} kills"
    );
    assert!(mail_of(&w.stack, &dana).await.is_empty());
    for id in &ids {
        let states = support::journal::mail_states(&w.state, id);
        assert_eq!(states.len(), approvers.len(), "{id}");
        assert!(states.iter().all(|s| *s == MailState::Sent), "{states:?}");
    }
}

/// SPEC §7: a Graph outage or an SMTP outage delays notifications and never loses or repeats
/// one; a request that expires during an outage is never announced. `references-only` mode,
/// recipients listed in the config, the requester recognised through the directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_delay_mail_and_expired_requests_are_never_announced() {
    let w = World::new("notify-outage").await;
    let (ann, bob, dana) = cast("o");
    directory(&w.sim, &[&ann, &bob], &[&dana]).await;
    let listed = format!(
        "enabled = true\nrecipients = [\"{}\", \"{}\", \"{}\"]\nreply_key = \"references-only\"",
        ann.address, bob.address, dana.address
    );
    write_config(&w, None, &listed, "");
    let (a, b, c) = (new_id(), new_id(), new_id());
    w.sim
        .seed(json!([request(&a, &dana, 3600), request(&b, &dana, 3600)]))
        .await;

    // Graph answers 503 to every list: nothing is planned, nothing sent.
    w.sim
        .fault(json!({"endpoint": "list", "kind": "status", "status": 503, "count": 1000}))
        .await;
    // Meanwhile request C appears and expires.
    w.sim.seed(request(&c, &dana, 3600)).await;
    w.sim
        .post(&format!("/_sim/requests/{c}/expire"), json!({}))
        .await;
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("notifier poll failed"),
        "{}",
        out.stderr
    );
    let j = Journal::open_read_only(&w.state).unwrap();
    assert!(j.pending_mails().unwrap().is_empty());
    drop(j);

    // Graph back, SMTP unreachable: the notifications are planned and wait.
    w.sim
        .http()
        .delete(format!("{}/_sim/faults", w.sim.url))
        .send()
        .await
        .unwrap();
    write_config(&w, Some(closed_port()), &listed, "");
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let j = Journal::open_read_only(&w.state).unwrap();
    let pending = j.pending_mails().unwrap();
    let mut planned: Vec<(String, String)> = pending
        .iter()
        .map(|m| (m.request_id.clone(), m.recipient.clone()))
        .collect();
    planned.sort();
    let mut want = vec![
        (a.clone(), ann.address.clone()),
        (a.clone(), bob.address.clone()),
        (b.clone(), ann.address.clone()),
        (b.clone(), bob.address.clone()),
    ];
    want.sort();
    assert_eq!(planned, want, "C expired, Dana asked: neither is planned");
    assert!(pending.iter().all(|m| m.attempts <= 1));
    drop(j);
    assert!(mail_of(&w.stack, &ann).await.is_empty());

    // A expires while SMTP is away; SMTP comes back: B goes out, A never.
    w.sim
        .post(&format!("/_sim/requests/{a}/expire"), json!({}))
        .await;
    write_config(&w, None, &listed, "");
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for p in [&ann, &bob] {
        let m = wait_count(&w.stack, &p.address, "INBOX", 1).await;
        let subjects: Vec<String> = m
            .iter()
            .map(|f| f.parsed().subject().unwrap_or_default().to_string())
            .collect();
        assert_eq!(subjects.len(), 1, "{subjects:?}");
        assert!(subjects[0].contains(&b), "{subjects:?}");
        assert_eq!(
            reply_to_of(&m[0]),
            w.bridge,
            "references-only: no plus-address"
        );
    }
    assert!(
        support::journal::mail_states(&w.state, &a)
            .iter()
            .all(|s| *s == MailState::Dropped)
    );
    assert!(support::journal::mail_states(&w.state, &c).is_empty());

    // Nothing is repeated; B cancelled: one follow-up each, once.
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    w.sim
        .post(&format!("/_sim/requests/{b}/cancel"), json!({}))
        .await;
    for _ in 0..2 {
        let out = w.run(&["--once"]).await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
    }
    for p in [&ann, &bob] {
        let m = wait_count(&w.stack, &p.address, "INBOX", 2).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let m2 = mail_of(&w.stack, p).await;
        assert_eq!(m2.len(), m.len());
        assert_eq!(m2.len(), 2, "{}", p.address);
        let f = of_kind(&m2, MailKind::Followup);
        assert_eq!(f.len(), 1);
        assert!(f[0].body_text().contains("cancelled by the requester"));
    }
    assert!(mail_of(&w.stack, &dana).await.is_empty());
}

/// SPEC §7: one reminder before expiry to those who have not answered; a follow-up to all told
/// when it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_go_to_those_who_have_not_answered() {
    let w = World::new("notify-remind").await;
    let log = w.dir.path().join("bridge.log");
    let (ann, bob, dana) = cast("r");
    // The reminder window opens 12 s from now.
    let notify = format!("{GROUPS}\nremind_before_hours = 1");
    let rid = one_request(&w, &[&ann, &bob], &[&dana], &dana, 3600 + 12, &notify).await;
    let _d = Daemon::spawn(&w, &log);
    let bob_mail = wait_count(&w.stack, &bob.address, "INBOX", 1).await;
    wait_count(&w.stack, &ann.address, "INBOX", 1).await;
    // Bob answers (it reads like an approval: refused, but an answer all the same).
    let (to, raw) = client_reply(&bob, &bob_mail[0], "Approved, go ahead.");
    deliver(&w.stack, &bob.address, &to, raw.as_bytes()).await;
    wait_count(&w.stack, &bob.address, "INBOX", 2).await;

    let ann_mail = wait_count(&w.stack, &ann.address, "INBOX", 2).await;
    let reminders = of_kind(&ann_mail, MailKind::Reminder);
    assert_eq!(reminders.len(), 1, "Ann is reminded");
    assert!(
        reminders[0]
            .parsed()
            .subject()
            .unwrap()
            .starts_with("Reminder: Intune approval needed"),
    );
    let body = reminders[0].body_text();
    assert!(
        body.contains("expires in 59 minutes") || body.contains("expires in 60 minutes"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let bob_now = mail_of(&w.stack, &bob).await;
    assert!(
        of_kind(&bob_now, MailKind::Reminder).is_empty(),
        "Bob answered"
    );
    assert_eq!(
        of_kind(&mail_of(&w.stack, &ann).await, MailKind::Reminder).len(),
        1
    );

    // It expires: both get the follow-up, once.
    w.sim
        .post(&format!("/_sim/requests/{rid}/expire"), json!({}))
        .await;
    wait_count(&w.stack, &ann.address, "INBOX", 3).await;
    wait_count(&w.stack, &bob.address, "INBOX", 3).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for p in [&ann, &bob] {
        let m = mail_of(&w.stack, p).await;
        assert_eq!(m.len(), 3, "{}", p.address);
        let f = of_kind(&m, MailKind::Followup);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].body_text().contains("without a decision"),
            "{}",
            f[0].body_text()
        );
    }
}

/// SPEC §7 and §2: `parse` and `run --dry-run` resolve reply keys from the journal without
/// writing to it; a key wins over other IDs; `require_notification_reference` accepts only the
/// key's own recipient.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_and_dry_run_resolve_reply_keys_read_only() {
    let w = World::new("notify-parse").await;
    let (ann, bob, dana) = cast("p");
    let rid = one_request(&w, &[&ann, &bob], &[&dana], &dana, 3600, GROUPS).await;
    let out = w.run(&["--once"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let note = wait_count(&w.stack, &ann.address, "INBOX", 1)
        .await
        .remove(0);
    let key = key_of(&note);

    // A reply that kept neither the Reply-To nor the threading headers, only the quoted footer,
    // and names another request in its subject.
    let other = new_id();
    let footer_only = format!(
        "{AUTH_OK}\r\nFrom: Ann <{}>\r\nTo: {}\r\nSubject: about {other}\r\nMessage-ID: <{}@c.test>\r\n\r\nNo, not now.\r\n\r\n> Reply reference: rb-{key} (keep it in your reply)\r\n",
        ann.address,
        w.bridge,
        new_id()
    );
    let eml = w.dir.path().join("footer.eml");
    std::fs::write(&eml, &footer_only).unwrap();
    let files = |dir: &Path| -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let state_dir: PathBuf = w.state.parent().unwrap().to_path_buf();
    let before = files(&state_dir);
    let parse = |config: &Path, eml: &Path| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
            .args(["parse", "--json", "--config"])
            .arg(config)
            .arg(eml)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let d = parse(&w.config, &eml);
    assert_eq!(d["decision"], "reject", "{d}");
    assert_eq!(d["request_id"], rid.to_lowercase().as_str(), "{d}");
    assert_eq!(d["id_source"], "notification", "{d}");
    assert_eq!(files(&state_dir), before, "parse wrote nothing");

    // require_notification_reference: Bob replying with Ann's key is refused; Ann is not.
    write_config(&w, None, GROUPS, "require_notification_reference = true");
    let from_bob = footer_only.replace(
        &format!("Ann <{}>", ann.address),
        &format!("Bob <{}>", bob.address),
    );
    let eml_bob = w.dir.path().join("bob.eml");
    std::fs::write(&eml_bob, &from_bob).unwrap();
    assert_eq!(parse(&w.config, &eml_bob)["reason"], "unknown_notification");
    assert_eq!(parse(&w.config, &eml)["reason"], "ok");

    // run --dry-run: decides Ann's reply (delivered to the bridge) from the key, writes nothing,
    // sends nothing (the notifier does not run).
    w.deliver(&footer_only).await;
    w.wait_inbox(1).await;
    let before = files(&state_dir);
    let out = w.run(&["--dry-run"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains(&rid.to_lowercase()), "{}", out.stderr);
    assert!(
        out.stderr.contains("the notifier does not run"),
        "{}",
        out.stderr
    );
    assert_eq!(files(&state_dir), before, "a dry run wrote nothing");
    assert_eq!(w.calls("reject").await.len(), 0);
    assert_eq!(mail_of(&w.stack, &ann).await.len(), 1);
}

/// The Graph client reads policies, transitive members (nested groups, every page) and users.
#[tokio::test]
async fn graph_directory_reads_follow_pages_and_nested_groups() {
    let sim = Sim::start(&["--page-size", "1"]);
    let (ann, bob, cy) = cast("g");
    directory(&sim, &[&ann, &bob, &cy], &[]).await;
    let g = GraphClient::new(&sim.config()).unwrap();
    let policies = g.approval_policies().await.unwrap();
    assert_eq!(policies.len(), 2);
    let wipe = policies
        .iter()
        .find(|p| p.policy_type == "deviceWipe")
        .unwrap();
    assert_eq!(wipe.approver_group_ids, ["g-approvers"]);
    let mut members: Vec<String> = g
        .group_users("g-approvers")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.address().unwrap())
        .collect();
    members.sort();
    let mut want = vec![ann.address.clone(), bob.address.clone(), cy.address.clone()];
    want.sort();
    assert_eq!(members, want);
    let e = g.group_users("g-unused").await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(
        g.user(&bob.id).await.unwrap().display_name.as_deref(),
        Some("Bob Approver")
    );
    let calls = sim.calls_to("directory").await;
    assert!(calls.len() >= 4, "one call per page: {calls:?}");
    assert!(
        calls[0]["path"]
            .as_str()
            .unwrap()
            .contains("/transitiveMembers/microsoft.graph.user?$select="),
        "{calls:?}"
    );
}

/// `check` with `[notify] enabled`: one more line, saying what was read and who would be told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_who_would_be_told() {
    let w = World::new("notify-check").await;
    let (ann, mut outsider, dana) = cast("c");
    outsider.address = outsider.address.replace("@example.test", "@example.org");
    let rid = one_request(&w, &[&ann, &outsider], &[&dana], &dana, 3600, GROUPS).await;
    let out = Command::new(env!("CARGO_BIN_EXE_reject-bridge"))
        .args(["check", "--config"])
        .arg(&w.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(" notify: "))
        .unwrap_or_else(|| panic!("no notify line:\n{text}"));
    let (local, domain) = w.bridge.split_once('@').unwrap();
    assert_eq!(
        line,
        format!(
            "ok   notify: request list read (1 listed, 1 waiting for approval); 2 approval policy(ies), 2 approver group(s), 2 approver(s) with an address (1 not in approvers.allowed: never told); replies go to {local}+KEY@{domain}"
        )
    );
    assert_eq!(w.sim.request(&rid).await["status"], "needsApproval");
    assert!(!w.state.exists(), "check writes no journal");
    assert!(
        mail_of(&w.stack, &ann).await.is_empty(),
        "check sends nothing"
    );
}
