//! The fuzz harness (tests/support/fuzz.rs) as a test: a few hundred generated messages per run
//! (mail grammar, mutated golden fixtures, hostile shapes, raw bytes) through `incoming::read`,
//! the reader and `decide`, under two policies (authentication required, and not, which lets
//! more messages reach rules 5–9); and every crasher kept in `tests/fixtures/crashers/`.
//! `cargo bench --bench fuzz` runs the same harness for as long as asked.

mod support;

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use reject_bridge::config::Config;
use reject_bridge::decide::Policy;
use support::fuzz::{any_message, check};

/// The golden tests' policy, and the same without sender authentication.
fn policies() -> &'static [Policy; 2] {
    static P: OnceLock<[Policy; 2]> = OnceLock::new();
    P.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config.toml");
        let strict = Policy::from_config(&Config::load(&path).expect("the fixtures' config"));
        let mut open = strict.clone();
        open.approvers.require_authentication = false;
        [strict, open]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_read_keeps_the_readers_properties(raw in any_message()) {
        for policy in policies() {
            if let Err(broken) = check(&raw, policy) {
                prop_assert!(false, "{broken}");
            }
        }
    }
}

#[test]
fn every_kept_crasher_reads_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crashers");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/crashers") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        for policy in policies() {
            check(&raw, policy).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        n += 1;
    }
    assert!(n >= 1, "no crasher kept in {}", dir.display());
}
