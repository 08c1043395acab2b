//! Tests of the notifier's tables: planning is idempotent, attempts are counted before sending,
//! closing a request drops what is pending and follows up those told, reminders go to those who
//! have not answered, references resolve, version 1's notifications survive the migration.

use rusqlite::{OptionalExtension, named_params};

use super::*;
use crate::journal::atomic;
use crate::model::{Decided, GraphOutcome, MsgKey, Verdict, bare_message_id};

/// What only tests ask of the notifier's tables (the journal's own tests use some too).
impl Journal {
    /// Every mail about request `request_id`, in the order they were planned.
    fn mails_for(&self, request_id: &str) -> Result<Vec<Mail>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {MAIL_COLUMNS} FROM notify_mails m
             JOIN reply_keys k ON k.reply_key = m.reply_key
             WHERE m.request_id = lower(?1) ORDER BY m.id"
        ))?;
        let rows = stmt.query_map([request_id], read_mail)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The first of `message_ids` (a reply's In-Reply-To then References, with or without `<>`)
    /// that names a mail of the notifier; with `sender`, only one sent to that address.
    pub(in crate::journal) fn notification_for(
        &self,
        message_ids: &[&str],
        sender: Option<&str>,
    ) -> Result<Option<Notification>, JournalError> {
        let refs: Vec<Reference> = message_ids
            .iter()
            .map(|id| Reference::MessageId(id.to_string()))
            .collect();
        Ok(self
            .notification_named(&refs, sender)?
            .filter(|n| sender.is_none_or(|s| n.recipient.eq_ignore_ascii_case(s))))
    }

    /// Records a notification sent with Message-ID `message_id` about `request_id` to
    /// `recipient` by something other than this notifier (or imported from an older journal),
    /// so replies to it are recognised. Returns false (and changes nothing) when that
    /// Message-ID is already recorded.
    pub(in crate::journal) fn record_notification(
        &self,
        message_id: &str,
        request_id: &str,
        recipient: &str,
    ) -> Result<bool, JournalError> {
        let mid = bare_message_id(message_id);
        let mut conn = self.lock();
        let tx = atomic(&mut conn)?;
        let known = tx
            .query_row(
                "SELECT 1 FROM notify_mails WHERE message_id = ?1",
                [&mid],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if known {
            return Ok(false);
        }
        let key = format!("ext.{mid}");
        tx.execute(
            &format!(
                "INSERT INTO reply_keys (reply_key, request_id, recipient, created_at)
                 VALUES (lower(:key), lower(:id), lower(:to), {NOW})"
            ),
            named_params! {":key": key, ":id": request_id, ":to": recipient},
        )?;
        let n = tx.execute(
            &format!(
                "INSERT INTO notify_mails (reply_key, request_id, recipient, kind, message_id,
                                           state, created_at, done_at)
                 VALUES (lower(:key), lower(:id), lower(:to), 'notification', :mid, 'sent',
                         {NOW}, {NOW})
                 ON CONFLICT DO NOTHING"
            ),
            named_params! {":key": key, ":id": request_id, ":to": recipient, ":mid": mid},
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Whether a notification about `request_id` went out to `recipient`.
    pub(in crate::journal) fn notified(
        &self,
        request_id: &str,
        recipient: &str,
    ) -> Result<bool, JournalError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT 1 FROM notify_mails
                 WHERE request_id = lower(?1) AND recipient = lower(?2)
                   AND kind = 'notification' AND state = 'sent' LIMIT 1",
                [request_id, recipient],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

const R: &str = "0F8E6C1A-1B2C-4D5E-8F90-A1B2C3D4E5F6";
const D: &str = "bridge.test";

fn rcpt(address: &str, key: &str) -> NewRecipient {
    NewRecipient {
        address: address.into(),
        name: Some(address.split('@').next().unwrap().into()),
        fresh_key: key.into(),
    }
}

/// A journal tracking request R, with a notification planned for each of `who` (first
/// names at example.test; each key is the name's first letter four times).
fn planned(who: &[&str]) -> Journal {
    let j = Journal::open_in_memory().unwrap();
    j.track_open(R, "{}", None).unwrap();
    let recipients: Vec<NewRecipient> = who
        .iter()
        .map(|n| rcpt(&format!("{n}@example.test"), &n[..1].repeat(4)))
        .collect();
    j.plan_notifications(R, &recipients, D).unwrap();
    j
}

fn send_all(j: &Journal) -> Vec<Mail> {
    let pending = j.pending_mails().unwrap();
    for m in &pending {
        j.begin_mail(m.id).unwrap();
        j.finish_mail(m.id, MailState::Sent, None).unwrap();
    }
    pending
}

fn answer(j: &Journal, uid: u32, from: &str, verdict: Verdict, outcome: Option<GraphOutcome>) {
    let k = MsgKey::new("INBOX", 1, uid);
    j.receive(&k, None).unwrap();
    j.record_decision(
        &k,
        &Decided {
            verdict,
            reason: "ok".into(),
            request_id: Some(R.to_lowercase()),
            approver: Some(from.into()),
            justification: None,
            graph_justification: Some("x".into()),
            truncated: false,
            subject: None,
            references: Vec::new(),
        },
    )
    .unwrap();
    if let Some(o) = outcome {
        j.begin_graph(&k).unwrap();
        j.record_graph(&k, &o).unwrap();
    }
}

#[test]
fn planning_is_idempotent_and_keys_are_per_request_and_recipient() {
    let j = Journal::open_in_memory().unwrap();
    assert!(
        j.track_open(R, "{}", Some("2030-01-01T00:00:00.000Z"))
            .unwrap()
    );
    assert!(!j.track_open(R, "{\"x\":1}", None).unwrap());
    let updated = j.tracked_request(R).unwrap().unwrap();
    assert_eq!(updated.expires_at, None);
    assert!(!j.track_open(R, "{\"x\":1}", None).unwrap());
    assert_eq!(j.lock().changes(), 0, "unchanged: nothing written");
    let both = [
        rcpt("Ann@example.test", "aaaa"),
        rcpt("bob@example.test", "bbbb"),
    ];
    assert_eq!(j.plan_notifications(R, &both, D).unwrap(), 2);
    // Again, with other fresh keys offered: nothing new, the first keys stay.
    let again = [
        rcpt("ann@example.test", "cccc"),
        rcpt("bob@example.test", "dddd"),
    ];
    assert_eq!(j.plan_notifications(R, &again, D).unwrap(), 0);
    let mails = j.pending_mails().unwrap();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].recipient, "ann@example.test");
    assert_eq!(mails[0].reply_key, "aaaa");
    assert_eq!(mails[0].message_id, "notify.aaaa@bridge.test");
    assert_eq!(mails[0].request_id, R.to_lowercase());
    assert_eq!(mails[0].recipient_name.as_deref(), Some("Ann"));
    assert_eq!(mails[0].notification_message_id, None);
    assert_eq!(
        j.tracked_request(R).unwrap().unwrap().details_json,
        "{\"x\":1}"
    );
}

#[test]
fn attempts_are_counted_before_sending_and_finished_mails_stay_finished() {
    let j = planned(&["ann"]);
    let m = j.pending_mails().unwrap().remove(0);
    assert_eq!(j.begin_mail(m.id).unwrap(), 1);
    j.mail_error(m.id, "451 try later").unwrap();
    // A crash here: the mail is still pending, with its Message-ID.
    let again = j.pending_mails().unwrap().remove(0);
    assert_eq!(again.message_id, m.message_id);
    assert_eq!(again.attempts, 1);
    assert_eq!(again.last_error.as_deref(), Some("451 try later"));
    assert_eq!(j.begin_mail(m.id).unwrap(), 2);
    j.finish_mail(m.id, MailState::Sent, None).unwrap();
    j.finish_mail(m.id, MailState::Dropped, Some("late"))
        .unwrap();
    let done = j.mails_for(R).unwrap().remove(0);
    assert_eq!(done.state, MailState::Sent);
    assert!(
        j.begin_mail(m.id).is_err(),
        "a sent mail is not attempted again"
    );
    assert!(j.notified(R, "ANN@example.test").unwrap());
}

#[test]
fn closing_drops_what_is_pending_and_follows_up_those_told_once() {
    let j = planned(&["ann", "bob", "cy"]);
    // Ann and Bob were told; Cy's notification is still pending.
    for m in j.pending_mails().unwrap().into_iter().take(2) {
        j.begin_mail(m.id).unwrap();
        j.finish_mail(m.id, MailState::Sent, None).unwrap();
    }
    // Ann rejected it by replying.
    answer(
        &j,
        1,
        "ann@example.test",
        Verdict::Reject,
        Some(GraphOutcome::Rejected),
    );
    assert_eq!(
        j.rejected_by_reply(R).unwrap().as_deref(),
        Some("ann@example.test")
    );
    let c = j
        .close_request(R, "rejected", Some("{\"status\":\"rejected\"}"), true, D)
        .unwrap();
    assert_eq!(
        c,
        Closed {
            closed: true,
            followups: 1,
            dropped: 1,
            dropped_reminders: 0,
        }
    );
    let pending = j.pending_mails().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].recipient, "bob@example.test");
    assert_eq!(pending[0].kind, MailKind::Followup);
    assert_eq!(pending[0].message_id, "followup.bbbb@bridge.test");
    assert_eq!(
        pending[0].notification_message_id.as_deref(),
        Some("notify.bbbb@bridge.test")
    );
    let cy = j
        .mails_for(R)
        .unwrap()
        .into_iter()
        .find(|m| m.recipient == "cy@example.test")
        .unwrap();
    assert_eq!(cy.state, MailState::Dropped);
    assert!(cy.last_error.unwrap().contains("rejected"));
    // Closing again, or listing it open again, changes nothing.
    assert_eq!(
        j.close_request(R, "rejected", None, true, D).unwrap(),
        Closed::default()
    );
    j.track_open(R, "{\"late\":1}", None).unwrap();
    let t = j.tracked_request(R).unwrap().unwrap();
    assert!(t.closed_at.is_some());
    assert_eq!(t.status, "rejected");
    assert!(j.open_requests().unwrap().is_empty());
    // A closed request is announced to nobody new.
    assert_eq!(
        j.plan_notifications(R, &[rcpt("dee@example.test", "dddd")], D)
            .unwrap(),
        0
    );
    assert_eq!(
        j.plan_notifications("untracked", &[rcpt("dee@example.test", "eeee")], D)
            .unwrap(),
        0
    );
}

