//! The command line: the arguments (documented at the top of `main.rs`), the certificates and
//! the seed file they name, and the simulator's starting state built from them, with every
//! problem found reported together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use sha2::{Digest, Sha256};

use crate::state::{Cert, Settings, SimState};
use crate::{delegated, directory};

#[derive(Parser, Debug)]
#[command(
    name = "graph-sim",
    about = "Simulated Entra ID token endpoint and Graph operationApprovalRequests"
)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    #[arg(long)]
    seed: Option<PathBuf>,
    #[arg(long = "certificate")]
    certificates: Vec<PathBuf>,
    #[arg(long)]
    client_secret: Option<String>,
    #[arg(long, default_value = "sim-tenant")]
    pub tenant: String,
    #[arg(long, default_value = "sim-client")]
    pub client_id: String,
    #[arg(long, default_value_t = 3599)]
    token_lifetime_secs: u64,
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    #[arg(long)]
    any_audience: bool,
    #[arg(long)]
    mailbox_user: Option<String>,
    #[arg(long, default_value = "https://outlook.office365.com/.default")]
    mail_scope: String,
    /// Who may approve or reject: `delegated-only` (what Intune documents: "only interactive
    /// admin accounts") or `any` (application tokens too).
    #[arg(long, default_value = "delegated-only", value_parser = ["delegated-only", "any"])]
    decisions: String,
    /// Turn "Allow public client flows" off: delegated grants then need the app's credential.
    #[arg(long)]
    confidential_only: bool,
    #[arg(long, default_value_t = 5)]
    device_code_interval_secs: u64,
    #[arg(long, default_value_t = 900)]
    device_code_lifetime_secs: u64,
    /// A registered redirect URI of the app (authorization code flow); repeatable. Loopback URIs
    /// match any port.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// The password of every directory user on the sign-in page.
    #[arg(long, default_value = "sim-password")]
    user_password: String,
}

fn load_certificates(path: &Path) -> Result<Vec<Cert>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("--certificate {}: {e}", path.display()))?;
    let mut certs = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(&pem).take(64) {
        let block = block.map_err(|e| format!("--certificate {}: bad PEM: {e}", path.display()))?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        let (_, cert) = x509_parser::parse_x509_certificate(&block.contents)
            .map_err(|e| format!("--certificate {}: not X.509: {e}", path.display()))?;
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &block.contents);
        certs.push(Cert {
            x5t: URL_SAFE_NO_PAD.encode(sha1.as_ref()),
            x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&block.contents)),
            public_key: cert.public_key().subject_public_key.data.to_vec(),
        });
    }
    if certs.is_empty() {
        return Err(format!(
            "--certificate {}: no CERTIFICATE block",
            path.display()
        ));
    }
    Ok(certs)
}

/// The seed file: the requests, and the directory when the file is an object.
fn load_seed(path: &Path) -> Result<(Vec<serde_json::Value>, directory::Update), String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--seed {}: {e}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("--seed {}: not JSON: {e}", path.display()))?;
    match value {
        serde_json::Value::Array(list) => Ok((list, directory::Update::default())),
        serde_json::Value::Object(mut map) => {
            let dir = directory::Update::from_object(&map)
                .map_err(|e| format!("--seed {}: {e}", path.display()))?;
            match map.remove("requests") {
                Some(serde_json::Value::Array(list)) => Ok((list, dir)),
                None if !dir.is_empty() => Ok((Vec::new(), dir)),
                _ => Err(format!(
                    "--seed {}: expected a list or {{\"requests\": [...]}}",
                    path.display()
                )),
            }
        }
        _ => Err(format!(
            "--seed {}: expected a list or {{\"requests\": [...]}}",
            path.display()
        )),
    }
}

impl Args {
    /// The simulator's starting state, or every problem found in the arguments, the
    /// certificates and the seed.
    pub fn state(&self) -> Result<SimState, Vec<String>> {
        let mut problems = Vec::new();
        let mut certificates = Vec::new();
        for path in &self.certificates {
            match load_certificates(path) {
                Ok(c) => certificates.extend(c),
                Err(e) => problems.push(e),
            }
        }
        let (seed, seed_directory) = match &self.seed {
            Some(path) => load_seed(path).unwrap_or_else(|e| {
                problems.push(e);
                Default::default()
            }),
            None => Default::default(),
        };
        let settings = self.settings(certificates);
        let state =
            match SimState::new(settings, seed).and_then(|s| s.with_directory(seed_directory)) {
                Ok(mut s) => {
                    s.delegation = delegated::Delegation::new(
                        Duration::from_secs(self.device_code_lifetime_secs.max(1)),
                        Duration::from_secs(self.device_code_interval_secs),
                    );
                    s
                }
                Err(e) => {
                    problems.push(format!("--seed: {e}"));
                    return Err(problems);
                }
            };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(state)
    }

    /// The settings the arguments give, with the certificates they name.
    fn settings(&self, certificates: Vec<Cert>) -> Settings {
        let client_secret = match (&self.client_secret, certificates.is_empty()) {
            (Some(s), _) => Some(s.clone()),
            (None, true) => Some("sim-secret".to_string()),
            (None, false) => None,
        };
        Settings {
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            client_secret,
            certificates,
            token_lifetime: Duration::from_secs(self.token_lifetime_secs.max(1)),
            page_size: self.page_size.max(1),
            any_audience: self.any_audience,
            mailbox_user: self.mailbox_user.clone(),
            mail_scope: self.mail_scope.clone(),
            decisions_delegated_only: self.decisions == "delegated-only",
            public_client: !self.confidential_only,
            redirect_uris: self.redirect_uris.clone(),
            user_password: self.user_password.clone(),
        }
    }
}
