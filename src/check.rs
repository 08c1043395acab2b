//! `reject-bridge check` (SPEC §2): after the configuration validated, try each connection the
//! service needs and print one line per check, `ok   name: what works` or `FAIL name: why`, the
//! cause in words an operator can act on (wrong password, certificate not trusted / name mismatch
//! / expired, connection refused, DNS failure, timeout, missing permission) and never a secret.
//!
//! - `imap`: DNS, connect, TLS, login (password or XOAUTH2), `imap.mailbox` exists, which filing
//!   folders exist and which the service would create, IDLE / MOVE / UIDPLUS.
//! - `smtp`: DNS, connect, TLS, AUTH when configured (password or XOAUTH2), then `MAIL FROM` and
//!   `RSET`: the server accepts the sender, and nothing is sent.
//! - `graph`: with `graph.auth = "delegated"`, the stored sign-in refreshed (who, since when, which
//!   scopes) and whether that user is in an approver group of the MAA policies (where readable);
//!   with client credentials, a token for `graph.scope` and a test decision on a request that
//!   cannot exist (the nil GUID), because Intune documents that applications cannot decide: a 403
//!   fails the line with the fix. With `--request ID`, a GET of that request, its status, and who
//!   will decide it.
//!
//! The checks run side by side and independently (one failing never hides another), each step
//! under the configured timeout capped at [`STEP_TIMEOUT_CAP`], each check under [`CHECK_TIMEOUT`].
//! Nothing is changed anywhere: no folder created, no message sent, no request touched (a refreshed
//! sign-in's rotated token is stored, as the service would).

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Mail, Rset};
use lettre::transport::smtp::extension::ClientId;

use crate::config::{ActAs, GraphAuth};
use crate::config::{Config, MailAuth, TlsMode};
use crate::graph::{GraphClient, GraphError, GraphOptions, RetryPolicy};
use crate::imap::{ImapError, ImapSession, Login};
use crate::journal::Journal;
use crate::reply::smtp;
use crate::secret::Secret;
use std::sync::Arc;

/// No single network step of a check waits longer than this (or the configured timeout when
/// shorter): an operator at a terminal wants an answer, not the service's patience.
pub const STEP_TIMEOUT_CAP: Duration = Duration::from_secs(20);

/// A whole check (all its steps) gives up after this.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// The result of one check: its name (`imap`, `smtp`, `graph`) and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckLine {
    pub name: &'static str,
    pub ok: bool,
    pub text: String,
}

impl fmt::Display for CheckLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.ok { "ok  " } else { "FAIL" };
        write!(f, "{mark} {}: {}", self.name, self.text)
    }
}

fn ok(name: &'static str, text: String) -> CheckLine {
    CheckLine {
        name,
        ok: true,
        text,
    }
}

fn fail(name: &'static str, text: String) -> CheckLine {
    CheckLine {
        name,
        ok: false,
        text,
    }
}

