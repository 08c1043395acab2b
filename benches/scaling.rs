//! Reading time as the input doubles: every hostile shape of `tests/support/hostile.rs` goes
//! through `incoming::read` + `decide` at sizes n, 2n, 4n, 8n, and the time ratio of each
//! doubling is printed. Linear reading shows ratios near 2; a quadratic path shows near 4.
//! The last column says `LINEAR` when the largest doubling stays at or below 3, `CHECK` otherwise.
//!
//! Run: `cargo bench --bench scaling` (prints the figures; not a test: timings belong here, not in
//! the test suite). `RB_SCALING_SHAPE=name` runs one shape; `RB_SCALING_FACTOR=k` scales the
//! base sizes (default 1: the shapes' "large" size divided by 8 as n).

#[path = "../tests/support/hostile.rs"]
#[allow(dead_code)]
mod hostile;

use std::path::Path;
use std::time::{Duration, Instant};

use reject_bridge::config::Config;
use reject_bridge::decide::{self, Policy};
use reject_bridge::read::incoming;

fn policy() -> Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config.toml");
    Policy::from_config(&Config::load(&path).expect("the fixtures' config loads"))
}

/// The best of three runs (the least disturbed by other work on the machine).
fn time_read(raw: &[u8], policy: &Policy) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let reply = incoming::read(raw);
            let d = decide::decide(&reply, None, policy);
            std::hint::black_box(d);
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let policy = policy();
    let only = std::env::var("RB_SCALING_SHAPE").ok();
    // `cargo test --all-targets` runs benchmarks too, without `--bench`: then a smoke run at a
    // hundredth of the sizes, which still fails on a panic but takes seconds.
    let divisor = if std::env::args().any(|a| a == "--bench") {
        1
    } else {
        100
    };
    let factor: usize = std::env::var("RB_SCALING_FACTOR")
        .ok()
        .and_then(|f| f.parse().ok())
        .unwrap_or(1)
        .max(1);
    println!(
        "{:<30} {:>10} {:>12} {:>8} {:>8} {:>8}",
        "shape", "bytes(8n)", "time(8n)", "2n/n", "4n/2n", "8n/4n"
    );
    let mut worst = 0.0f64;
    for shape in hostile::SHAPES {
        if only.as_deref().is_some_and(|o| o != shape.name) {
            continue;
        }
        let base = (shape.large * factor / 8 / divisor).max(1);
        let mut times = Vec::new();
        let mut bytes = 0;
        for k in [1, 2, 4, 8] {
            let raw = hostile::message(
                shape,
                base * k,
                "alice@example.test",
                "bridge@example.test",
                true,
            );
            bytes = raw.len();
            times.push(time_read(raw.as_bytes(), &policy));
        }
        let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64().max(1e-6);
        let ratios: Vec<f64> = times.windows(2).map(|w| ratio(w[0], w[1])).collect();
        let last = ratios.last().copied().unwrap_or(0.0);
        worst = worst.max(last);
        println!(
            "{:<30} {:>10} {:>10.1}ms {:>8.2} {:>8.2} {:>8.2}  {}",
            shape.name,
            bytes,
            times[3].as_secs_f64() * 1000.0,
            ratios[0],
            ratios[1],
            ratios[2],
            if last <= 3.0 { "LINEAR" } else { "CHECK" }
        );
    }
    println!("largest last-doubling ratio: {worst:.2} (linear ≈ 2, quadratic ≈ 4)");
}
