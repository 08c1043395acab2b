//! Unit tests of [`crate::notify::recipients`].

use super::*;
use serde_json::json;

fn user(id: &str, upn: &str, mail: Option<&str>, name: &str) -> DirectoryUser {
    DirectoryUser {
        id: id.into(),
        display_name: Some(name.into()),
        user_principal_name: Some(upn.into()),
        mail: mail.map(str::to_string),
    }
}

fn policy(kind: &str, groups: &[&str]) -> ApprovalPolicy {
    ApprovalPolicy {
        id: format!("p-{kind}"),
        display_name: None,
        policy_type: kind.into(),
        approver_group_ids: groups.iter().map(|g| g.to_string()).collect(),
    }
}

#[test]
fn groups_of_the_policies_the_request_requires() {
    let policies = [
        policy("deviceWipe", &["G1", "g2"]),
        policy("app", &["g3"]),
        policy("deviceDelete", &["g2", "g4"]),
    ];
    let types = ["DeviceWipe".to_string(), "deviceDelete".to_string()];
    assert_eq!(approver_groups(&policies, &types), ["g1", "g2", "g4"]);
    assert!(approver_groups(&policies, &["script".into()]).is_empty());
}

#[test]
fn members_without_the_requester_and_without_duplicates() {
    let members = [
        user("u1", "ann@x.test", None, "Ann"),
        user("U2", "bob@x.test", Some("Bob.B@x.test"), "Bob"),
        user("u3", "cy@x.test", None, " "),
        user("u1", "ann@x.test", None, "Ann"),
        user("u4", "no-address", None, "Nobody"),
        user("u5", "dee@x.test", None, "Dee"),
    ];
    let excluded = Excluded {
        user_ids: vec!["u2".into()],
        addresses: vec!["dee@x.test".into()],
    };
    let r = from_members(&members, &excluded);
    assert_eq!(
        r,
        [
            Recipient {
                address: "ann@x.test".into(),
                name: Some("Ann".into())
            },
            Recipient {
                address: "cy@x.test".into(),
                name: None
            },
        ]
    );
}

#[test]
fn the_bridge_the_service_account_and_the_requester_are_excluded() {
    let config = crate::config::Config::from_parts(
        std::path::Path::new("t.toml"),
        r#"
[imap]
host = "127.0.0.1"
username = "Bridge@x.test"
[smtp]
host = "127.0.0.1"
from = "Approvals <approvals@x.test>"
[graph]
tenant_id = "t"
client_id = "c"
client_secret = "s"
[approvers]
allowed = ["@x.test"]
trusted_authserv_id = "mx"
"#,
        std::path::Path::new("/tmp"),
        Vec::new(),
    )
    .unwrap();
    let req: RequestStatus = serde_json::from_value(json!({
        "id": "r", "status": "needsApproval",
        "requestor": {"user": {"id": "U-Dana", "displayName": "Dana"}}
    }))
    .unwrap();
    let e = excluded_for(&config, (Some("U-SVC"), Some("Svc@x.test")), &req);
    assert_eq!(e.user_ids, ["u-svc", "u-dana"]);
    assert_eq!(
        e.addresses,
        [
            "approvals@x.test",
            "bridge@x.test",
            "approvals@x.test",
            "svc@x.test"
        ]
    );
    let members = [
        user("u-svc", "svc@x.test", None, "Service"),
        user("u-dana", "dana@x.test", None, "Dana"),
        user("u-ann", "ann@x.test", None, "Ann"),
        user("u-own", "Bridge@x.test", None, "Mailbox"),
    ];
    let r = from_members(&members, &e);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].address, "ann@x.test");
    let none = excluded_for(&config, (None, None), &RequestStatus::default());
    assert!(none.user_ids.is_empty());
}

#[test]
fn the_requester_is_found_in_the_identity_set() {
    let req: RequestStatus = serde_json::from_value(json!({
            "id": "r", "status": "needsApproval",
            "requestor": {"user": {"id": " U9 ", "displayName": "Dana", "userPrincipalName": "Dana@x.test"}}
        }))
        .unwrap();
    assert_eq!(requester_id(&req).as_deref(), Some("u9"));
    assert_eq!(requester_addresses(&req), ["dana@x.test"]);
    let listed = [
        "dana@x.test".to_string(),
        "Ann@x.test".into(),
        "ann@x.test".into(),
    ];
    let excluded = Excluded {
        user_ids: Vec::new(),
        addresses: requester_addresses(&req),
    };
    let r = from_list(&listed, &excluded);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].address, "ann@x.test");
    let anonymous = RequestStatus::default();
    assert_eq!(requester_id(&anonymous), None);
    assert!(requester_addresses(&anonymous).is_empty());
}
