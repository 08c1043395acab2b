//! Unit tests of [`crate::directory`].

use super::*;

fn dir() -> Directory {
    let mut d = Directory::default();
    let update: Update = serde_json::from_value(json!({
        "users": [
            {"id": "u1", "userPrincipalName": "ann@example.test", "displayName": "Ann"},
            {"id": "u2", "userPrincipalName": "bob@example.test", "displayName": "Bob", "mail": "bob.b@example.test"},
            {"id": "u3", "userPrincipalName": "cy@example.test", "displayName": "Cy"},
        ],
        "groups": [
            {"id": "G-Approvers", "displayName": "Approvers", "members": ["u1", "g-nested"]},
            {"id": "g-nested", "displayName": "Nested", "members": ["U2", "g-approvers"]},
            {"id": "g-other", "displayName": "Other", "members": ["u3"]},
        ],
        "policies": [
            {"id": "p1", "displayName": "Wipes", "policyType": "deviceWipe",
             "approverGroupIds": ["g-approvers"], "policyPlatform": "iOSiPadOS"},
        ],
    }))
    .unwrap();
    d.apply(update).unwrap();
    d
}

#[test]
fn transitive_members_follow_nested_groups_and_survive_cycles() {
    let d = dir();
    let (users, groups) = d.transitive_members_of("G-APPROVERS").unwrap();
    let users: Vec<String> = users.into_iter().map(|u| u.id).collect();
    assert_eq!(users, ["u1", "u2"]);
    assert_eq!(groups.len(), 1, "the nested group, not the root again");
    assert!(d.transitive_members_of("nope").is_none());
}

#[test]
fn transitive_groups_of_a_user() {
    let d = dir();
    let ids = |v: Vec<Group>| v.into_iter().map(|g| g.id).collect::<Vec<_>>();
    assert_eq!(
        ids(d.transitive_groups_of("u2")),
        ["G-Approvers", "g-nested"]
    );
    assert_eq!(
        ids(d.transitive_groups_of("U1")),
        ["G-Approvers", "g-nested"]
    );
    assert_eq!(ids(d.transitive_groups_of("u3")), ["g-other"]);
    assert!(d.transitive_groups_of("nobody").is_empty());
}

#[test]
fn dangling_members_are_refused_and_change_nothing() {
    let mut d = dir();
    let bad: Update = serde_json::from_value(json!({
        "users": [{"id": "u9", "userPrincipalName": "z@example.test", "displayName": "Z"}],
        "groups": [{"id": "g-bad", "displayName": "Bad", "members": ["ghost"]}],
    }))
    .unwrap();
    let e = d.apply(bad).unwrap_err();
    assert!(e.contains("ghost"), "{e}");
    assert!(d.user("u9").is_none(), "refused as a whole");
}

#[test]
fn policies_keep_their_other_properties() {
    let d = dir();
    let p = d.policy("P1").unwrap().to_graph();
    assert_eq!(p["policyPlatform"], "iOSiPadOS");
    assert_eq!(p["approverGroupIds"][0], "g-approvers");
    assert_eq!(p["@odata.type"], "#microsoft.graph.operationApprovalPolicy");
}

#[test]
fn unknown_user_fields_are_refused() {
    let r: Result<Update, _> = serde_json::from_value(json!({
        "users": [{"id": "u", "userPrincipalName": "u@x", "displayName": "U", "email": "x"}]
    }));
    assert!(r.is_err());
    let map = json!({"requests": [], "users": "nope"});
    assert!(Update::from_object(map.as_object().unwrap()).is_err());
}