/// The command: prints `ok   config` and one line per check on stdout; exit 0 when all passed,
/// 1 otherwise. `config` is already validated (a bad one exits 2 before this).
pub async fn command(config: Config, request: Option<&str>) -> ExitCode {
    println!("ok   config: {}", config.source.display());
    let lines = run(&config, request).await;
    for line in &lines {
        println!("{line}");
    }
    if lines.iter().all(|l| l.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs every check side by side; the lines come back in a fixed order (imap, smtp, graph, and
/// notify when `[notify] enabled`).
pub async fn run(config: &Config, request: Option<&str>) -> Vec<CheckLine> {
    let config = capped(config);
    // The delegated sign-in lives in the journal; a refresh stores its rotated token there.
    let journal = (config.graph.auth == GraphAuth::Delegated && config.state.path.exists())
        .then(|| Journal::open(&config.state.path).ok().map(Arc::new))
        .flatten();
    let graph = GraphClient::for_service(
        &config,
        GraphOptions {
            // One attempt: a check reports what happens now, it does not wait out an outage.
            retry: RetryPolicy::with_budget(Duration::ZERO),
            resolve: Vec::new(),
        },
        journal,
    );
    let notify = async {
        match config.notify.enabled {
            true => {
                Some(bounded("notify", crate::notify::check(&config, graph.as_ref().ok())).await)
            }
            false => None,
        }
    };
    let (imap, smtp, graph_line, notify_line) = tokio::join!(
        bounded("imap", check_imap(&config, graph.as_ref().ok())),
        bounded("smtp", check_smtp(&config, graph.as_ref().ok())),
        bounded("graph", check_graph(&config, graph.as_ref(), request)),
        notify,
    );
    let mut lines = vec![imap, smtp, graph_line];
    lines.extend(notify_line);
    lines
}

/// The config with every timeout capped at [`STEP_TIMEOUT_CAP`].
fn capped(config: &Config) -> Config {
    let mut c = config.clone();
    c.imap.timeout = c.imap.timeout.min(STEP_TIMEOUT_CAP);
    c.smtp.timeout = c.smtp.timeout.min(STEP_TIMEOUT_CAP);
    c.graph.timeout = c.graph.timeout.min(STEP_TIMEOUT_CAP);
    c
}

async fn bounded(
    name: &'static str,
    check: impl Future<Output = Result<String, String>>,
) -> CheckLine {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(text)) => ok(name, text),
        Ok(Err(text)) => fail(name, text),
        Err(_) => fail(
            name,
            format!(
                "timeout: no result after {}s (host unreachable, or a firewall drops the packets?)",
                CHECK_TIMEOUT.as_secs()
            ),
        ),
    }
}

fn tls_label(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Implicit => "implicit TLS",
        TlsMode::Starttls => "STARTTLS",
        TlsMode::None => "no TLS",
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Resolves `host` (an IP address needs no DNS); a failure is a DNS failure in words.
async fn resolve(host: &str, port: u16, key: &str) -> Result<(), String> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    match tokio::net::lookup_host((host, port))
        .await
        .map(|a| a.count())
    {
        Ok(n) if n > 0 => Ok(()),
        Ok(_) => Err(format!("DNS failure: {host} has no address (check {key})")),
        Err(e) => Err(format!(
            "DNS failure: cannot resolve {host} ({e}); check {key} and this machine's DNS"
        )),
    }
}

/// What a network error's text means, in words; `None` when it is none of the usual causes.
pub fn network_cause(text: &str, host: &str, port: u16) -> Option<String> {
    let t = text.to_ascii_lowercase();
    if t.contains("connection refused") {
        Some(format!(
            "connection refused: nothing listens on {host}:{port} (check the host, the port and the firewall)"
        ))
    } else if t.contains("no route to host") || t.contains("host is unreachable") {
        Some(format!("host unreachable: no route to {host}"))
    } else if t.contains("network is unreachable") {
        Some(format!(
            "host unreachable: the network of {host} cannot be reached from here"
        ))
    } else if t.contains("failed to lookup address")
        || t.contains("name or service not known")
        || t.contains("dns error")
        || t.contains("no address associated")
    {
        Some(format!("DNS failure: cannot resolve {host}"))
    } else if t.contains("timed out") || t.contains("deadline has elapsed") {
        Some(format!(
            "timeout: {host}:{port} did not answer in time (host unreachable, or a firewall drops the packets?)"
        ))
    } else if t.contains("connection reset") || t.contains("broken pipe") {
        Some(format!(
            "{host}:{port} closed the connection (wrong port or tls mode?)"
        ))
    } else {
        None
    }
}

async fn mail_token(graph: Option<&GraphClient>, scope: &str) -> Result<Secret, String> {
    let Some(graph) = graph else {
        return Err(format!(
            "no OAuth token for {scope}: the Graph client could not be set up (see the graph line)"
        ));
    };
    graph.token_for(scope).await.map_err(|e| {
        let authority = graph_host(Some(graph.tokens().token_url()));
        format!(
            "no OAuth token for {scope}: {}",
            graph_words(&e, &authority)
        )
    })
}

// ---------------------------------------------------------------- IMAP

async fn check_imap(config: &Config, graph: Option<&GraphClient>) -> Result<String, String> {
    let imap = &config.imap;
    resolve(&imap.host, imap.port, "imap.host").await?;
    let (token, method) = match imap.auth {
        MailAuth::Password => (None, "password"),
        MailAuth::Xoauth2 => (Some(mail_token(graph, &imap.oauth_scope).await?), "XOAUTH2"),
    };
    let login = match &token {
        Some(token) => Login::Xoauth2 { token },
        None => Login::Password(&imap.password),
    };
    let mut mb = ImapSession::connect_with(imap, login)
        .await
        .map_err(|e| imap_words(config, &e))?;
    let result = imap_details(config, &mut mb).await;
    mb.logout().await;
    let details = result.map_err(|e| imap_words(config, &e))??;
    Ok(format!(
        "connected to {}:{} ({}), logged in as {} ({method}), {details}",
        imap.host,
        imap.port,
        tls_label(imap.tls),
        imap.username
    ))
}

/// After login: the mailbox, the folders, the capabilities. The inner `Err` is a finding (the
/// mailbox is missing), the outer one a protocol failure.
async fn imap_details(
    config: &Config,
    mb: &mut ImapSession,
) -> Result<Result<String, String>, ImapError> {
    let imap = &config.imap;
    let Some(count) = mb.examine(&imap.mailbox).await? else {
        return Ok(Err(format!(
            "logged in as {}, but the mailbox {:?} does not exist (check imap.mailbox)",
            imap.username, imap.mailbox
        )));
    };
    let folders = [
        imap.processed_mailbox.as_str(),
        imap.ignored_mailbox.as_str(),
        imap.failed_mailbox.as_str(),
    ];
    let missing = mb.missing_folders(&folders).await?;
    let folders_text = if missing.is_empty() {
        format!("folders {} exist", folders.join(", "))
    } else {
        let present: Vec<&str> = folders
            .iter()
            .copied()
            .filter(|f| !missing.iter().any(|m| m == f))
            .collect();
        let mut t = String::new();
        if !present.is_empty() {
            t.push_str(&format!("folders {} exist, ", present.join(", ")));
        }
        t.push_str(&format!(
            "{} would be created at the first run",
            missing.join(", ")
        ));
        t
    };
    let caps = mb.capabilities();
    let idle = if caps.idle {
        "yes".to_string()
    } else {
        format!(
            "no (the service polls every {}s)",
            imap.poll_interval.as_secs()
        )
    };
    Ok(Ok(format!(
        "mailbox {} holds {count} message(s), {folders_text}, IDLE {idle}, MOVE {}, UIDPLUS {}",
        imap.mailbox,
        yes_no(caps.move_),
        yes_no(caps.uidplus),
    )))
}

fn imap_words(config: &Config, e: &ImapError) -> String {
    let imap = &config.imap;
    let (host, port) = (imap.host.as_str(), imap.port);
    match e {
        ImapError::Connect { reason, .. } => network_cause(reason, host, port)
            .unwrap_or_else(|| format!("cannot connect to {host}:{port}: {reason}")),
        ImapError::Tls(t) => t.to_string(),
        ImapError::Auth { user, reason } => match (imap.auth, server_text(reason)) {
            (MailAuth::Password, said) => format!(
                "wrong password: login as {user} refused (check imap.username and imap.password; the server said: {said})"
            ),
            (MailAuth::Xoauth2, said) => format!(
                "login as {user} with an OAuth token refused (check that the app has IMAP.AccessAsApp, its service principal is registered in Exchange and has Add-MailboxPermission on {user}, and imap.oauth_scope; the server said: {said})"
            ),
        },
        ImapError::Timeout { step, after } => match *step {
            "connect" => format!(
                "timeout: no connection to {host}:{port} after {}s (host unreachable, or a firewall drops the packets?)",
                after.as_secs()
            ),
            "greeting" | "TLS handshake" | "STARTTLS" => format!(
                "timeout: {host}:{port} accepted the connection but did not answer during {step} after {}s (check imap.port and imap.tls)",
                after.as_secs()
            ),
            _ => format!("timeout: {step} took more than {}s", after.as_secs()),
        },
        ImapError::Connection { step, reason } => network_cause(reason, host, port)
            .unwrap_or_else(|| format!("connection lost during {step}: {reason}")),
        other => other.to_string(),
    }
}

/// The server's own words from an async-imap NO/BAD text (`code: None, info: Some("…")`).
fn server_text(reason: &str) -> &str {
    reason
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map(|(inner, _)| inner)
        .unwrap_or(reason)
}

// ---------------------------------------------------------------- SMTP

async fn check_smtp(config: &Config, graph: Option<&GraphClient>) -> Result<String, String> {
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

// ---------------------------------------------------------------- Graph

/// Host and port of a URL, for messages.
fn graph_host(url: Option<&str>) -> (String, u16) {
    url.and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| Some((u.host_str()?.to_string(), u.port_or_known_default()?)))
        .unwrap_or_else(|| ("the server".into(), 443))
}

fn graph_words(e: &GraphError, (host, port): &(String, u16)) -> String {
    let (host, port) = (host.as_str(), *port);
    match e {
        GraphError::Transport { what, message } => network_cause(message, host, port)
            .map(|c| format!("{what}: {c}"))
            .or_else(|| crate::tls::describe(e).map(|t| format!("TLS with {host}: {t}")))
            .unwrap_or_else(|| e.to_string()),
        GraphError::Api {
            status: 403,
            code,
            message,
            ..
        } => format!(
            "missing permission (403 {code}): the app lacks the Graph application permission for Intune operationApprovalRequests, or admin consent was not granted (see docs/production.md); Graph said: {message}"
        ),
        GraphError::Api {
            status: 401,
            code,
            message,
            ..
        } => format!(
            "Graph refused the token (401 {code}): check graph.tenant_id, graph.scope and graph.base_url (same cloud); Graph said: {message}"
        ),
        other => other.to_string(),
    }
}

async fn check_graph(
    config: &Config,
    graph: Result<&GraphClient, &GraphError>,
    request: Option<&str>,
) -> Result<String, String> {
    let g = &config.graph;
    let graph = graph.map_err(|e| e.to_string())?;
    let login_host = graph_host(Some(&g.authority));
    let api_host = graph_host(Some(&g.base_url));
    if g.act_as == ActAs::Approver {
        return Ok(check_approvers(config));
    }
    let (mut text, who) = match g.auth {
        GraphAuth::Delegated => check_signin(config, graph).await?,
        GraphAuth::ClientCredentials => {
            graph
                .check_token()
                .await
                .map_err(|e| graph_words(&e, &login_host))?;
            // Microsoft documents that applications cannot decide MAA requests: find out.
            match graph.probe_decision().await {
                Ok(()) => {}
                Err(e) if e.status() == Some(403) => {
                    return Err(format!(
                        "token ok, but Intune refuses decisions made by an application (403 {}): only interactive admin accounts can approve or reject; set graph.auth = \"delegated\" and run `{}` as a service account in the approver group (docs/production.md)",
                        e.code(),
                        crate::graph::signin::login_command(config)
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "token ok, but a test decision failed: {}",
                        graph_words(&e, &api_host)
                    ));
                }
            }
            (
                format!(
                    "token for {} from {} (tenant {}, client {}); application decisions accepted",
                    g.scope, login_host.0, g.tenant_id, g.client_id
                ),
                format!("the application {}", g.client_id),
            )
        }
    };
    if let Some(id) = request {
        match graph.status(id).await {
            Ok(status) => text.push_str(&format!(
                ", request {id} read: status {}; decisions are made as {who}",
                status.status
            )),
            Err(e) if e.status() == Some(404) => {
                return Err(format!(
                    "token ok, but request {id} was not found (404): no such operationApprovalRequest in this tenant"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "token ok, but reading request {id} failed: {}",
                    graph_words(&e, &api_host)
                ));
            }
        }
    }
    Ok(text)
}

/// `graph.act_as = "approver"`: how many approvers linked their account, and where they link.
fn check_approvers(config: &Config) -> String {
    let linked = crate::graph::signin::approvers::list(config).unwrap_or_default();
    let lost = linked.iter().filter(|a| a.health != "ok").count();
    format!(
        "decisions are made with each approver's own account (graph.act_as = \"approver\"): {} linked{}; unlinked approvers get a link to {}/link/…",
        linked.len(),
        if lost > 0 {
            format!(" ({lost} with a lost sign-in: a fresh link on their next reply)")
        } else {
            String::new()
        },
        config.web.public_url.as_deref().unwrap_or_default()
    )
}

/// `graph.auth = "delegated"`: who is signed in, since when, with which scopes, and whether
/// that user is in an approver group of the MAA policies. Returns the line and who decides.
async fn check_signin(config: &Config, graph: &GraphClient) -> Result<(String, String), String> {
    let login = crate::graph::signin::login_command(config);
    let Some(signin) = graph.signin() else {
        return Err(format!(
            "no sign-in stored (no journal at {}): run `{login}`",
            config.state.path.display()
        ));
    };
    if let Err(e) = graph.check_token().await {
        return Err(match e {
            GraphError::SignIn { reason } => {
                format!("no usable sign-in: the delegated sign-in {reason}; run `{login}`")
            }
            other => graph_words(&other, &graph_host(Some(&config.graph.authority))),
        });
    }
    let stored = signin.stored().await.ok().flatten();
    let user = stored
        .as_ref()
        .and_then(|s| s.username.clone())
        .unwrap_or_else(|| "(unknown user)".into());
    let mut text = format!("signed in as {user}");
    if let Some(s) = &stored {
        if let Some(name) = &s.display_name {
            text.push_str(&format!(" ({name})"));
        }
        text.push_str(&format!(
            ", last refreshed {}, scopes: {}",
            s.refreshed_at,
            s.scopes.join(" ")
        ));
    }
    let policies = graph
        .get_json("deviceManagement/operationApprovalPolicies")
        .await;
    let groups = graph.get_json("me/transitiveMemberOf").await;
    match (policies, groups) {
        (Ok(p), Ok(g)) => {
            let approver_groups: Vec<String> = p["value"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| p["approverGroupIds"].as_array().cloned().unwrap_or_default())
                .filter_map(|id| id.as_str().map(str::to_lowercase))
                .collect();
            let mine: Vec<(String, String)> = g["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| {
                    let id = g["id"].as_str()?.to_lowercase();
                    let name = g["displayName"].as_str().unwrap_or(&id).to_string();
                    Some((id, name))
                })
                .collect();
            let member: Vec<&str> = mine
                .iter()
                .filter(|(id, _)| approver_groups.contains(id))
                .map(|(_, name)| name.as_str())
                .collect();
            if approver_groups.is_empty() {
                text.push_str("; no MAA policy names an approver group");
            } else if member.is_empty() {
                return Err(format!(
                    "{text}; but {user} is in none of the approver groups of the MAA policies: Intune will refuse its decisions; add it to an approver group"
                ));
            } else {
                text.push_str(&format!("; member of approver group {}", member.join(", ")));
            }
        }
        (Err(e), _) | (_, Err(e)) => text.push_str(&format!(
            "; approver groups not checked ({}: the sign-in may lack DeviceManagementRBAC.Read.All or GroupMember.Read.All)",
            e.code()
        )),
    }
    Ok((text, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_start_with_ok_or_fail() {
        assert_eq!(ok("imap", "fine".into()).to_string(), "ok   imap: fine");
        assert_eq!(fail("smtp", "bad".into()).to_string(), "FAIL smtp: bad");
    }

    #[test]
    fn network_causes_in_words() {
        let c = |t: &str| network_cause(t, "mail.example", 993).unwrap_or_default();
        assert!(c("Connection refused (os error 111)").starts_with("connection refused"));
        assert!(c("No route to host (os error 113)").starts_with("host unreachable"));
        assert!(c("Network is unreachable (os error 101)").starts_with("host unreachable"));
        assert!(
            c("failed to lookup address information: Name or service not known")
                .starts_with("DNS failure")
        );
        assert!(c("operation timed out").starts_with("timeout"));
        assert_eq!(network_cause("500 oops", "h", 1), None);
    }

    #[test]
    fn server_words_are_unwrapped() {
        assert_eq!(
            server_text(
                r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#
            ),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        assert_eq!(server_text("plain"), "plain");
    }

    #[test]
    fn forbidden_is_a_missing_permission() {
        let e = GraphError::Api {
            status: 403,
            code: "Forbidden".into(),
            message: "Application is not authorized".into(),
            request_id: None,
            retry_after: None,
            retryable: false,
        };
        let text = graph_words(&e, &("graph.microsoft.com".into(), 443));
        assert!(text.starts_with("missing permission (403"), "{text}");
    }
}
