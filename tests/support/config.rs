//! A bridge config file for the stack and a graph-sim: IMAP STARTTLS and submission with the
//! stack's CA, logging in as one user. Tests change what they need with struct-update syntax
//! (`BridgeConfig { retry_max_secs: 60, ..BridgeConfig::new(…) }`) and add keys a section does
//! not set by default as raw TOML lines (`imap_extra`, …).

use std::path::Path;

use super::sim::{CLIENT_ID, SECRET, TENANT};
use super::stack::Stack;

#[derive(Clone, Debug)]
pub struct BridgeConfig {
    /// IMAP and SMTP login, and the address in `smtp.from`.
    pub user: String,
    pub password: String,
    pub ca: String,
    pub imap_host: String,
    pub imap_port: u16,
    pub smtp_port: u16,
    /// The display name of `smtp.from`.
    pub from_name: String,
    /// The simulator's `http://127.0.0.1:PORT` (Graph base URL and authority).
    pub sim_url: String,
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    pub retry_max_secs: u64,
    /// `approvers.allowed`.
    pub allowed: Vec<String>,
    /// `state.path` (relative to the config file's folder, or absolute).
    pub state: String,
    /// Raw `key = value` lines added to `[imap]`, `[smtp]`, `[graph]`, `[approvers]`.
    pub imap_extra: Vec<String>,
    pub smtp_extra: Vec<String>,
    pub graph_extra: Vec<String>,
    pub approvers_extra: Vec<String>,
}

impl BridgeConfig {
    /// `user` on the stack's IMAP (127.0.0.1) and submission ports, Graph at `sim_url` with the
    /// simulator's default tenant, client and secret, `@example.test` allowed, state in
    /// `state.db`, retries given up after 2 s.
    pub fn new(s: &Stack, user: &str, sim_url: &str) -> BridgeConfig {
        BridgeConfig {
            user: user.into(),
            password: s.get("RB_PASSWORD"),
            ca: s.ca.display().to_string(),
            imap_host: "127.0.0.1".into(),
            imap_port: s.imap,
            smtp_port: s.submission,
            from_name: "Approvals".into(),
            sim_url: sim_url.into(),
            tenant: TENANT.into(),
            client_id: CLIENT_ID.into(),
            client_secret: SECRET.into(),
            retry_max_secs: 2,
            allowed: vec!["@example.test".into()],
            state: "state.db".into(),
            imap_extra: Vec::new(),
            smtp_extra: Vec::new(),
            graph_extra: Vec::new(),
            approvers_extra: Vec::new(),
        }
    }

    /// The TOML text.
    pub fn render(&self) -> String {
        let allowed: Vec<String> = self.allowed.iter().map(|a| format!("{a:?}")).collect();
        format!(
            r#"[imap]
host = "{imap_host}"
port = {imap_port}
tls = "starttls"
ca_file = "{ca}"
username = "{user}"
password = "{password}"
{imap_extra}

[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "starttls"
ca_file = "{ca}"
username = "{user}"
password = "{password}"
from = "{from_name} <{user}>"
{smtp_extra}

[graph]
base_url = "{sim}/beta"
authority = "{sim}"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret = "{secret}"
retry_max_secs = {retry}
{graph_extra}

[approvers]
allowed = [{allowed}]
trusted_authserv_id = "mx.example.test"
{approvers_extra}

[state]
path = "{state}"
"#,
            imap_host = self.imap_host,
            imap_port = self.imap_port,
            ca = self.ca,
            user = self.user,
            password = self.password,
            imap_extra = self.imap_extra.join("\n"),
            smtp_port = self.smtp_port,
            from_name = self.from_name,
            smtp_extra = self.smtp_extra.join("\n"),
            sim = self.sim_url,
            tenant = self.tenant,
            client = self.client_id,
            secret = self.client_secret,
            retry = self.retry_max_secs,
            graph_extra = self.graph_extra.join("\n"),
            approvers_extra = self.approvers_extra.join("\n"),
            allowed = allowed.join(", "),
            state = self.state,
        )
    }

    /// Writes the file at `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.render()).expect("write the bridge config");
    }
}
