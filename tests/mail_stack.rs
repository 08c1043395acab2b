//! End-to-end tests of the IMAP session ([`reject_bridge::imap`]) and the SMTP sender
//! ([`reject_bridge::reply::smtp`]) against the real Dovecot + Postfix of `scripts/stack-up.sh`.
//!
//! The stack must be running: `scripts/stack-install.sh` once, then `scripts/stack-up.sh`
//! (state in `.stack/`, or set `RB_STACK_DIR` to the folder given to stack-up.sh). Without it
//! every test here fails with a message saying so. Each test uses its own addresses, so they
//! run in parallel.

mod support;

use std::time::{Duration, Instant};

use reject_bridge::config::{ImapConfig, MailAuth, SmtpConfig, TlsMode};
use reject_bridge::imap::{ImapError, ImapSession};
use reject_bridge::reply::smtp::{SendError, Sender, SmtpError};
use reject_bridge::secret::Secret;
use support::mail::{deliver, imap_config};
use support::stack::{Stack, closed_port, stack, unique};

/// The envelope sender of the messages delivered here.
const SENDER: &str = "sender@example.org";

/// A password login as `user` in TLS mode `tls` (by the certificate's name unless plain).
fn imap_cfg(s: &Stack, user: &str, tls: TlsMode) -> ImapConfig {
    let (host, port) = match tls {
        TlsMode::Implicit => ("localhost", s.imaps),
        TlsMode::Starttls => ("localhost", s.imap),
        TlsMode::None => ("127.0.0.1", s.imap),
    };
    ImapConfig {
        host: host.into(),
        port,
        tls,
        max_message_bytes: 2_000_000,
        idle: true,
        timeout: Duration::from_secs(10),
        ..imap_config(s, user)
    }
}

fn smtp_cfg(s: &Stack, user: &str, tls: TlsMode) -> SmtpConfig {
    let port = match tls {
        TlsMode::Implicit => s.smtps,
        TlsMode::Starttls => s.submission,
        TlsMode::None => s.smtp,
    };
    SmtpConfig {
        host: if tls == TlsMode::None {
            "127.0.0.1"
        } else {
            "localhost"
        }
        .into(),
        port,
        tls,
        username: Some(user.into()),
        password: Some(Secret::new("secret")),
        auth: MailAuth::Password,
        oauth_scope: String::new(),
        ca_file: Some(s.ca.clone()),
        from: format!("Approvals <{user}>").parse().unwrap(),
        from_address: user.into(),
        templates_dir: None,
        timeout: Duration::from_secs(10),
    }
}

fn simple_message(to: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Message-ID: <{}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        uuid::Uuid::new_v4()
    )
    .into_bytes()
}

