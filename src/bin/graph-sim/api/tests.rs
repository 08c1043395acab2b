//! Unit tests of [`crate::api`].

use axum::http::{StatusCode, Uri};
use serde_json::{Value, json};

use super::directory::directory_answer;
use super::reject::check_reject_body;
use super::route::{DirPath, route};
use crate::directory::Directory;
use crate::state::Endpoint;

#[test]
fn routes() {
    let r = route("/beta/deviceManagement/operationApprovalRequests/abc/reject")
        .ok()
        .unwrap();
    assert_eq!(r.endpoint, Endpoint::Reject);
    assert_eq!(r.id.as_deref(), Some("abc"));
    assert_eq!(
        route("/v1.0/deviceManagement/operationApprovalRequests")
            .ok()
            .unwrap()
            .endpoint,
        Endpoint::List
    );
    assert!(route("/v2/deviceManagement/operationApprovalRequests/a").is_err());
    assert!(route("/beta/devicemanagement/operationApprovalRequests/a").is_err());
    assert!(route("/beta/deviceManagement/operationApprovalRequests/a/approve").is_err());
    let r = route("/v1.0/groups/g%2D1/transitiveMembers/microsoft.graph.user")
        .ok()
        .unwrap();
    assert_eq!(r.endpoint, Endpoint::Directory);
    assert_eq!(
        r.dir,
        Some(DirPath::Members {
            group: "g-1".into(),
            users_only: true
        })
    );
    let r = route("/beta/deviceManagement/operationApprovalPolicies")
        .ok()
        .unwrap();
    assert_eq!(r.endpoint, Endpoint::Policies);
    assert_eq!(r.dir, Some(DirPath::Policies));
    assert!(route("/beta/groups/g/members").is_err());
    assert!(route("/beta/users/").is_err());
}

#[test]
fn members_are_paged_with_next_links() {
    let mut dir = Directory::default();
    let users: Vec<Value> = (0..5)
        .map(|i| json!({"id": format!("u{i}"), "userPrincipalName": format!("u{i}@x.test"), "displayName": format!("U{i}")}))
        .collect();
    let ids: Vec<String> = (0..5).map(|i| format!("u{i}")).collect();
    dir.apply(
        serde_json::from_value(json!({
            "users": users,
            "groups": [{"id": "g", "displayName": "G", "members": ids}],
        }))
        .unwrap(),
    )
    .unwrap();
    let path = DirPath::Members {
        group: "g".into(),
        users_only: true,
    };
    let uri: Uri = "/beta/groups/g/transitiveMembers/microsoft.graph.user?$top=2&$select=id"
        .parse()
        .unwrap();
    let first = directory_answer(&dir, &path, &uri, "http://h/beta", 100)
        .ok()
        .unwrap();
    assert_eq!(first["value"].as_array().unwrap().len(), 2);
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(
            "http://h/beta/groups/g/transitiveMembers/microsoft.graph.user?$top=2&$skiptoken=2"
        ),
        "{next}"
    );
    let uri: Uri = "/x?$top=2&$skiptoken=4".parse().unwrap();
    let last = directory_answer(&dir, &path, &uri, "http://h/beta", 100)
        .ok()
        .unwrap();
    assert_eq!(last["value"][0]["userPrincipalName"], "u4@x.test");
    assert!(last.get("@odata.nextLink").is_none());
    let missing = DirPath::Members {
        group: "nope".into(),
        users_only: true,
    };
    let e = directory_answer(&dir, &missing, &uri, "http://h/beta", 100)
        .err()
        .unwrap();
    assert_eq!(e.status, StatusCode::NOT_FOUND);
    let uri: Uri = "/x?$filter=status%20eq%20%27x%27".parse().unwrap();
    assert!(directory_answer(&dir, &path, &uri, "http://h/beta", 100).is_err());
}

#[test]
fn reject_bodies() {
    assert_eq!(
        check_reject_body(br#"{"approvalSource":"email","justification":"no"}"#)
            .ok()
            .as_deref(),
        Some("no")
    );
    for bad in [
        &br#"{"justification":"no"}"#[..],
        br#"{"justification":"no","approvalSource":"email","extra":1}"#,
        br#"{"justification":1,"approvalSource":"email"}"#,
        br#"{"justification":"no","approvalSource":"fax"}"#,
        br#"["justification"]"#,
        b"not json",
    ] {
        assert!(
            check_reject_body(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let long = format!(
        r#"{{"justification":"{}","approvalSource":"email"}}"#,
        "😀".repeat(513)
    );
    assert!(check_reject_body(long.as_bytes()).is_err());
    let fits = format!(
        r#"{{"justification":"{}","approvalSource":"email"}}"#,
        "😀".repeat(512)
    );
    assert!(check_reject_body(fits.as_bytes()).is_ok());
}
