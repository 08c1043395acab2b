//! Issue 12's "done when": the daemon (`reject-bridge run`), fed every hostile shape in one
//! mailbox — each as an unauthenticated stranger could send it, at the size that once hurt —
//! followed by a normal reply, stays up, files each hostile message, and rejects the normal one.
//! Its peak RSS stays under 64 MiB, and no message's reading takes over 2 s of CPU or 64 MiB.
//! The real binary, Dovecot, Postfix and a graph-sim, as in tests/daemon.rs.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::hostile::{self, SHAPES};
use support::mail::{Msg, approver_mail};
use support::process::spawn_bridge;
use support::stack::unique;
use support::world::World;

/// The daemon's own peak memory may not pass this.
const MAX_RSS_KIB: u64 = 64 * 1024;
/// No message's reading may take more CPU than this…
const MAX_READ_CPU_MS: u64 = 2_000;
/// …or more memory.
const MAX_READ_PEAK_KIB: u64 = 64 * 1024;

/// A value `key=NUMBER` of a log line.
fn field(line: &str, key: &str) -> Option<u64> {
    let at = line.find(&format!("{key}="))? + key.len() + 1;
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// `/proc/PID/status`'s value of `key`, in KiB.
fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The 3,000-part message of the issue, over `imap.max_message_bytes` (a 2 MB attachment), so
/// the bridge fetches its text parts only.
fn many_parts_over_the_cap(from: &str, to: &str) -> String {
    let shape = hostile::shape("many_mime_parts");
    let msg = hostile::message(&shape, 3_000, from, to, false);
    let attachment = format!(
        "--{b}\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=x.bin\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--{b}--\r\n",
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n".repeat(60_000),
        b = hostile::BOUNDARY
    );
    msg.replacen(&format!("--{}--\r\n", hostile::BOUNDARY), &attachment, 1)
}

#[tokio::test]
async fn every_hostile_shape_at_once_then_a_normal_reply() {
    let w = World::new("hostile").await;
    let id = uuid::Uuid::new_v4().to_string();
    w.sim
        .seed(json!({"id": id, "status": "needsApproval"}))
        .await;
    let stranger = "mallory@evil.test";

    // Every shape at the size that once hurt, and a few at the exact sizes.
    let mut hostile_msgs: Vec<String> = SHAPES
        .iter()
        .map(|s| hostile::message(s, s.large, stranger, &w.bridge, false))
        .collect();
    let wide = hostile::shape("table_wide_cell");
    hostile_msgs.push(hostile::message(&wide, 10_000, stranger, &w.bridge, false)); // ~108 KB
    let divs = hostile::shape("div_unclosed_x");
    hostile_msgs.push(hostile::message(&divs, 215_000, stranger, &w.bridge, false)); // ~2 MB
    let ids = hostile::shape("many_request_ids");
    hostile_msgs.push(hostile::message(&ids, 50_000, stranger, &w.bridge, false));
    hostile_msgs.push(many_parts_over_the_cap(stranger, &w.bridge));
    for raw in &hostile_msgs {
        w.deliver(raw).await;
    }
    w.wait_inbox(hostile_msgs.len()).await;

    let log = w.dir.path().join("daemon.log");
    let mut daemon = spawn_bridge(&["run"], &w.config, &log);
    let pid = daemon.id();

    // The normal reply comes after all of them.
    let approver = unique("hostile-alice");
    let normal = Msg::new(
        &approver,
        &w.bridge,
        &format!("Re: Approval needed ({id})"),
        "Not this one: it was never planned.",
    );
    w.deliver(&normal.render()).await;

    let start = Instant::now();
    loop {
        let ignored = w.folder("Ignored").await.len();
        let processed = w.folder("Processed").await.len();
        if ignored == hostile_msgs.len() && processed == 1 {
            break;
        }
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "the daemon stopped:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "after 10 min: {ignored} of {} hostile messages filed, {processed} processed; log:\n{}",
            hostile_msgs.len(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Up, every hostile message filed as what it is (a stranger's), the normal one rejected
    // once and answered.
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "the daemon is still up"
    );
    assert!(w.folder("INBOX").await.is_empty());
    assert!(
        w.folder("Failed").await.is_empty(),
        "nothing had to be given up on"
    );
    assert_eq!(w.calls("reject").await.len(), 1);
    assert_eq!(w.sim.request(&id).await["status"], "rejected");
    assert_eq!(approver_mail(&w.stack, &approver, 1).await.len(), 1);

    // What it cost: the daemon's peak memory, and each message's reading.
    let rss = status_kib(pid, "VmHWM:");
    let text = std::fs::read_to_string(&log).unwrap();
    let reads: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("message read"))
        .collect();
    assert_eq!(reads.len(), hostile_msgs.len() + 1, "one reading each");
    for line in &reads {
        let cpu = field(line, "read_cpu_ms").expect("read_cpu_ms");
        let peak = field(line, "read_peak_kib").expect("read_peak_kib");
        assert!(cpu <= MAX_READ_CPU_MS, "{cpu} ms of CPU: {line}");
        assert!(peak <= MAX_READ_PEAK_KIB, "{peak} KiB: {line}");
    }
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert!(
        rss > 0 && rss <= MAX_RSS_KIB,
        "the daemon's peak RSS: {rss} KiB"
    );
    // The figures, for the record (`cargo test --test hostile_daemon -- --nocapture`).
    let mut costs: Vec<(u64, u64, u64)> = reads
        .iter()
        .filter_map(|l| {
            Some((
                field(l, "read_cpu_ms")?,
                field(l, "read_peak_kib")?,
                field(l, "bytes")?,
            ))
        })
        .collect();
    costs.sort();
    println!("daemon peak RSS {rss} KiB; readings (CPU ms, peak KiB, bytes), costliest last:");
    for (cpu, peak, bytes) in costs.iter().rev().take(5) {
        println!("  {cpu} ms, {peak} KiB, {bytes} bytes");
    }
}