/// Waits until the selected `folder` holds at least `n` messages; returns their UIDs.
async fn wait_for(mailbox: &mut ImapSession, folder: &str, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        mailbox.select(folder).await.unwrap();
        let uids = mailbox.uids().await.unwrap();
        if uids.len() >= n {
            return uids;
        }
        assert!(
            Instant::now() < deadline,
            "{folder} holds {} message(s) after 20 s, expected {n}: see the stack's log/postfix.log",
            uids.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn delivered_mail_arrives_and_fetch_leaves_it_unseen() {
    let s = stack();
    let user = unique("arrive");
    deliver(
        &s,
        SENDER,
        &user,
        &simple_message(&user, "Hello there", "REJECT please"),
    )
    .await;

    let mut mb = ImapSession::connect(&imap_cfg(&s, &user, TlsMode::Starttls))
        .await
        .unwrap();
    let caps = mb.capabilities();
    assert!(caps.idle && caps.move_ && caps.uidplus, "{caps:?}");
    let uids = wait_for(&mut mb, "INBOX", 1).await;
    assert_eq!(uids.len(), 1);

    let fetched = mb.fetch(uids[0], 2_000_000).await.unwrap().unwrap();
    assert_eq!(fetched.uid, uids[0]);
    assert!(!fetched.truncated);
    assert_eq!(fetched.size, fetched.raw.len() as u64);
    let text = String::from_utf8_lossy(&fetched.raw);
    assert!(text.contains("Subject: Hello there"), "{text}");
    assert!(text.contains("REJECT please"), "{text}");

    assert!(
        mb.search("SEEN").await.unwrap().is_empty(),
        "fetch set \\Seen"
    );
    assert_eq!(mb.search("UNSEEN").await.unwrap(), uids);
    assert!(mb.fetch(uids[0] + 1000, 2_000_000).await.unwrap().is_none());
    mb.logout().await;
}

#[tokio::test]
async fn big_message_gives_headers_and_text_without_attachment() {
    let s = stack();
    let user = unique("big");
    let attachment = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n".repeat(8000); // ~300 kB base64
    let raw = format!(
        "From: Alice <alice@example.org>\r\nTo: {user}\r\nSubject: With attachment\r\n\
         Message-ID: <big-{}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
         preamble\r\n--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n\
         --inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nReject: too risky\r\n\
         --inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Reject: too <b>risky</b></p>\r\n\
         --inner--\r\n\r\n--outer\r\nContent-Type: application/pdf; name=\"big.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"big.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {attachment}--outer\r\nContent-Type: text/plain; name=\"notes.txt\"\r\n\
         Content-Disposition: attachment; filename=\"notes.txt\"\r\n\r\nATTACHED TEXT FILE\r\n\
         --outer--\r\n",
        uuid::Uuid::new_v4()
    );
    deliver(&s, SENDER, &user, raw.as_bytes()).await;

    let mut mb = ImapSession::connect(&imap_cfg(&s, &user, TlsMode::Implicit))
        .await
        .unwrap();
    let uids = wait_for(&mut mb, "INBOX", 1).await;

    let small = mb.fetch(uids[0], 50_000).await.unwrap().unwrap();
    assert!(small.truncated);
    assert!(small.size > 300_000, "size {}", small.size);
    assert!(small.raw.len() < 10_000, "kept {} bytes", small.raw.len());
    let text = String::from_utf8_lossy(&small.raw);
    assert!(!text.contains("QUJDREVG"), "attachment leaked: {text}");
    assert!(
        !text.contains("ATTACHED TEXT FILE"),
        "text attachment leaked: {text}"
    );

    let parsed = mail_parser::MessageParser::default()
        .parse(&small.raw)
        .expect("reassembled message parses");
    assert_eq!(parsed.subject(), Some("With attachment"));
    assert_eq!(
        parsed.from().unwrap().first().unwrap().address(),
        Some("alice@example.org")
    );
    assert_eq!(parsed.body_text(0).unwrap().trim(), "Reject: too risky");
    assert!(parsed.body_html(0).unwrap().contains("<b>risky</b>"));
    assert_eq!(parsed.attachment_count(), 0);

    let whole = mb.fetch(uids[0], 2_000_000).await.unwrap().unwrap();
    assert!(!whole.truncated);
    assert_eq!(whole.raw.len() as u64, whole.size);
    assert!(String::from_utf8_lossy(&whole.raw).contains("ATTACHED TEXT FILE"));
    assert!(
        mb.search("SEEN").await.unwrap().is_empty(),
        "fetch set \\Seen"
    );
    mb.logout().await;
}

#[tokio::test]
async fn big_single_part_text_is_cut_at_the_budget() {
    let s = stack();
    let user = unique("bigtext");
    let body = "line of text\r\n".repeat(20_000);
    deliver(&s, SENDER, &user, &simple_message(&user, "Long", &body)).await;
    let mut mb = ImapSession::connect(&imap_cfg(&s, &user, TlsMode::Starttls))
        .await
        .unwrap();
    let uids = wait_for(&mut mb, "INBOX", 1).await;
    let f = mb.fetch(uids[0], 10_000).await.unwrap().unwrap();
    assert!(f.truncated);
    assert!(f.raw.len() <= 10_000, "kept {}", f.raw.len());
    let parsed = mail_parser::MessageParser::default().parse(&f.raw).unwrap();
    assert_eq!(parsed.subject(), Some("Long"));
    assert!(parsed.body_text(0).unwrap().starts_with("line of text"));
    mb.logout().await;
}

#[tokio::test]
async fn folders_are_created_and_move_files_the_message() {
    let s = stack();
    let user = unique("move");
    deliver(&s, SENDER, &user, &simple_message(&user, "one", "first")).await;
    deliver(&s, SENDER, &user, &simple_message(&user, "two", "second")).await;

    let mut mb = ImapSession::connect(&imap_cfg(&s, &user, TlsMode::Starttls))
        .await
        .unwrap();
    mb.ensure_folders(&["Processed", "Ignored", "Failed", "Erledigt-é"])
        .await
        .unwrap();
    // Idempotent: a second call finds them.
    mb.ensure_folders(&["Processed", "Ignored", "Failed", "Erledigt-é", "INBOX"])
        .await
        .unwrap();
    for folder in ["Processed", "Ignored", "Failed", "Erledigt-é"] {
        mb.select(folder).await.unwrap();
        assert!(mb.uids().await.unwrap().is_empty());
    }

    let uids = wait_for(&mut mb, "INBOX", 2).await;
    mb.move_to(uids[0], "Processed").await.unwrap();
    mb.move_to(uids[1], "Erledigt-é").await.unwrap();
    assert!(
        mb.uids().await.unwrap().is_empty(),
        "INBOX still holds mail"
    );

    mb.select("Processed").await.unwrap();
    let filed = mb.uids().await.unwrap();
    assert_eq!(filed.len(), 1);
    let f = mb.fetch(filed[0], 2_000_000).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&f.raw).contains("Subject: one"));
    mb.select("Erledigt-é").await.unwrap();
    assert_eq!(mb.uids().await.unwrap().len(), 1);
    mb.logout().await;
}

