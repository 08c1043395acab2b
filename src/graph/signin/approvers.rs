//! `graph.act_as = "approver"`: each approver rejects with their own delegated token, so Intune's
//! audit log names the real person and Intune itself enforces who may decide.
//!
//! An approver links their account once, in a browser, through the bridge's web endpoint
//! ([`crate::web`]): the OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256) against
//! `{authority}/{tenant}/oauth2/v2.0/authorize`, started from a one-time link mailed to them
//! (never a device code by mail: that is what phishing looks like). This file holds what that
//! flow needs: link tokens (random, stored only as a SHA-256 and sealed), PKCE, the authorize
//! URL, the code's redemption, the check that the account signed in is the approver's address,
//! and [`Approvers`], the approvers' token sources (one [`SignIn`] each, journal account
//! `approver:<address>`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{DelegatedAnswer, Identity, SignIn, requested_scopes};
use crate::config::Config;
use crate::graph::GraphError;
use crate::graph::token::{AppCredential, redeem};
use crate::journal::Journal;
use crate::secret::Secret;

/// The journal account of `address`'s own sign-in.
pub fn account_of(address: &str) -> String {
    format!("approver:{}", address.trim().to_ascii_lowercase())
}

/// The address of an `approver:` account.
pub fn address_of(account: &str) -> Option<&str> {
    account.strip_prefix("approver:")
}

/// A random, URL-safe secret of `bytes` bytes.
fn random(bytes: usize) -> Secret {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    Secret::new(URL_SAFE_NO_PAD.encode(b))
}

/// A fresh one-time link token (256 bits).
pub fn new_link_token() -> Secret {
    random(32)
}

/// A fresh `state` for one authorize round trip.
pub fn new_state() -> String {
    random(24).expose().to_string()
}

/// A fresh PKCE verifier: 43 unreserved characters (RFC 7636 §4.1).
pub fn new_verifier() -> Secret {
    random(32)
}

/// The S256 challenge of `verifier` (RFC 7636 §4.2).
pub fn challenge(verifier: &Secret) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()))
}

/// How a link token is stored and looked up: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The redirect URI of the linking flow: `{web.public_url}/callback`.
pub fn redirect_uri(config: &Config) -> String {
    format!(
        "{}/callback",
        config.web.public_url.as_deref().unwrap_or_default()
    )
}

/// Where the browser goes to sign in: Entra's authorize endpoint with PKCE, `state`, and the
/// approver's address as the login hint.
pub fn authorize_url(config: &Config, state: &str, challenge: &str, login_hint: &str) -> String {
    let g = &config.graph;
    let mut url = reqwest::Url::parse(&format!(
        "{}/{}/oauth2/v2.0/authorize",
        g.authority, g.tenant_id
    ))
    .expect("graph.authority is a validated URL");
    url.query_pairs_mut()
        .append_pair("client_id", &g.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &redirect_uri(config))
        .append_pair("response_mode", "query")
        .append_pair("scope", &requested_scopes(g).join(" "))
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", login_hint)
        .append_pair("prompt", "select_account");
    url.to_string()
}

/// Redeems the authorization `code` with its PKCE `verifier` at the token endpoint.
pub(crate) async fn redeem_code(
    config: &Config,
    http: &reqwest::Client,
    code: &str,
    verifier: &Secret,
) -> Result<DelegatedAnswer, GraphError> {
    let g = &config.graph;
    let token_url = format!("{}/{}/oauth2/v2.0/token", g.authority, g.tenant_id);
    let credential = AppCredential::load(g)?;
    let form = vec![
        ("grant_type", "authorization_code".to_string()),
        ("code", code.to_string()),
        ("redirect_uri", redirect_uri(config)),
        ("code_verifier", verifier.expose().to_string()),
        ("scope", requested_scopes(g).join(" ")),
    ];
    match redeem(http, &token_url, &g.client_id, credential.as_ref(), form).await? {
        Ok(body) => DelegatedAnswer::parse(&body),
        Err(r) if r.is_transient() => Err(r.into_unavailable()),
        Err(r) => Err(GraphError::Credentials {
            tenant_id: g.tenant_id.clone(),
            client_id: g.client_id.clone(),
            code: r.error,
            description: credential
                .as_ref()
                .map(|c| c.scrub(&r.description))
                .unwrap_or(r.description),
        }),
    }
}

/// Whether the account `identity` signed in as is `address` (its `preferred_username` or
/// e-mail), compared with ASCII case folding only.
pub fn is_account_of(identity: &Identity, address: &str) -> bool {
    let address = address.trim();
    identity
        .username
        .iter()
        .chain(identity.email.iter())
        .any(|n| n.trim().eq_ignore_ascii_case(address))
}

/// The approvers' own sign-ins, one token source each, made on first use.
pub struct Approvers {
    config: Arc<Config>,
    http: reqwest::Client,
    journal: Arc<Journal>,
    signins: Mutex<HashMap<String, Arc<SignIn>>>,
}

impl Approvers {
    pub fn new(config: Arc<Config>, http: reqwest::Client, journal: Arc<Journal>) -> Approvers {
        Approvers {
            config,
            http,
            journal,
            signins: Mutex::new(HashMap::new()),
        }
    }

    /// `address`'s token source (it reads the journal when it needs a token, so a link made
    /// meanwhile is seen).
    pub fn signin(&self, address: &str) -> Result<Arc<SignIn>, GraphError> {
        let account = account_of(address);
        let mut map = self.signins.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(&account) {
            return Ok(s.clone());
        }
        let s = Arc::new(SignIn::for_account(
            &self.config,
            self.http.clone(),
            self.journal.clone(),
            &account,
        )?);
        map.insert(account, s.clone());
        Ok(s)
    }

    /// Drops the cached token source of `address` (after a new link or an unlink).
    pub fn forget(&self, address: &str) {
        self.signins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&account_of(address));
    }
}

/// One linked approver, as `reject-bridge approvers` lists them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Linked {
    pub address: String,
    /// The account they signed in with (`preferred_username`).
    pub account: Option<String>,
    pub display_name: Option<String>,
    pub linked_at: String,
    /// Last use: when their refresh token was last redeemed.
    pub last_used: String,
    /// `ok`, or `lost: <why>` (they get a fresh link with their next reply).
    pub health: String,
    /// Still in `approvers.allowed` (kept alive only then).
    pub allowed: bool,
}

/// Every linked approver in the journal at `state.path` (read-only; nothing when it is missing).
pub fn list(config: &Config) -> Result<Vec<Linked>, crate::journal::JournalError> {
    if !config.state.path.exists() {
        return Ok(Vec::new());
    }
    let journal = Journal::open_read_only(&config.state.path)?;
    Ok(journal
        .signins_with_prefix("approver:")?
        .into_iter()
        .filter_map(|s| {
            let address = address_of(&s.account)?.to_string();
            Some(Linked {
                allowed: config.approvers.allows(&address),
                address,
                account: s.username,
                display_name: s.display_name,
                linked_at: s.signed_in_at,
                last_used: s.refreshed_at,
                health: match s.lost {
                    None => "ok".into(),
                    Some((at, why)) => format!("lost at {at}: {why}"),
                },
            })
        })
        .collect())
}

/// Forgets `address`'s linked account. False when there was none.
pub fn unlink(config: &Config, address: &str) -> Result<bool, crate::journal::JournalError> {
    if !config.state.path.exists() {
        return Ok(false);
    }
    Journal::open(&config.state.path)?.forget_signin(&account_of(address))
}

#[cfg(test)]
mod tests;
