//! Unit tests of what the notifier reads from Graph.

use super::*;

#[test]
fn a_user_is_mailed_at_mail_else_at_the_upn() {
    let mut u = DirectoryUser {
        id: "u".into(),
        user_principal_name: Some("Ann@Contoso.test".into()),
        ..Default::default()
    };
    assert_eq!(u.address().as_deref(), Some("ann@contoso.test"));
    u.mail = Some(" Ann.Smith@Contoso.test ".into());
    assert_eq!(u.address().as_deref(), Some("ann.smith@contoso.test"));
    u.mail = Some("".into());
    u.user_principal_name = Some("not-an-address".into());
    assert_eq!(u.address(), None);
}

#[test]
fn graph_shapes_are_read() {
    let p: ApprovalPolicy = serde_json::from_str(
        r##"{"@odata.type":"#microsoft.graph.operationApprovalPolicy","id":"p","displayName":"Wipes",
            "policyType":"deviceWipe","policyPlatform":"notApplicable","approverGroupIds":["g1","g2"]}"##,
    )
    .unwrap();
    assert_eq!(p.policy_type, "deviceWipe");
    assert_eq!(p.approver_group_ids, ["g1", "g2"]);
    let u: DirectoryUser = serde_json::from_str(
        r##"{"@odata.type":"#microsoft.graph.user","id":"u1","displayName":"Ann","userPrincipalName":"ann@x.test","mail":null}"##,
    )
    .unwrap();
    assert_eq!(u.address().as_deref(), Some("ann@x.test"));
}
