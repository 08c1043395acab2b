//! The `smtp` line: DNS, connect, TLS, AUTH when configured (password or XOAUTH2), then
//! `MAIL FROM` and `RSET`: the server accepts the sender, and nothing is sent.

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Mail, Rset};
use lettre::transport::smtp::extension::ClientId;

use super::graph::mail_token;
use super::{network_cause, resolve, tls_label};
use crate::config::{Config, MailAuth, TlsMode};
use crate::graph::GraphClient;
use crate::reply::smtp;

pub(super) async fn check_smtp(
    config: &Config,
    graph: Option<&GraphClient>,
) -> Result<String, String> {
    let s = &config.smtp;
    let (host, port) = (s.host.as_str(), s.port);
    resolve(host, port, "smtp.host").await?;
    let tls = smtp::tls_for(s).map_err(|e| e.to_string())?;
    let hello = ClientId::default();
    let implicit = if s.tls == TlsMode::Implicit {
        tls.clone()
    } else {
        None
    };
    let mut conn =
        AsyncSmtpConnection::connect_tokio1((host, port), Some(s.timeout), &hello, implicit, None)
            .await
            .map_err(|e| smtp_words(config, &e, "connect"))?;
    let result = smtp_dialogue(config, graph, &mut conn, tls, &hello).await;
    if result.is_ok() {
        let _ = conn.quit().await;
    }
    // On failure the connection is only dropped: after a failed TLS upgrade lettre's stream is
    // gone and even a QUIT would panic inside lettre.
    let (login, from) = result?;
    Ok(format!(
        "connected to {host}:{port} ({}), {login}, MAIL FROM:<{from}> accepted (then RSET: nothing was sent)",
        tls_label(s.tls)
    ))
}

/// STARTTLS, AUTH, MAIL FROM, RSET on an open connection; what the login was, and the sender.
async fn smtp_dialogue(
    config: &Config,
    graph: Option<&GraphClient>,
    conn: &mut AsyncSmtpConnection,
    tls: Option<lettre::transport::smtp::client::TlsParameters>,
    hello: &ClientId,
) -> Result<(String, String), String> {
    let s = &config.smtp;
    if let (TlsMode::Starttls, Some(params)) = (s.tls, tls) {
        if !conn.can_starttls() {
            return Err(format!(
                "{}:{} does not offer STARTTLS (check smtp.port and smtp.tls)",
                s.host, s.port
            ));
        }
        conn.starttls(params, hello)
            .await
            .map_err(|e| smtp_words(config, &e, "STARTTLS"))?;
    }
    let login = match (s.auth, &s.username, &s.password) {
        (MailAuth::Xoauth2, Some(user), _) => {
            let token = mail_token(graph, &s.oauth_scope).await?;
            let credentials = Credentials::new(user.clone(), token.expose().to_owned());
            conn.auth(&[Mechanism::Xoauth2], &credentials)
                .await
                .map_err(|e| smtp_words(config, &e, "AUTH"))?;
            format!("logged in as {user} (XOAUTH2)")
        }
        (MailAuth::Password, Some(user), Some(password)) => {
            let credentials = Credentials::new(user.clone(), password.expose().to_owned());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(|e| smtp_words(config, &e, "AUTH"))?;
            format!("logged in as {user} (password)")
        }
        _ => "no login configured".to_string(),
    };
    let from: lettre::Address = s
        .from_address
        .parse()
        .map_err(|e| format!("smtp.from {}: not an address: {e}", s.from_address))?;
    conn.command(Mail::new(Some(from.clone()), Vec::new()))
        .await
        .map_err(|e| {
            format!(
                "the server refuses the sender: MAIL FROM:<{from}> answered {} (check smtp.from and that {} may send as it)",
                crate::reply::smtp::error_chain(&e),
                s.username.as_deref().unwrap_or("this client")
            )
        })?;
    conn.command(Rset)
        .await
        .map_err(|e| smtp_words(config, &e, "RSET"))?;
    Ok((login, from.to_string()))
}

fn smtp_words(config: &Config, e: &lettre::transport::smtp::Error, step: &str) -> String {
    let s = &config.smtp;
    let (host, port) = (s.host.as_str(), s.port);
    if let Some(tls) = crate::tls::describe(e) {
        return format!("TLS with {host} failed: {tls}");
    }
    if smtp::is_auth_refusal(e) {
        let user = s.username.as_deref().unwrap_or("");
        let said = if e.status().is_some() {
            crate::reply::smtp::error_chain(e)
        } else {
            "an error challenge instead of 235 (the token was refused)".to_string()
        };
        return match s.auth {
            MailAuth::Password => format!(
                "wrong password: login as {user} refused (check smtp.username and smtp.password; the server said: {said})"
            ),
            MailAuth::Xoauth2 => format!(
                "login as {user} with an OAuth token refused (check that the app has SMTP.SendAsApp, its service principal has Add-MailboxPermission on {user}, SMTP AUTH is enabled for the mailbox, and smtp.oauth_scope; the server said: {said})"
            ),
        };
    }
    let text = crate::reply::smtp::error_chain(e);
    if e.is_timeout() {
        return format!(
            "timeout during {step} with {host}:{port} (host unreachable, or a firewall drops the packets?)"
        );
    }
    if let Some(cause) = network_cause(&text, host, port) {
        return cause;
    }
    if e.is_tls() {
        return format!("TLS with {host} failed during {step}: {text}");
    }
    format!("{step} with {host}:{port} failed: {text}")
}
