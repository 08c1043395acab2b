//! Configuration: the TOML file (SPEC §6) plus `REJECT_BRIDGE__<SECTION>__<KEY>` environment
//! overrides, checked against one schema ([`KEYS`]) and validated into ready types (compiled regex,
//! parsed addresses, resolved paths) before anything touches the network.
//!
//! Every problem is collected, not just the first: [`ConfigErrors`] holds one line per problem, each
//! naming its key (or the environment variable), and the command line exits 2 with all of them.
//!
//! Keys of features marked *(later)* in the SPEC (`graph.act_as = "approver"`, `[web]`) are
//! accepted and validated here even where the feature behind them is not built yet.
//!
//! This file holds [`Config`], its entry points ([`Config::load`], [`Config::from_parts`]) and
//! the order in which the sections are read. The steps of a load, each in its own file:
//! `schema.rs` (every key and its type; unknown keys), `env.rs` (the overrides merged into the
//! table), `fields.rs` (typed reads, each failure an error naming its key). Then one file per
//! section, holding its validated type and the function that builds it: `mail.rs` (`[imap]`,
//! `[smtp]`), `graph.rs`, `approvers.rs` (its default word lists in `words.rs`), `notify.rs`,
//! `state.rs`, `alerts.rs`, `listeners.rs` (`[web]`, `[metrics]`); small checks the sections
//! share are in `values.rs`.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Table;

mod alerts;
mod approvers;
mod env;
mod fields;
mod graph;
mod listeners;
mod mail;
mod notify;
mod schema;
mod state;
mod values;
mod words;

pub use alerts::AlertsConfig;
pub use approvers::{Allowed, ApproversConfig, AuthMode};
pub use env::ENV_PREFIX;
pub use graph::{
    ActAs, DEFAULT_DELEGATED_SCOPE, DEFAULT_JUSTIFICATION_TEMPLATE, DEFAULT_REQUEST_ID_PATTERN,
    GraphAuth, GraphConfig, GraphCredential,
};
pub use listeners::{MetricsConfig, WebConfig};
pub use mail::{ImapConfig, MailAuth, ReadBudget, SmtpConfig, TlsMode, message_id_domain};
pub use notify::{DEFAULT_PORTAL_URL, NotifyConfig, ReplyKeyMode, Resolve};
pub use schema::{KEYS, Kind};
pub use state::StateConfig;
pub use values::is_loopback;
pub use words::{
    DEFAULT_APPROVAL_WORDS, DEFAULT_ASSENT_WORDS, DEFAULT_GREETING_WORDS, DEFAULT_REJECTION_WORDS,
};

use fields::Fields;

/// All the problems found in a configuration, one line each, every line naming its key.
#[derive(Debug, Default)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from (for messages only).
    pub source: PathBuf,
    pub imap: ImapConfig,
    pub smtp: SmtpConfig,
    pub graph: GraphConfig,
    pub approvers: ApproversConfig,
    pub notify: NotifyConfig,
    pub state: StateConfig,
    pub metrics: MetricsConfig,
    pub alerts: AlertsConfig,
    pub web: WebConfig,
}

impl Config {
    /// Reads `path`, applies the process environment's overrides and validates everything.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![format!(
                "--config: cannot read {}: {e}",
                path.display()
            )])
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base_dir = if base_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base_dir
        };
        Config::from_parts(path, &text, &base_dir, env::process_env())
    }

    /// Validates `text` with `env` as the environment; relative paths resolve against `base_dir`.
    pub fn from_parts(
        source: &Path,
        text: &str,
        base_dir: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        let mut table: Table = match text.parse::<Table>() {
            Ok(t) => t,
            Err(e) => {
                let msg = e.message().to_string();
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
                let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                return Err(ConfigErrors(vec![format!(
                    "{}{at}: not valid TOML: {msg}",
                    source.display()
                )]));
            }
        };
        schema::check_unknown(&table, &mut errors);
        env::apply_env(&mut table, env, &mut errors);
        let mut f = Fields {
            table: &table,
            errors: &mut errors,
            base_dir,
        };
        let config = build(&mut f, source);
        if errors.is_empty() {
            Ok(config.expect("a config is built whenever no error was recorded"))
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// Reads the sections in the order their errors are reported. A section whose required keys are
/// missing yields `None` (its errors are recorded); what a later section needs from an earlier
/// one (the mail logins, `smtp.from`, `graph.act_as`, `approvers.allowed`) is passed on even then.
fn build(f: &mut Fields<'_>, source: &Path) -> Option<Config> {
    let imap = mail::build_imap(f);
    let smtp = mail::build_smtp(f);
    let mail_auths = [("imap", imap.auth), ("smtp", smtp.auth)];
    let graph = graph::build(f, &mail_auths);
    let approvers = approvers::build(f);
    let notify = notify::build(f, &approvers.allowed, smtp.from_address.as_deref());
    let state = state::build(f);
    let alerts = alerts::build(f);
    let web = listeners::build_web(f, graph.act_as);
    let metrics = listeners::build_metrics(f);
    Some(Config {
        source: source.to_path_buf(),
        imap: imap.config?,
        smtp: smtp.config?,
        graph: graph.config?,
        approvers,
        notify,
        state: state?,
        metrics,
        alerts,
        web,
    })
}

#[cfg(test)]
mod tests;
