//! Unit tests of the Graph client: error bodies, the judgement of a request's state, URLs.

use super::http::parse_graph_error;
use super::requests::judge;
use super::*;

#[test]
fn graph_error_json_is_read() {
    let (code, message, rid) = parse_graph_error(
        r#"{"error":{"code":"TooManyRequests","message":"slow down","innerError":{"request-id":"r-1","date":"2024-01-01T00:00:00"}}}"#,
    );
    assert_eq!(code.as_deref(), Some("TooManyRequests"));
    assert_eq!(message.as_deref(), Some("slow down"));
    assert_eq!(rid.as_deref(), Some("r-1"));
    assert_eq!(parse_graph_error("<html>"), (None, None, None));
}

#[test]
fn current_state_decides_without_a_post() {
    let mut s = RequestStatus {
        id: "x".into(),
        status: "needsApproval".into(),
        ..Default::default()
    };
    assert_eq!(judge(&s, "j", false), None);
    s.status = "rejected".into();
    s.approval_justification = Some("j".into());
    assert_eq!(judge(&s, "j", true), Some(RejectResult::Rejected));
    assert_eq!(
        judge(&s, "j", false),
        Some(RejectResult::AlreadyDecided {
            status: "rejected".into()
        })
    );
    assert_eq!(
        judge(&s, "other", true),
        Some(RejectResult::AlreadyDecided {
            status: "rejected".into()
        })
    );
    s.status = "approved".into();
    assert_eq!(
        judge(&s, "j", true),
        Some(RejectResult::AlreadyDecided {
            status: "approved".into()
        })
    );
}

#[test]
fn request_ids_stay_in_one_segment() {
    let cfg = crate::config::GraphConfig {
        base_url: "https://graph.example/beta/".into(),
        authority: "https://login.example".into(),
        tenant_id: "t".into(),
        client_id: "c".into(),
        auth: crate::config::GraphAuth::ClientCredentials,
        credential: Some(crate::config::GraphCredential::ClientSecret(Secret::new(
            "s",
        ))),
        delegated_scopes: vec![],
        keepalive: Duration::from_secs(3600),
        act_as: crate::config::ActAs::ServiceAccount,
        scope: "https://graph.example/.default".into(),
        retry_max: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        request_id_pattern: regex::Regex::new("x").unwrap(),
        justification_template: String::new(),
    };
    let client = GraphClient::new(&cfg).unwrap();
    assert_eq!(
        client.request_url("ab-12/../x?y", "/reject"),
        "https://graph.example/beta/deviceManagement/operationApprovalRequests/ab-12%2F%2E%2E%2Fx%3Fy/reject"
    );
}