#[test]
fn no_followups_when_turned_off() {
    let j = planned(&["ann"]);
    send_all(&j);
    let c = j.close_request(R, "approved", None, false, D).unwrap();
    assert!(c.closed);
    assert_eq!(c.followups, 0);
    assert!(j.pending_mails().unwrap().is_empty());
}

#[test]
fn reminders_go_to_those_told_in_time_who_have_not_answered() {
    let j = planned(&["ann", "bob", "cy"]);
    send_all(&j);
    // Bob answered (his reply was refused as an approval): he is not reminded.
    answer(&j, 1, "bob@example.test", Verdict::Refuse, None);
    let later = timestamp(SystemTime::now() + std::time::Duration::from_secs(60));
    let earlier = timestamp(SystemTime::now() - std::time::Duration::from_secs(3600));
    assert_eq!(
        j.plan_reminders(R, &earlier, D).unwrap(),
        0,
        "told too late"
    );
    assert_eq!(j.plan_reminders(R, &later, D).unwrap(), 2);
    assert_eq!(j.plan_reminders(R, &later, D).unwrap(), 0, "once");
    let to: Vec<String> = j
        .pending_mails()
        .unwrap()
        .into_iter()
        .map(|m| m.recipient)
        .collect();
    assert_eq!(to, ["ann@example.test", "cy@example.test"]);
    j.close_request(R, "expired", None, false, D).unwrap();
    assert!(
        j.pending_mails().unwrap().is_empty(),
        "reminders dropped on close"
    );
}

