//! Unit tests of the delegated sign-in: who signed in, which scopes are asked.

use super::*;

#[test]
fn identity_comes_from_the_id_token_claims() {
    let claims = URL_SAFE_NO_PAD.encode(
        r#"{"oid":"u-1","preferred_username":"svc@contoso.test","name":"Approvals Service"}"#,
    );
    let id = Identity::from_id_token(&format!("e30.{claims}."));
    assert_eq!(id.user_id.as_deref(), Some("u-1"));
    assert_eq!(id.username.as_deref(), Some("svc@contoso.test"));
    assert_eq!(id.display_name.as_deref(), Some("Approvals Service"));
    assert_eq!(Identity::from_id_token("garbage"), Identity::default());
}

#[test]
fn sign_in_asks_for_a_refresh_token_and_the_user() {
    let text = "[imap]\nhost = \"127.0.0.1\"\nusername = \"b@x.test\"\n[smtp]\nhost = \"127.0.0.1\"\nfrom = \"b@x.test\"\n[graph]\ntenant_id = \"t\"\nclient_id = \"c\"\nauth = \"delegated\"\n[approvers]\nallowed = [\"@x.test\"]\nrequire_authentication = false\n";
    let cfg = Config::from_parts(
        std::path::Path::new("c.toml"),
        text,
        std::path::Path::new("."),
        [],
    )
    .unwrap()
    .graph;
    let scopes = requested_scopes(&cfg);
    assert_eq!(
        scopes,
        vec![
            "https://graph.microsoft.com/DeviceManagementConfiguration.ReadWrite.All",
            "offline_access",
            "openid",
            "profile"
        ]
    );
}
