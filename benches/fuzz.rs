//! The fuzz harness (tests/support/fuzz.rs) for as long as asked: generated messages through
//! `incoming::read`, the reader and `decide` under two policies, every property checked, panics
//! caught. What fails is written to `tests/fixtures/crashers/` (named by a hash of its bytes) to
//! become a regression fixture; the slowest case per byte is reported, so a path that grows
//! faster than the input shows even when nothing fails.
//!
//! Run: `RB_FUZZ_SECS=600 cargo bench --bench fuzz` (default 60 s). Exits 1 when a case failed.
//! The slowest case is left in `target/fuzz-slowest.eml`.

#[path = "../tests/support/hostile.rs"]
#[allow(dead_code)]
mod hostile;

#[path = "../tests/support/fuzz.rs"]
#[allow(dead_code)]
mod fuzz;

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use reject_bridge::config::Config;
use reject_bridge::decide::Policy;

fn main() {
    // `cargo test --all-targets` runs benchmarks too, without `--bench`: then two seconds.
    let default_secs = if std::env::args().any(|a| a == "--bench") {
        60
    } else {
        2
    };
    let secs: u64 = std::env::var("RB_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_secs);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let strict = Policy::from_config(
        &Config::load(&root.join("tests/fixtures/config.toml")).expect("the fixtures' config"),
    );
    let mut open = strict.clone();
    open.approvers.require_authentication = false;
    let policies = [strict, open];
    let crashers = root.join("tests/fixtures/crashers");

    std::panic::set_hook(Box::new(|_| {}));
    let strategy = fuzz::any_message();
    let mut runner = TestRunner::deterministic();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut cases, mut bytes, mut failed) = (0u64, 0u64, 0u64);
    let mut slowest = (Duration::ZERO, 0usize);
    let mut worst_per_kb = (0.0f64, 0usize);
    while Instant::now() < deadline {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let raw = tree.current();
        let start = Instant::now();
        let result =
            std::panic::catch_unwind(|| policies.iter().try_for_each(|p| fuzz::check(&raw, p)));
        let took = start.elapsed();
        cases += 1;
        bytes += raw.len() as u64;
        if took > slowest.0 {
            slowest = (took, raw.len());
            // Kept for a look: what was slowest so far.
            let _ = std::fs::write(root.join("target/fuzz-slowest.eml"), &raw);
        }
        let per_kb = took.as_secs_f64() * 1e6 / (raw.len().max(1024) as f64 / 1024.0);
        if per_kb > worst_per_kb.0 {
            worst_per_kb = (per_kb, raw.len());
        }
        let broken = match result {
            Ok(Ok(())) => continue,
            Ok(Err(why)) => why,
            Err(panic) => format!(
                "panicked: {}",
                panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            ),
        };
        failed += 1;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        raw.hash(&mut h);
        let path = crashers.join(format!("found-{:016x}.eml", h.finish()));
        let _ = std::fs::write(&path, &raw);
        println!("FAILED ({broken}): kept as {}", path.display());
    }
    println!(
        "{cases} cases, {:.1} MB, {failed} failed; slowest {:.1} ms ({} bytes); worst {:.0} µs per KB ({} bytes)",
        bytes as f64 / 1e6,
        slowest.0.as_secs_f64() * 1000.0,
        slowest.1,
        worst_per_kb.0,
        worst_per_kb.1
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