#[tokio::test]
async fn without_move_copy_and_uid_expunge_file_only_that_message() {
    let s = stack();
    let user = unique("nomove");
    deliver(&s, SENDER, &user, &simple_message(&user, "keep", "stays")).await;
    deliver(&s, SENDER, &user, &simple_message(&user, "file", "goes")).await;

    let mut cfg = imap_cfg(&s, &user, TlsMode::None);
    cfg.host = s.nomove_host.clone();
    let mut mb = ImapSession::connect(&cfg).await.unwrap();
    let caps = mb.capabilities();
    assert!(!caps.move_ && caps.uidplus, "{caps:?}");
    mb.ensure_folders(&["Processed"]).await.unwrap();
    let uids = wait_for(&mut mb, "INBOX", 2).await;

    mb.move_to(uids[1], "Processed").await.unwrap();
    assert_eq!(
        mb.uids().await.unwrap(),
        vec![uids[0]],
        "only the moved one left INBOX"
    );
    assert!(mb.search("DELETED").await.unwrap().is_empty());
    mb.select("Processed").await.unwrap();
    let filed = mb.uids().await.unwrap();
    assert_eq!(filed.len(), 1);
    let f = mb.fetch(filed[0], 2_000_000).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&f.raw).contains("Subject: file"));
    mb.logout().await;
}

