//! Unit tests of [`crate::delegated`].

use super::*;

fn alice() -> User {
    User {
        id: "u1".into(),
        user_principal_name: "alice@x.test".into(),
        display_name: "Alice".into(),
    }
}

#[test]
fn device_code_pending_slow_down_approved_then_gone() {
    let mut d = Delegation::new(Duration::from_secs(60), Duration::from_secs(1));
    let answer = d.start_device(vec!["s".into()]);
    let code = answer["device_code"].as_str().unwrap().to_string();
    assert_eq!(
        d.poll_device(&code).err().unwrap().error,
        "authorization_pending"
    );
    assert_eq!(d.poll_device(&code).err().unwrap().error, "slow_down");
    d.devices.get_mut(&code).unwrap().decision = Decision::Approved(alice());
    d.devices.get_mut(&code).unwrap().last_poll = None;
    let g = d.poll_device(&code).ok().unwrap();
    assert_eq!(g.user, alice());
    assert_eq!(d.poll_device(&code).err().unwrap().error, "invalid_grant");
}

#[test]
fn refresh_rotates_and_revocation_ends_every_earlier_token() {
    let mut d = Delegation::new(Duration::from_secs(60), Duration::from_secs(1));
    let first = d.issue_refresh(alice(), vec![]).refresh_token;
    let second = d.refresh(&first).ok().unwrap().refresh_token;
    assert_ne!(first, second);
    assert!(
        d.refresh(&first).is_ok(),
        "the old one is not revoked by use"
    );
    d.revoked.insert("u1".into(), Instant::now());
    assert_eq!(d.refresh(&second).err().unwrap().code, 50173);
    let fresh = d.issue_refresh(alice(), vec![]).refresh_token;
    assert!(d.refresh(&fresh).is_ok(), "a new sign-in works");
    d.interaction.insert("u1".into());
    assert_eq!(
        d.refresh(&fresh).err().unwrap().error,
        "interaction_required"
    );
}
