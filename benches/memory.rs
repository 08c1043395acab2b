//! Peak heap use of reading one message (`incoming::read` + `decide`), measured with a counting
//! allocator: a typical 5 KB reply against a 10 MB message with an attachment. Shows that memory
//! grows with the message (the raw bytes plus the decoded text part), not beyond it.
//!
//! Run: `cargo bench --bench memory` (prints the figures; not a test).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use reject_bridge::config::Config;
use reject_bridge::decide::{self, Policy};
use reject_bridge::read::incoming;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ID: &str = "3f2a9c1e-7b4d-4e8a-9f01-2c3d4e5f6a7b";

/// The golden tests' policy (authentication required, `@example.test` allowed).
fn policy() -> Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config.toml");
    Policy::from_config(&Config::load(&path).expect("the fixtures' config loads"))
}

fn reply(attachment_bytes: usize) -> Vec<u8> {
    let mut quoted = String::new();
    while quoted.len() < 4000 {
        quoted
            .push_str("> The request to wipe device LT-0042 needs your approval before it runs.\n");
    }
    let mut m = format!(
        "Authentication-Results: mx.example.test; dmarc=pass header.from=example.test\r\n\
         From: Alice <alice@example.test>\r\nTo: bridge@example.test\r\n\
         Subject: RE: Approval needed ({ID})\r\nMessage-ID: <bench@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Not during the freeze, please.\r\n\r\nOn Mon, Alice wrote:\r\n{quoted}\r\n"
    )
    .into_bytes();
    if attachment_bytes > 0 {
        let data = vec![0x5au8; attachment_bytes * 3 / 4];
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        m.extend_from_slice(
            b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\
              Content-Disposition: attachment; filename=\"log.pdf\"\r\n\r\n",
        );
        for chunk in b64.as_bytes().chunks(76) {
            m.extend_from_slice(chunk);
            m.extend_from_slice(b"\r\n");
        }
    }
    m.extend_from_slice(b"--b--\r\n");
    m
}

fn measure(raw: &[u8], policy: &Policy) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = incoming::read(raw);
    let d = decide::decide(&r, None, policy);
    assert_eq!(d.reason, reject_bridge::model::Reason::Ok);
    drop((r, d));
    PEAK.load(Ordering::Relaxed) - base
}

fn main() {
    let policy = policy();
    let small = reply(0);
    let big = reply(10 * 1024 * 1024);
    // Warm up: the reader's patterns are compiled once, on first use; that is not per message.
    measure(&small, &policy);
    let small_peak = measure(&small, &policy);
    let big_peak = measure(&big, &policy);
    println!(
        "typical reply: {:>9} bytes, peak heap while reading {:>10} bytes ({:.1}x the message)",
        small.len(),
        small_peak,
        small_peak as f64 / small.len() as f64
    );
    println!(
        "10 MB + attachment: {:>9} bytes, peak heap while reading {:>10} bytes ({:.2}x the message)",
        big.len(),
        big_peak,
        big_peak as f64 / big.len() as f64
    );
}
