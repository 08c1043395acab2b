//! Unit tests of [`crate::state`].

use super::*;
use serde_json::json;

fn sim() -> SimState {
    let settings = Settings {
        tenant: "t".into(),
        client_id: "c".into(),
        client_secret: None,
        certificates: Vec::new(),
        token_lifetime: Duration::from_secs(60),
        page_size: 10,
        any_audience: false,
        mailbox_user: None,
        mail_scope: String::new(),
        decisions_delegated_only: true,
        public_client: true,
        redirect_uris: Vec::new(),
        user_password: String::new(),
    };
    let update: directory::Update = serde_json::from_value(json!({
        "users": [{"id": "u1", "userPrincipalName": "ann@example.test", "displayName": "Ann"}]
    }))
    .unwrap();
    SimState::new(settings, vec![json!({"id": "R1"}), json!({"id": "r2"})])
        .unwrap()
        .with_directory(update)
        .unwrap()
}

#[test]
fn requests_change_status_as_in_the_portal() {
    let mut s = sim();
    let r = s
        .change_request("r1", "approve", Some("U1"), Some("fine"))
        .unwrap();
    assert_eq!(r["status"], "approved");
    assert_eq!(r["approver"]["user"]["displayName"], "Ann");
    assert_eq!(r["approvalJustification"], "fine");
    let e = s.change_request("r1", "cancel", None, None).unwrap_err();
    assert_eq!(e.0, 409, "{}", e.1);
    assert_eq!(
        s.change_request("r1", "complete", None, None).unwrap()["status"],
        "completed"
    );
    let r = s.change_request("r2", "expire", None, None).unwrap();
    assert_eq!(r["status"], "expired");
    assert!(r["expirationDateTime"].as_str().unwrap() <= iso8601(SystemTime::now()).as_str());
    assert_eq!(
        s.change_request("r3", "cancel", None, None).unwrap_err().0,
        404
    );
    assert_eq!(
        s.change_request("r2", "wave", None, None).unwrap_err().0,
        404
    );
    let e = s.change_request("r2", "approve", Some("ghost"), None);
    assert!(e.is_err());
}

#[test]
fn reset_restores_the_seeded_directory() {
    let mut s = sim();
    let more: directory::Update = serde_json::from_value(json!({
        "users": [{"id": "u2", "userPrincipalName": "b@example.test", "displayName": "B"}]
    }))
    .unwrap();
    s.directory.apply(more).unwrap();
    assert!(s.directory.user("u2").is_some());
    s.reset();
    assert!(s.directory.user("u2").is_none());
    assert!(s.directory.user("u1").is_some());
}

#[test]
fn iso8601_dates() {
    assert_eq!(iso8601(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_096);
    assert_eq!(iso8601(t), "2024-02-29T12:34:56Z");
}
