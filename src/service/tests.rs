//! Unit tests of [`crate::service`].

use super::*;

#[test]
fn what_is_built_from_the_config_is_checked_naming_its_key() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let text = std::fs::read_to_string(root.join("config.toml")).unwrap();
    let load = |text: &str| {
        Config::from_parts(&root.join("config.toml"), text, &root, Vec::new()).unwrap()
    };
    assert!(built_from_config(&load(&text)).is_ok());

    let templates = tempfile::tempdir().unwrap();
    let bad = templates.path().join("notify_followup.txt");
    std::fs::write(&bad, "{{ decided_bye }}").unwrap();
    let text = text
        .replace(
            "[graph]\n",
            "[graph]\njustification_template = \"{% if %}\"\n",
        )
        .replace(
            "[smtp]\n",
            &format!("[smtp]\ntemplates_dir = {:?}\n", templates.path()),
        );
    let problems = built_from_config(&load(&text)).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("smtp.templates_dir: "),
        "{problems:?}"
    );
    assert!(
        problems[0].contains(&bad.display().to_string()),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("graph.justification_template: "),
        "{problems:?}"
    );
}

#[test]
fn idle_is_reissued_at_the_poll_interval_capped() {
    let s = Duration::from_secs;
    assert_eq!(wait_between_passes(s(60), true), s(60));
    assert_eq!(wait_between_passes(s(3600), true), IDLE_REISSUE);
    assert_eq!(wait_between_passes(s(3600), false), s(3600));
}

#[test]
fn watchdog_allows_the_wait_and_an_answer() {
    let s = Duration::from_secs;
    assert_eq!(watchdog_limit(s(300), s(60)), s(420));
    assert!(watchdog_limit(s(1), s(1)) > s(2));
}

#[test]
fn jitter_stays_within_a_quarter() {
    for _ in 0..100 {
        let j = jittered(Duration::from_secs(4));
        assert!(
            j >= Duration::from_secs(3) && j <= Duration::from_secs(5),
            "{j:?}"
        );
    }
}
