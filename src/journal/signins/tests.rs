//! Tests of the stored sign-ins (login, refresh, loss, logout by generation), a reject waiting
//! for a sign-in, and alerts mailed once per period.

use rusqlite::OptionalExtension;

use super::*;
use crate::model::{Decided, Verdict};

/// An alert's record: since when its cause lasts and when a mail about it last went out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub kind: String,
    pub since: String,
    pub detail: String,
    pub last_sent_at: Option<String>,
}

/// What only tests ask of the journal.
impl Journal {
    /// Alert `kind`, when raised.
    fn alert(&self, kind: &str) -> Result<Option<Alert>, JournalError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT kind, since, detail, last_sent_at FROM alerts WHERE kind = ?1",
                [kind],
                |r| {
                    Ok(Alert {
                        kind: r.get(0)?,
                        since: r.get(1)?,
                        detail: r.get(2)?,
                        last_sent_at: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }
}

fn scopes() -> Vec<String> {
    vec!["a/X.ReadWrite".into(), "offline_access".into()]
}

#[test]
fn login_refresh_loss_and_logout() {
    let j = Journal::open_in_memory().unwrap();
    assert!(j.signin("service").unwrap().is_none());
    let g1 = j
        .store_signin(
            "service",
            Some("oid"),
            Some("svc@x.test"),
            None,
            &scopes(),
            b"s1",
        )
        .unwrap();
    assert_eq!(g1, 1);
    let s = j.signin("service").unwrap().unwrap();
    assert_eq!(s.username.as_deref(), Some("svc@x.test"));
    assert_eq!(s.scopes, scopes());
    assert_eq!(s.sealed_token, b"s1");
    assert!(s.lost.is_none());

    assert!(j.rotate_signin("service", g1, &scopes(), b"s2").unwrap());
    assert_eq!(j.signin("service").unwrap().unwrap().sealed_token, b"s2");

    assert!(
        j.mark_signin_lost("service", g1, "invalid_grant: revoked")
            .unwrap()
    );
    let s = j.signin("service").unwrap().unwrap();
    assert_eq!(s.lost.as_ref().unwrap().1, "invalid_grant: revoked");
    assert!(
        !j.rotate_signin("service", g1, &scopes(), b"s3").unwrap(),
        "a lost sign-in is not refreshed"
    );

    // A new login: a new generation, the loss cleared; the old generation cannot touch it.
    let g2 = j
        .store_signin(
            "service",
            Some("oid"),
            Some("svc@x.test"),
            None,
            &scopes(),
            b"n1",
        )
        .unwrap();
    assert_eq!(g2, 2);
    assert!(j.signin("service").unwrap().unwrap().lost.is_none());
    assert!(!j.rotate_signin("service", g1, &scopes(), b"old").unwrap());
    assert!(!j.mark_signin_lost("service", g1, "late").unwrap());
    assert_eq!(j.signin("service").unwrap().unwrap().sealed_token, b"n1");

    assert!(j.forget_signin("service").unwrap());
    assert!(!j.forget_signin("service").unwrap());
    assert!(j.signin("service").unwrap().is_none());
}

#[test]
fn a_reject_waits_for_a_sign_in_and_goes_on_from_there() {
    let j = Journal::open_in_memory().unwrap();
    let key = MsgKey::new("INBOX", 1, 1);
    j.receive(&key, None).unwrap();
    j.record_decision(
        &key,
        &Decided {
            verdict: Verdict::Reject,
            reason: "ok".into(),
            request_id: Some("r".into()),
            approver: Some("a@x.test".into()),
            justification: Some("t".into()),
            graph_justification: Some("t".into()),
            truncated: false,
            subject: None,
            references: vec![],
        },
    )
    .unwrap();
    assert_eq!(j.begin_graph(&key).unwrap(), 1);
    j.await_signin(&key, "signed out").unwrap();
    assert_eq!(j.get(&key).unwrap().unwrap().state, State::AwaitingSignin);
    assert_eq!(j.awaiting_signin_count().unwrap(), 1);
    assert_eq!(j.unfinished().unwrap().len(), 1, "not finished");
    assert_eq!(
        j.begin_graph(&key).unwrap(),
        2,
        "the attempt count carries on"
    );
    assert_eq!(j.awaiting_signin_count().unwrap(), 0);
    j.record_graph(&key, &crate::model::GraphOutcome::Rejected)
        .unwrap();
    assert!(
        j.await_signin(&key, "x").is_err(),
        "never after the outcome"
    );
}

#[test]
fn alerts_mail_once_per_period_while_they_last() {
    let j = Journal::open_in_memory().unwrap();
    assert!(j.raise_alert("signin_lost", "revoked", 86_400).unwrap());
    assert!(
        j.raise_alert("signin_lost", "revoked", 86_400).unwrap(),
        "not sent yet"
    );
    j.alert_sent("signin_lost").unwrap();
    assert!(!j.raise_alert("signin_lost", "still", 86_400).unwrap());
    assert!(
        j.raise_alert("signin_lost", "still", 0).unwrap(),
        "period over"
    );
    let a = j.alert("signin_lost").unwrap().unwrap();
    assert_eq!(a.detail, "still");
    assert!(a.last_sent_at.is_some());
    j.clear_alert("signin_lost").unwrap();
    assert!(j.alert("signin_lost").unwrap().is_none());
    assert!(j.raise_alert("signin_lost", "again", 86_400).unwrap());
}
