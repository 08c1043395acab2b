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
//!
//! This file runs the checks and prints the lines; each check has its own file: `imap`, `smtp`
//! and `graph` (the notifier's line is [`crate::notify::check`]). Shared here: the DNS step, the
//! words for a network error ([`network_cause`]), the TLS label.

mod graph;
mod imap;
mod smtp;

#[cfg(test)]
mod tests;

use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use self::graph::check_graph;
use self::imap::check_imap;
use self::smtp::check_smtp;
use crate::config::GraphAuth;
use crate::config::{Config, TlsMode};
use crate::graph::{GraphClient, GraphOptions, RetryPolicy};
use crate::journal::Journal;

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
