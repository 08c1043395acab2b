//! Unit tests of [`crate::entra`].

use super::form::parse_form;
use super::grants::scope_host;

#[test]
fn forms_and_scopes() {
    let form = parse_form(b"a=b+c&scope=https%3A%2F%2Fgraph.microsoft.us%2F.default&e=").unwrap();
    assert_eq!(form[0], ("a".into(), "b c".into()));
    assert_eq!(form[1].1, "https://graph.microsoft.us/.default");
    assert_eq!(form[2], ("e".into(), String::new()));
    assert!(parse_form(b"a=%zz").is_none());
    assert_eq!(
        scope_host(&form[1].1).as_deref(),
        Some("graph.microsoft.us")
    );
    assert_eq!(
        scope_host("http://127.0.0.1:8080/.default").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(scope_host("User.Read"), None);
}
