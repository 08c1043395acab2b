//! Unit tests of [`crate::reply::smtp`].

use super::*;
use crate::reply::smtp::classify::enhanced_code;
use std::time::Duration;

fn cfg(tls: TlsMode, port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls,
        username: None,
        password: None,
        auth: MailAuth::Password,
        oauth_scope: String::new(),
        ca_file: None,
        from: "Approvals <bridge@example.test>".parse().unwrap(),
        from_address: "bridge@example.test".into(),
        templates_dir: None,
        timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn xoauth2_without_token_is_a_config_error() {
    let mut c = cfg(TlsMode::Starttls, 587);
    c.auth = MailAuth::Xoauth2;
    let err = Sender::new(&c).unwrap_err();
    assert!(matches!(err, SmtpError::Config(_)), "{err}");
    let token = Secret::new("t");
    Sender::with_login(
        &c,
        SmtpLogin::Xoauth2 {
            user: "bridge@example.test",
            token: &token,
        },
    )
    .unwrap();
}

#[tokio::test]
async fn missing_ca_file_is_named() {
    let mut c = cfg(TlsMode::Implicit, 465);
    c.ca_file = Some("/nonexistent/ca.pem".into());
    let err = Sender::new(&c).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[test]
fn refusals_of_the_account_wait_and_refusals_of_the_recipient_do_not() {
    let to = vec!["carol@outside.invalid".to_string()];
    let c = |code: &str, text: &str| classify_5xx(code, text.to_string(), &to);
    for (code, text) in [
        ("535", "5.7.8 Authentication credentials invalid"),
        (
            "535",
            "5.7.139 Authentication unsuccessful, the user credentials were incorrect",
        ),
        ("530", "5.7.57 Client not authenticated to send mail"),
        (
            "550",
            "5.7.60 SMTP; Client does not have permissions to send as this sender",
        ),
        (
            "554",
            "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
        ),
        (
            "550",
            "5.7.708 Service unavailable. Access denied, traffic not accepted from this IP",
        ),
        (
            "553",
            "5.1.8 <bridge@example.test>: Sender address rejected: Domain not found",
        ),
        ("550", "Daily sending limit exceeded"),
    ] {
        assert!(
            matches!(c(code, text), SendError::Refused(_)),
            "{code} {text}"
        );
    }
    for (code, text) in [
        ("554", "5.7.1 <carol@outside.invalid>: Relay access denied"),
        ("550", "5.1.1 RESOLVER.ADR.RecipNotFound; not found"),
        ("552", "5.2.2 Mailbox full"),
        ("552", "5.3.4 Message size exceeds fixed limit"),
        ("550", "Requested action not taken: mailbox unavailable"),
    ] {
        assert!(
            matches!(c(code, text), SendError::Permanent(_)),
            "{code} {text}"
        );
    }
    assert_eq!(enhanced_code("x 5.7.139 y"), Some((5, 7, 139)));
    assert_eq!(enhanced_code("version 1.2.3"), None);
}

fn a_message() -> lettre::Message {
    lettre::Message::builder()
        .from("bridge@example.test".parse().unwrap())
        .to("alice@example.test".parse().unwrap())
        .subject("x")
        .body(String::from("x"))
        .unwrap()
}

#[test]
fn every_mail_carries_x_auto_response_suppress_once() {
    let msg = a_message();
    let raw = String::from_utf8(formatted_with_suppress(&msg)).unwrap();
    assert!(
        raw.starts_with("X-Auto-Response-Suppress: All\r\n"),
        "{raw}"
    );
    assert_eq!(raw.matches("X-Auto-Response-Suppress").count(), 1);
    let parsed = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    assert_eq!(parsed.subject(), Some("x"));
}

/// A scripted SMTP server on loopback: each session answers one message, then the server
/// closes it (as a server does with an idle session). Returns the port and the count of
/// messages it accepted.
async fn one_message_per_session_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        w.write_all(b"250 queued\r\n").await.unwrap();
                        // The session ends here: the next MAIL FROM finds it closed.
                        return;
                    } else if line.starts_with("EHLO") {
                        b"250-test\r\n250 8BITMIME\r\n"
                    } else if line == "DATA" {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else {
                        b"250 ok\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, accepted)
}

#[tokio::test]
async fn a_session_the_server_closed_is_replaced_and_the_message_sent_once() {
    let (port, accepted) = one_message_per_session_server().await;
    let sender = Sender::new(&cfg(TlsMode::None, port)).unwrap();
    for n in 1..=3 {
        sender.send(&a_message()).await.unwrap();
        assert_eq!(
            accepted.load(std::sync::atomic::Ordering::SeqCst),
            n,
            "each message is accepted exactly once"
        );
    }
}

#[tokio::test]
async fn unreachable_server_is_transient() {
    // Bind then drop a listener: the port is very likely closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sender = Sender::new(&cfg(TlsMode::None, port)).unwrap();
    let msg = a_message();
    let err = sender.send(&msg).await.unwrap_err();
    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
    let check = sender.check().await.unwrap_err();
    assert!(matches!(check, SmtpError::Connect { .. }), "{check}");
}
