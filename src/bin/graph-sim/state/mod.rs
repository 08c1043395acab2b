//! The simulator's memory: settings from the command line, the operationApprovalRequests, issued
//! tokens, the queue of faults still to inject, and the record of every call.
//!
//! One `std::sync::Mutex` around it all; no handler holds it across an `.await`.
//!
//! This file holds the settings, the issued tokens and [`SimState`] itself (start, reset);
//! beside it: `requests.rs` (adding requests and changing their status as the portal would),
//! `faults.rs` (the faults queued for injection), `calls.rs` (the record of every call).

mod calls;
mod faults;
mod requests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::directory::{self, Directory};

pub use calls::{Call, Endpoint};
pub use faults::{Fault, FaultAction, apply_before};

pub type Shared = Arc<Mutex<SimState>>;

/// A registered certificate credential.
pub struct Cert {
    /// base64url(SHA-1(DER)): the `x5t` header.
    pub x5t: String,
    /// base64url(SHA-256(DER)): the `x5t#S256` header.
    pub x5t_s256: String,
    /// PKCS#1 RSAPublicKey, as ring verifies it.
    pub public_key: Vec<u8>,
}

pub struct Settings {
    pub tenant: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub certificates: Vec<Cert>,
    pub token_lifetime: Duration,
    pub page_size: usize,
    /// Skip the check that a token's scope names the host it is used on.
    pub any_audience: bool,
    /// The mailbox the app may open with IMAP/SMTP XOAUTH2 (Exchange's `Add-MailboxPermission`),
    /// answered as `username` by the introspection endpoint; `None`: no mailbox access.
    pub mailbox_user: Option<String>,
    /// The scope a token must have been issued for to open that mailbox.
    pub mail_scope: String,
    /// Who may decide (approve/reject): only delegated (user) tokens, as Intune documents, or
    /// application tokens too.
    pub decisions_delegated_only: bool,
    /// "Allow public client flows": device code and refresh grants without a client credential.
    pub public_client: bool,
    /// The app's registered redirect URIs (authorization code flow).
    pub redirect_uris: Vec<String>,
    /// Every directory user's password on the sign-in page.
    pub user_password: String,
}

pub struct Token {
    pub scope: String,
    /// The host of the scope's resource (`graph.microsoft.us` for `https://graph.microsoft.us/.default`).
    pub audience_host: String,
    pub expires_at: Instant,
    /// The signed-in user of a delegated token; `None` for an application's own token.
    pub user: Option<crate::delegated::User>,
}

pub struct SimState {
    pub settings: Settings,
    seed: Vec<Value>,
    /// Keyed by lower-cased ID.
    pub requests: BTreeMap<String, Value>,
    pub faults: Vec<Fault>,
    pub calls: Vec<Call>,
    /// Users, groups and approval policies ([`directory`]).
    pub directory: Directory,
    seed_directory: Directory,
    pub tokens: HashMap<String, Token>,
    pub used_jtis: HashSet<String>,
    pub delegation: crate::delegated::Delegation,
    pub codes: crate::authorize::Codes,
    started: Instant,
}

impl SimState {
    pub fn new(settings: Settings, seed: Vec<Value>) -> Result<Self, String> {
        let mut state = SimState {
            settings,
            seed: seed.clone(),
            requests: BTreeMap::new(),
            faults: Vec::new(),
            calls: Vec::new(),
            directory: Directory::default(),
            seed_directory: Directory::default(),
            tokens: HashMap::new(),
            used_jtis: HashSet::new(),
            delegation: crate::delegated::Delegation::default(),
            codes: crate::authorize::Codes::default(),
            started: Instant::now(),
        };
        for r in seed {
            state.put_request(r)?;
        }
        Ok(state)
    }

    /// Adds the seed's directory (kept for [`SimState::reset`]).
    pub fn with_directory(mut self, seed: directory::Update) -> Result<Self, String> {
        self.directory.apply(seed)?;
        self.seed_directory = self.directory.clone();
        Ok(self)
    }

    /// Back to the seed: requests and directory as seeded; no faults, calls or tokens.
    pub fn reset(&mut self) {
        self.directory = self.seed_directory.clone();
        self.requests.clear();
        self.faults.clear();
        self.calls.clear();
        self.tokens.clear();
        self.used_jtis.clear();
        self.delegation.reset();
        self.codes.reset();
        for r in self.seed.clone() {
            // The seed was validated at start.
            let _ = self.put_request(r);
        }
    }

    pub fn expire_tokens(&mut self) {
        let now = Instant::now();
        for t in self.tokens.values_mut() {
            t.expires_at = now;
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// `2024-05-01T12:00:00Z` (UTC, whole seconds), as Graph writes DateTimeOffset values.
pub fn iso8601(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
