//! Tests of loading a configuration: defaults, required and unknown keys, bad values named by
//! their keys, environment overrides, secrets kept out of messages, and the cross-section rules.
//! `MINIMAL` and `load` are shared with the `[notify]` tests.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

pub(super) const MINIMAL: &str = r#"
[imap]
host = "127.0.0.1"
username = "bridge@example.test"
password = "pw"
[smtp]
host = "127.0.0.1"
from = "Approvals <bridge@example.test>"
[graph]
tenant_id = "t"
client_id = "c"
client_secret = "s3cret-value"
[approvers]
allowed = ["alice@example.test", "@Example.org"]
trusted_authserv_id = "mx.example.test"
"#;

pub(super) fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    Config::from_parts(
        Path::new("test.toml"),
        text,
        Path::new("/etc/rb"),
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

fn errors(text: &str, env: &[(&str, &str)]) -> Vec<String> {
    load(text, env).expect_err("config should be refused").0
}

#[test]
fn minimal_config_gets_defaults() {
    let c = load(MINIMAL, &[]).unwrap();
    assert_eq!(c.imap.port, 993);
    assert_eq!(c.imap.tls, TlsMode::Implicit);
    assert_eq!(c.smtp.port, 587);
    assert_eq!(c.smtp.from_address, "bridge@example.test");
    assert_eq!(c.graph.scope, "https://graph.microsoft.com/.default");
    assert_eq!(c.graph.retry_max, Duration::from_secs(600));
    assert_eq!(
        c.state.path,
        PathBuf::from("/etc/rb/state/reject-bridge.db")
    );
    assert!(c.approvers.allows("ALICE@example.test"));
    assert!(c.approvers.allows("bob@example.org"));
    assert!(!c.approvers.allows("bob@sub.example.org"));
    assert!(!c.approvers.allows("bob@example.test"));
    assert_eq!(c.approvers.approval_words.len(), 21);
    assert_eq!(c.approvers.assent_words.len(), 32);
    assert_eq!(c.approvers.rejection_words.len(), 43);
    assert_eq!(c.approvers.max_age, Some(Duration::from_secs(14 * 86_400)));
    assert_eq!(c.approvers.max_replies_per_hour, Some(20));
    assert_eq!(c.imap.poison_attempts, 3);
    assert_eq!(c.state.retention, Some(Duration::from_secs(400 * 86_400)));
}

#[test]
fn missing_required_keys_are_all_named() {
    let errs = errors("[imap]\nport = 993\n", &[]);
    for key in [
        "imap.host",
        "imap.username",
        "smtp.host",
        "smtp.from",
        "graph.tenant_id",
        "graph.client_id",
        "graph.client_secret",
        "approvers.allowed",
        "approvers.trusted_authserv_id",
    ] {
        assert!(
            errs.iter().any(|e| e.starts_with(key)),
            "no error names {key}: {errs:?}"
        );
    }
}

#[test]
fn unknown_keys_and_sections_are_refused() {
    let text = format!("{MINIMAL}\n[extra]\na = 1\n");
    let text = text.replace("[smtp]\n", "[smtp]\nhots = \"x\"\n");
    let errs = errors(&text, &[]);
    assert!(errs.iter().any(|e| e.starts_with("extra: unknown section")));
    assert!(errs.iter().any(|e| e.starts_with("smtp.hots: unknown key")));
}

#[test]
fn bad_values_name_their_keys() {
    let text = MINIMAL
        .replace(
            "password = \"pw\"",
            "password = \"pw\"\nport = 0\ntls = \"ssl\"",
        )
        .replace(
            "tenant_id = \"t\"",
            "tenant_id = \"t\"\nrequest_id_pattern = \"([\"",
        );
    let errs = errors(&text, &[]);
    assert!(errs.iter().any(|e| e.starts_with("imap.port:")), "{errs:?}");
    assert!(errs.iter().any(|e| e.starts_with("imap.tls:")), "{errs:?}");
    assert!(
        errs.iter()
            .any(|e| e.starts_with("graph.request_id_pattern:")),
        "{errs:?}"
    );
}

#[test]
fn tls_none_only_on_loopback() {
    let text = MINIMAL.replace(
        "host = \"127.0.0.1\"\nusername",
        "host = \"imap.example.test\"\ntls = \"none\"\nusername",
    );
    let errs = errors(&text, &[]);
    assert!(errs.iter().any(|e| e.starts_with("imap.tls:")), "{errs:?}");
    let ok = MINIMAL.replace("username = \"bridge", "tls = \"none\"\nusername = \"bridge");
    assert_eq!(load(&ok, &[]).unwrap().imap.tls, TlsMode::None);
}

#[test]
fn environment_overrides_apply_with_types() {
    let c = load(
        MINIMAL,
        &[
            ("REJECT_BRIDGE__IMAP__PORT", "1143"),
            ("REJECT_BRIDGE__IMAP__IDLE", "false"),
            ("REJECT_BRIDGE__APPROVERS__ALLOWED", "[\"@example.net\"]"),
            ("REJECT_BRIDGE__GRAPH__CLIENT_SECRET", "from-env"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(c.imap.port, 1143);
    assert!(!c.imap.idle);
    assert!(c.approvers.allows("x@example.net"));
    assert!(!c.approvers.allows("alice@example.test"));
    match c.graph.credential {
        Some(GraphCredential::ClientSecret(s)) => assert_eq!(s.expose(), "from-env"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn bad_environment_overrides_are_named() {
    let errs = errors(
        MINIMAL,
        &[
            ("REJECT_BRIDGE__IMAP__PORTS", "1"),
            ("REJECT_BRIDGE__IMAP__PORT", "abc"),
            ("REJECT_BRIDGE__APPROVERS__ALLOWED", "@x"),
            ("REJECT_BRIDGE__NOPE", "1"),
        ],
    );
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(
        errs.iter()
            .any(|e| e.starts_with("REJECT_BRIDGE__IMAP__PORTS:"))
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("REJECT_BRIDGE__IMAP__PORT:"))
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("REJECT_BRIDGE__APPROVERS__ALLOWED:"))
    );
    assert!(errs.iter().any(|e| e.starts_with("REJECT_BRIDGE__NOPE:")));
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    let text = MINIMAL.replace("port", "x");
    let c = load(&text, &[]).unwrap();
    assert!(!format!("{c:?}").contains("s3cret-value"));
    let bad = MINIMAL.replace(
        "client_secret = \"s3cret-value\"",
        "client_secret = \"s3cret-value\"\ncertificate_path = \"/nonexistent\"",
    );
    let errs = errors(&bad, &[]);
    assert!(!errs.iter().any(|e| e.contains("s3cret-value")));
}

#[test]
fn credentials_are_exclusive_and_complete() {
    let none = MINIMAL.replace("client_secret = \"s3cret-value\"\n", "");
    assert!(
        errors(&none, &[])
            .iter()
            .any(|e| e.starts_with("graph.client_secret:"))
    );
    let delegated = none.replace(
        "client_id = \"c\"",
        "client_id = \"c\"\nauth = \"delegated\"",
    );
    let c = load(&delegated, &[]).unwrap();
    assert_eq!(c.graph.auth, GraphAuth::Delegated);
    assert!(c.graph.credential.is_none(), "a public client");
    // A confidential client signs in with its secret.
    let confidential = MINIMAL.replace(
        "client_id = \"c\"",
        "client_id = \"c\"\nauth = \"delegated\"",
    );
    let c = load(&confidential, &[]).unwrap();
    assert_eq!(c.graph.auth, GraphAuth::Delegated);
    assert!(matches!(
        c.graph.credential,
        Some(GraphCredential::ClientSecret(_))
    ));
}

#[test]
fn xoauth2_needs_an_app_credential_even_when_decisions_are_delegated() {
    let text = MINIMAL
        .replace("client_secret = \"s3cret-value\"\n", "")
        .replace(
            "client_id = \"c\"",
            "client_id = \"c\"\nauth = \"delegated\"",
        )
        .replace("[smtp]", "auth = \"xoauth2\"\n[smtp]");
    let errs = errors(&text, &[]);
    assert!(errs.iter().any(|e| e.starts_with("imap.auth:")), "{errs:?}");
}

#[test]
fn delegated_keys_have_defaults_and_are_checked() {
    let c = load(MINIMAL, &[]).unwrap();
    assert_eq!(
        c.graph.delegated_scopes,
        vec!["https://graph.microsoft.com/DeviceManagementConfiguration.ReadWrite.All"]
    );
    assert_eq!(c.graph.keepalive, Duration::from_secs(24 * 3600));
    assert_eq!(c.graph.act_as, ActAs::ServiceAccount);
    assert_eq!(
        c.state.key_file,
        c.state.path.with_file_name("reject-bridge.key")
    );
    assert!(c.alerts.to.is_empty());
    let us = MINIMAL.replace(
        "client_id = \"c\"",
        "client_id = \"c\"\nbase_url = \"https://graph.microsoft.us/beta\"\ndelegated_scopes = [\"A.Read\", \"https://x.test/B\"]",
    );
    assert_eq!(
        load(&us, &[]).unwrap().graph.delegated_scopes,
        vec!["https://graph.microsoft.us/A.Read", "https://x.test/B"]
    );
    let bad = format!(
        "{}[alerts]\nto = [\"nobody\"]\n[web]\nlisten = \"x\"\n",
        MINIMAL.replace(
            "client_id = \"c\"",
            "client_id = \"c\"\nkeepalive_hours = 0\nact_as = \"approver\"\ndelegated_scopes = []"
        )
    );
    let errs = errors(&bad, &[("REJECT_BRIDGE__STATE__KEY", "short")]);
    for key in [
        "graph.keepalive_hours:",
        "graph.act_as:",
        "graph.delegated_scopes:",
        "alerts.to:",
        "web.listen:",
        "web.public_url:",
        "state.key:",
    ] {
        assert!(errs.iter().any(|e| e.starts_with(key)), "{key} in {errs:?}");
    }
    assert!(
        !errs.iter().any(|e| e.contains("short")),
        "the key's value is never shown"
    );
}

#[test]
fn metrics_listen_is_off_by_default_and_must_be_a_socket_address() {
    assert_eq!(load(MINIMAL, &[]).unwrap().metrics.listen, None);
    let on = format!("{MINIMAL}[metrics]\nlisten = \"127.0.0.1:9464\"\n");
    assert_eq!(
        load(&on, &[]).unwrap().metrics.listen,
        Some("127.0.0.1:9464".parse().unwrap())
    );
    let off = format!("{MINIMAL}[metrics]\nlisten = \"\"\n");
    assert_eq!(load(&off, &[]).unwrap().metrics.listen, None);
    let env = load(MINIMAL, &[("REJECT_BRIDGE__METRICS__LISTEN", "[::1]:9000")]).unwrap();
    assert_eq!(env.metrics.listen, Some("[::1]:9000".parse().unwrap()));
    for bad in ["localhost:9464", "9464", "127.0.0.1", "127.0.0.1:99999"] {
        let text = format!("{MINIMAL}[metrics]\nlisten = \"{bad}\"\n");
        let errs = errors(&text, &[]);
        assert!(
            errs.iter().any(|e| e.starts_with("metrics.listen:")),
            "{bad}: {errs:?}"
        );
    }
}

#[test]
fn graph_over_plain_http_only_on_loopback() {
    for (key, url) in [
        ("base_url", "http://graph.example.test/beta"),
        ("authority", "http://login.example.test"),
    ] {
        let text = MINIMAL.replace(
            "tenant_id = \"t\"",
            &format!("tenant_id = \"t\"\n{key} = \"{url}\""),
        );
        let errs = errors(&text, &[]);
        assert!(
            errs.iter()
                .any(|e| e.starts_with(&format!("graph.{key}:")) && e.contains("loopback")),
            "{errs:?}"
        );
    }
    let local = MINIMAL.replace(
        "tenant_id = \"t\"",
        "tenant_id = \"t\"\nbase_url = \"http://127.0.0.1:8080/beta\"\nauthority = \"http://[::1]:8080\"",
    );
    assert_eq!(
        load(&local, &[]).unwrap().graph.base_url,
        "http://127.0.0.1:8080/beta"
    );
}

#[test]
fn hostile_mail_keys_have_defaults_ranges_and_an_off_switch() {
    let text = MINIMAL
        .replace(
            "password = \"pw\"",
            "password = \"pw\"\npoison_attempts = 0\nread_memory_mib = 1",
        )
        .replace(
            "[approvers]\n",
            "[approvers]\nmax_age_days = -1\nrejection_words = [\"\"]\n",
        );
    let errs = errors(&text, &[]);
    for key in [
        "imap.poison_attempts",
        "imap.read_memory_mib",
        "approvers.max_age_days",
        "approvers.rejection_words",
    ] {
        assert!(errs.iter().any(|e| e.starts_with(key)), "{key}: {errs:?}");
    }
    let off = MINIMAL.replace(
        "[approvers]\n",
        "[approvers]\nmax_age_days = 0\nmax_replies_per_hour = 0\nassent_words = [\"Jo\"]\n",
    ) + "[state]\nretention_days = 0\n";
    let c = load(&off, &[]).unwrap();
    assert_eq!(c.approvers.max_age, None);
    assert_eq!(c.approvers.max_replies_per_hour, None);
    assert_eq!(c.approvers.assent_words, vec!["jo".to_string()]);
    assert_eq!(c.state.retention, None);
    assert_eq!(c.imap.read_budget.memory, 512 * 1024 * 1024);
}

#[test]
fn the_example_config_documents_the_hostile_mail_keys_and_loads() {
    let text = include_str!("../../config/example.toml");
    let c = load(text, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.imap.poison_attempts, 3);
    assert_eq!(c.approvers.rejection_words.len(), 43);
    for key in [
        "poison_attempts",
        "read_cpu_secs",
        "read_memory_mib",
        "max_age_days",
        "max_replies_per_hour",
        "assent_words",
        "rejection_words",
        "retention_days",
    ] {
        assert!(
            text.contains(&format!("\n{key} = ")),
            "{key} is not in config/example.toml"
        );
    }
}

#[test]
fn addresses_fold_case_in_ascii_only() {
    let text = MINIMAL.replace("\"@Example.org\"", "\"@KONTOSO.test\"");
    let c = load(&text, &[]).unwrap();
    assert!(c.approvers.allows("bob@kontoso.TEST"));
    // U+212A KELVIN SIGN lower-cases to `k` in Unicode, never here.
    assert!(!c.approvers.allows("bob@\u{212A}ontoso.test"));
}

#[test]
fn toml_syntax_error_gives_a_line() {
    let errs = errors("[imap]\nhost = \n", &[]);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("line 2"), "{errs:?}");
}

#[test]
fn trusted_authserv_id_needed_only_when_used() {
    let text = MINIMAL.replace("trusted_authserv_id = \"mx.example.test\"\n", "");
    assert!(
        errors(&text, &[])
            .iter()
            .any(|e| e.starts_with("approvers.trusted_authserv_id"))
    );
    let eo = text.replace(
        "[approvers]\n",
        "[approvers]\nauthentication = \"exchange-online\"\n",
    );
    assert!(load(&eo, &[]).is_ok());
    let off = text.replace(
        "[approvers]\n",
        "[approvers]\nrequire_authentication = false\n",
    );
    assert!(load(&off, &[]).is_ok());
}