#[test]
fn references_resolve_by_message_id_or_key_preferring_the_sender() {
    let j = planned(&["ann", "bob"]);
    send_all(&j);
    j.close_request(R, "approved", None, true, D).unwrap();
    let refs = [
        Reference::MessageId("<nobody@x.test>".into()),
        Reference::MessageId("<followup.aaaa@bridge.test>".into()),
        Reference::Key("BBBB".into()),
    ];
    let any = j.notification_named(&refs, None).unwrap().unwrap();
    assert_eq!(any.recipient, "ann@example.test", "the first named");
    assert_eq!(any.message_id, "notify.aaaa@bridge.test");
    assert_eq!(any.reply_key, "aaaa");
    let bob = j
        .notification_named(&refs, Some("Bob@Example.test"))
        .unwrap()
        .unwrap();
    assert_eq!(
        bob.recipient, "bob@example.test",
        "the sender's own key wins"
    );
    let other = j
        .notification_named(&refs, Some("cy@example.test"))
        .unwrap()
        .unwrap();
    assert_eq!(other.recipient, "ann@example.test", "else the first named");
    assert!(
        j.notification_named(&[Reference::Key("zzzz".into())], None)
            .unwrap()
            .is_none()
    );
    assert!(
        j.notification_for(&["followup.aaaa@bridge.test"], Some("cy@example.test"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn version_one_notifications_survive_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(super::super::MIGRATIONS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.execute(
            "INSERT INTO notifications VALUES ('n1@b.test', ?1, 'ann@example.test', '2026-01-01T00:00:00.000Z')",
            [R.to_lowercase()],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let j = Journal::open(&path).unwrap();
    assert!(j.notified(R, "ann@example.test").unwrap());
    let n = j.notification_for(&["<n1@b.test>"], None).unwrap().unwrap();
    assert_eq!(n.request_id, R.to_lowercase());
}

#[test]
fn timestamps_sort_like_sqlite_clock() {
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_709_210_096_789);
    assert_eq!(timestamp(t), "2024-02-29T12:34:56.789Z");
    let j = Journal::open_in_memory().unwrap();
    let sqlite_now: String = j
        .lock()
        .query_row(&format!("SELECT {NOW}"), [], |r| r.get(0))
        .unwrap();
    let before = timestamp(SystemTime::now() - std::time::Duration::from_secs(2));
    let after = timestamp(SystemTime::now() + std::time::Duration::from_secs(2));
    assert!(
        before < sqlite_now && sqlite_now < after,
        "{before} {sqlite_now} {after}"
    );
}