#[tokio::test]
async fn server_without_move_or_uidplus_is_refused() {
    let s = stack();
    let mut cfg = imap_cfg(&s, &unique("bare"), TlsMode::None);
    cfg.host = s.bare_host.clone();
    let err = ImapSession::connect(&cfg).await.unwrap_err();
    assert!(matches!(err, ImapError::Unsupported { .. }), "{err}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("MOVE") && text.contains("UIDPLUS"), "{text}");
}

#[tokio::test]
async fn tls_needs_the_stack_ca() {
    let s = stack();
    let user = unique("tls");
    for mode in [TlsMode::Implicit, TlsMode::Starttls] {
        ImapSession::connect(&imap_cfg(&s, &user, mode))
            .await
            .unwrap_or_else(|e| panic!("{mode:?} with the CA: {e}"))
            .logout()
            .await;
        let mut cfg = imap_cfg(&s, &user, mode);
        cfg.ca_file = None;
        let err = ImapSession::connect(&cfg).await.unwrap_err();
        assert!(matches!(err, ImapError::Tls(_)), "{mode:?}: {err}");
        assert!(
            err.to_string().contains("certificate not trusted"),
            "{mode:?}: {err}"
        );
        assert!(!err.is_retryable());

        let mut cfg = imap_cfg(&s, &user, mode);
        cfg.host = "127.0.0.1".into(); // in the certificate too
        ImapSession::connect(&cfg).await.unwrap().logout().await;
    }
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_without_the_password() {
    let s = stack();
    let mut cfg = imap_cfg(&s, &unique("auth"), TlsMode::Starttls);
    cfg.password = Secret::new("hunter2-wrong");
    let err = ImapSession::connect(&cfg).await.unwrap_err();
    assert!(matches!(err, ImapError::Auth { .. }), "{err}");
    assert!(!err.is_retryable());
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn nothing_listens_is_a_retryable_connect_error() {
    let s = stack();
    let mut cfg = imap_cfg(&s, &unique("down"), TlsMode::None);
    cfg.port = closed_port();
    let err = ImapSession::connect(&cfg).await.unwrap_err();
    assert!(matches!(err, ImapError::Connect { .. }), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn idle_wakes_on_new_mail_and_times_out_without() {
    let s = stack();
    let user = unique("idle");
    let mut mb = ImapSession::connect(&imap_cfg(&s, &user, TlsMode::Starttls))
        .await
        .unwrap();
    mb.select("INBOX").await.unwrap();

    let started = Instant::now();
    let (mut mb, woken) = mb.idle_wait(Duration::from_millis(800)).await.unwrap();
    assert!(!woken);
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert!(
        mb.uids().await.unwrap().is_empty(),
        "session usable after IDLE"
    );

    let raw = simple_message(&user, "wake", "up");
    let to = user.clone();
    let smtp_port = s.smtp;
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let s2 = Stack {
            smtp: smtp_port,
            ..stack()
        };
        deliver(&s2, SENDER, &to, &raw).await;
    });
    let started = Instant::now();
    let (mut mb, woken) = mb.idle_wait(Duration::from_secs(20)).await.unwrap();
    assert!(woken, "IDLE did not report the new message");
    assert!(started.elapsed() < Duration::from_secs(15));
    sender.await.unwrap();
    assert_eq!(wait_for(&mut mb, "INBOX", 1).await.len(), 1);

    // Polling mode (no IDLE): a timer, then NOOP.
    let mut cfg = imap_cfg(&s, &user, TlsMode::Starttls);
    cfg.idle = false;
    let mut polled = ImapSession::connect(&cfg).await.unwrap();
    polled.select("INBOX").await.unwrap();
    let started = Instant::now();
    let (polled, woken) = polled.idle_wait(Duration::from_millis(300)).await.unwrap();
    assert!(!woken);
    assert!(started.elapsed() >= Duration::from_millis(250));
    polled.logout().await;
    mb.logout().await;
}

fn reply(from: &str, to: &str, subject: &str) -> lettre::Message {
    lettre::Message::builder()
        .from(from.parse().unwrap())
        .to(to.parse().unwrap())
        .subject(subject)
        .message_id(Some(format!("<{}@example.test>", uuid::Uuid::new_v4())))
        .body(String::from("Your rejection was recorded.\r\n"))
        .unwrap()
}

#[tokio::test]
async fn sender_delivers_through_submission_and_smtps() {
    let s = stack();
    let bridge = unique("bridge");
    let approver = unique("approver");
    for (mode, subject) in [
        (TlsMode::Starttls, "via submission"),
        (TlsMode::Implicit, "via smtps"),
        (TlsMode::None, "via port 25"),
    ] {
        let mut cfg = smtp_cfg(&s, &bridge, mode);
        if mode == TlsMode::None {
            cfg.username = None;
            cfg.password = None;
        }
        let sender = Sender::new(&cfg).unwrap();
        sender
            .check()
            .await
            .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        sender
            .send(&reply(&bridge, &approver, subject))
            .await
            .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
    }
    let mut mb = ImapSession::connect(&imap_cfg(&s, &approver, TlsMode::Starttls))
        .await
        .unwrap();
    let uids = wait_for(&mut mb, "INBOX", 3).await;
    let mut subjects = Vec::new();
    for uid in uids {
        let f = mb.fetch(uid, 2_000_000).await.unwrap().unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&f.raw).unwrap();
        subjects.push(parsed.subject().unwrap().to_string());
    }
    subjects.sort();
    assert_eq!(subjects, ["via port 25", "via smtps", "via submission"]);
    mb.logout().await;
}

#[tokio::test]
async fn sender_errors_are_clear() {
    let s = stack();
    let bridge = unique("bridge-err");

    let mut cfg = smtp_cfg(&s, &bridge, TlsMode::Starttls);
    cfg.password = Some(Secret::new("hunter2-wrong"));
    let err = Sender::new(&cfg).unwrap().check().await.unwrap_err();
    assert!(matches!(err, SmtpError::Auth { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("hunter2"));

    for mode in [TlsMode::Starttls, TlsMode::Implicit] {
        let mut cfg = smtp_cfg(&s, &bridge, mode);
        cfg.ca_file = None;
        let sender = Sender::new(&cfg).unwrap();
        let err = sender.check().await.unwrap_err();
        assert!(matches!(err, SmtpError::Tls { .. }), "{mode:?}: {err}");
        assert!(
            err.to_string().contains("certificate not trusted"),
            "{mode:?}: {err}"
        );
        let send = sender
            .send(&reply(&bridge, "alice@example.test", "x"))
            .await
            .unwrap_err();
        assert!(
            matches!(send, SendError::Transient(_)),
            "{mode:?}: {send:?}"
        );
    }

    // Relaying off the machine is refused with a 5xx: permanent.
    let sender = Sender::new(&smtp_cfg(&s, &bridge, TlsMode::Starttls)).unwrap();
    let err = sender
        .send(&reply(&bridge, "someone@outside.invalid", "nope"))
        .await
        .unwrap_err();
    match err {
        SendError::Permanent(text) => {
            assert!(text.contains("554") || text.contains("Relay"), "{text}")
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}
