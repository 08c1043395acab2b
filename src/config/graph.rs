//! `[graph]` (SPEC §4 and §6): where Microsoft Graph and the sign-in authority are, the app
//! registration and its credential, whose token decides (`auth`, `act_as`), the permissions of a
//! delegated sign-in, retries and timeouts, and how a request id is found in a reply and a
//! rejection is justified. Validated here into [`GraphConfig`]; the client is [`crate::graph`].

use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;

use crate::secret::Secret;

use super::fields::Fields;
use super::mail::MailAuth;
use super::values::{duration_secs, is_loopback};

/// A GUID, any case, between ASCII word boundaries: `\b` alone is Unicode-aware, and a GUID
/// written against Chinese or Japanese text ("申请3f2a…已拒绝") has a letter on each side to it.
pub const DEFAULT_REQUEST_ID_PATTERN: &str =
    r"(?i)(?-u:\b)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?-u:\b)";

/// The delegated permission a decision needs (`graph.delegated_scopes` default).
pub const DEFAULT_DELEGATED_SCOPE: &str = "DeviceManagementConfiguration.ReadWrite.All";

/// What a rejection says in Intune (`graph.justification_template` default): the approver's
/// words, when there are any, and who rejected.
pub const DEFAULT_JUSTIFICATION_TEMPLATE: &str = "{% if text %}{{ text }} (rejected by {{ approver }} via email){% else %}Rejected by {{ approver }} via email{% endif %}";

/// The app registration's own credential (client credentials, client assertions, and a
/// confidential client's sign-in).
#[derive(Clone, Debug)]
pub enum GraphCredential {
    ClientSecret(Secret),
    Certificate {
        certificate_path: PathBuf,
        private_key_path: PathBuf,
    },
}

/// Whose token makes Graph decisions (`graph.auth`, SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphAuth {
    /// App-only: the client credentials grant. Microsoft documents that applications cannot
    /// approve or reject MAA requests; kept for tenants where it works.
    ClientCredentials,
    /// A user (the service account) signed in once with `reject-bridge login`.
    Delegated,
}

/// Whose delegated token a decision uses (`graph.act_as`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActAs {
    ServiceAccount,
    /// Each approver's own linked account (the `[web]` linking flow).
    Approver,
}

#[derive(Clone, Debug)]
pub struct GraphConfig {
    /// Without a trailing slash, e.g. `https://graph.microsoft.com/beta`.
    pub base_url: String,
    /// Without a trailing slash, e.g. `https://login.microsoftonline.com`.
    pub authority: String,
    pub tenant_id: String,
    pub client_id: String,
    pub auth: GraphAuth,
    /// The app's credential: required for client credentials, optional with `delegated` (a
    /// public client then signs in without one).
    pub credential: Option<GraphCredential>,
    /// The token scope of client credentials: `graph.scope`, or the origin of `base_url` +
    /// `/.default`.
    pub scope: String,
    /// `delegated`: the Graph permissions asked for at sign-in, each qualified with the Graph
    /// resource (`https://graph.microsoft.com/DeviceManagementConfiguration.ReadWrite.All`).
    pub delegated_scopes: Vec<String>,
    /// `delegated`: the sign-in is refreshed at least this often, even without mail.
    pub keepalive: Duration,
    pub act_as: ActAs,
    pub retry_max: Duration,
    pub timeout: Duration,
    pub request_id_pattern: Regex,
    pub justification_template: String,
}

/// A delegated permission as Entra wants it in a sign-in: qualified with the resource it is for
/// (`https://graph.microsoft.com/DeviceManagementConfiguration.ReadWrite.All`). Bare names would
/// mean the global cloud's Graph, which is wrong in a national cloud.
fn qualify_scope(scope: &str, origin: Option<&str>) -> String {
    match origin {
        Some(o) if !scope.contains("://") => format!("{o}/{scope}"),
        _ => scope.to_string(),
    }
}

const PLAIN_HTTP_ONLY_ON_LOOPBACK: &str = "http:// is only allowed for a loopback host (tokens and rejections travel over it); use https://";

/// An `https://` URL with a host, or `http://` to a loopback host (a local simulator): tokens
/// and rejections never cross a network in clear text, as IMAP and SMTP never do.
fn web_url_allowed(u: &reqwest::Url) -> bool {
    match (u.scheme(), u.host_str()) {
        ("https", Some(_)) => true,
        ("http", Some(h)) => is_loopback(h),
        _ => false,
    }
}

/// What reading `[graph]` gave: the section (`None` when a required key is missing) and
/// `graph.act_as`, which `[web]` checks.
pub(super) struct GraphRead {
    pub(super) config: Option<GraphConfig>,
    pub(super) act_as: ActAs,
}

/// Reads and checks `[graph]`. `mail_auths` are the logins of `[imap]` and `[smtp]`: XOAUTH2
/// needs the app's own credential.
pub(super) fn build(f: &mut Fields<'_>, mail_auths: &[(&str, MailAuth)]) -> GraphRead {
    let (base_url, base_origin) = base_url(f);
    let authority = authority(f);
    let tenant_id = f.required("graph", "tenant_id");
    let client_id = f.required("graph", "client_id");
    let auth = f.choice(
        "graph",
        "auth",
        GraphAuth::ClientCredentials,
        &[
            ("client_credentials", GraphAuth::ClientCredentials),
            ("delegated", GraphAuth::Delegated),
        ],
    );
    let scope = f.str("graph", "scope", "");
    let scope = if scope.trim().is_empty() {
        base_origin
            .as_ref()
            .map(|o| format!("{o}/.default"))
            .unwrap_or_default()
    } else {
        scope.trim().to_string()
    };
    let credential = credential(f, auth);
    let delegated_scopes = delegated_scopes(f, base_origin.as_deref());
    let keepalive_hours = f.int("graph", "keepalive_hours", 24, 1, 24 * 80);
    let act_as = act_as(f, auth);
    if matches!(credential, Some(None)) {
        check_no_mail_login_needs_the_app(f, mail_auths);
    }
    let retry_max = f.int("graph", "retry_max_secs", 600, 0, 86_400);
    let timeout = f.int("graph", "timeout_secs", 30, 1, 600);
    let pattern = request_id_pattern(f);
    let justification_template = f.str(
        "graph",
        "justification_template",
        DEFAULT_JUSTIFICATION_TEMPLATE,
    );
    let config = match (tenant_id, client_id, credential, pattern) {
        (Some(tenant_id), Some(client_id), Some(credential), Some(request_id_pattern)) => {
            Some(GraphConfig {
                base_url,
                authority,
                tenant_id,
                client_id,
                auth,
                credential,
                scope,
                delegated_scopes,
                keepalive: Duration::from_secs(keepalive_hours as u64 * 3600),
                act_as,
                retry_max: duration_secs(retry_max),
                timeout: duration_secs(timeout),
                request_id_pattern,
                justification_template,
            })
        }
        _ => None,
    };
    GraphRead { config, act_as }
}

/// `graph.base_url` without a trailing slash, and its origin (`None` when it is not a URL
/// allowed for Graph) for the default scopes.
fn base_url(f: &mut Fields<'_>) -> (String, Option<String>) {
    let base_url = f.str("graph", "base_url", "https://graph.microsoft.com/beta");
    let base_url = base_url.trim().trim_end_matches('/').to_string();
    let base_origin = match reqwest::Url::parse(&base_url) {
        Ok(u) if web_url_allowed(&u) => Some(u.origin().ascii_serialization()),
        Ok(u) if u.scheme() == "http" => {
            f.err("graph", "base_url", PLAIN_HTTP_ONLY_ON_LOOPBACK);
            None
        }
        _ => {
            f.err(
                "graph",
                "base_url",
                format!("not an http(s) URL: \"{base_url}\""),
            );
            None
        }
    };
    (base_url, base_origin)
}

/// `graph.authority` without a trailing slash.
fn authority(f: &mut Fields<'_>) -> String {
    let authority = f.str("graph", "authority", "https://login.microsoftonline.com");
    let authority = authority.trim().trim_end_matches('/').to_string();
    match reqwest::Url::parse(&authority) {
        Ok(u) if web_url_allowed(&u) => {}
        Ok(u) if u.scheme() == "http" => f.err("graph", "authority", PLAIN_HTTP_ONLY_ON_LOOPBACK),
        _ => f.err(
            "graph",
            "authority",
            format!("not an http(s) URL: \"{authority}\""),
        ),
    }
    authority
}

/// The app's credential: a client secret, or a certificate and its private key, never both.
/// `Some(None)`: none, which only a delegated sign-in (a public client) accepts; `None`: an
/// error was recorded.
fn credential(f: &mut Fields<'_>, auth: GraphAuth) -> Option<Option<GraphCredential>> {
    let client_secret = f
        .opt_str("graph", "client_secret")
        .filter(|s| !s.is_empty());
    let cert = f.existing_file("graph", "certificate_path");
    let key = f.existing_file("graph", "private_key_path");
    match (client_secret, cert, key) {
        (Some(s), None, None) => Some(Some(GraphCredential::ClientSecret(Secret::new(s)))),
        (None, Some(c), Some(k)) => Some(Some(GraphCredential::Certificate {
            certificate_path: c,
            private_key_path: k,
        })),
        (None, Some(_), None) => {
            f.err(
                "graph",
                "private_key_path",
                "is required with graph.certificate_path",
            );
            None
        }
        (None, None, Some(_)) => {
            f.err(
                "graph",
                "certificate_path",
                "is required with graph.private_key_path",
            );
            None
        }
        (None, None, None) if auth == GraphAuth::Delegated => Some(None),
        (None, None, None) => {
            f.err(
                "graph",
                "client_secret",
                "a Graph credential is required: client_secret, or certificate_path + private_key_path, or auth = \"delegated\"",
            );
            None
        }
        (Some(_), _, _) => {
            f.err(
                "graph",
                "client_secret",
                "give either client_secret or certificate_path + private_key_path, not both",
            );
            None
        }
    }
}

/// `graph.delegated_scopes`, each qualified with the origin of `graph.base_url`.
fn delegated_scopes(f: &mut Fields<'_>, base_origin: Option<&str>) -> Vec<String> {
    let delegated_scopes = f
        .list("graph", "delegated_scopes")
        .unwrap_or_else(|| vec![DEFAULT_DELEGATED_SCOPE.to_string()]);
    if delegated_scopes.is_empty() || delegated_scopes.iter().any(|s| s.trim().is_empty()) {
        f.err(
            "graph",
            "delegated_scopes",
            "must name at least one permission and no empty ones",
        );
    }
    delegated_scopes
        .iter()
        .map(|s| qualify_scope(s.trim(), base_origin))
        .collect()
}

/// `graph.act_as`: `"approver"` needs delegated sign-ins.
fn act_as(f: &mut Fields<'_>, auth: GraphAuth) -> ActAs {
    let act_as = f.choice(
        "graph",
        "act_as",
        ActAs::ServiceAccount,
        &[
            ("service-account", ActAs::ServiceAccount),
            ("approver", ActAs::Approver),
        ],
    );
    if act_as == ActAs::Approver && auth != GraphAuth::Delegated {
        f.err(
            "graph",
            "act_as",
            "\"approver\" needs graph.auth = \"delegated\" (decisions are made with the approvers' own sign-ins)",
        );
    }
    act_as
}

/// Without an app credential, `auth = "xoauth2"` in `[imap]` or `[smtp]` has no token to log in
/// with.
fn check_no_mail_login_needs_the_app(f: &mut Fields<'_>, mail_auths: &[(&str, MailAuth)]) {
    for &(section, auth) in mail_auths {
        if auth == MailAuth::Xoauth2 {
            f.err(
                section,
                "auth",
                "\"xoauth2\" logs in with the app's own token: give graph.client_secret, or certificate_path + private_key_path (graph.auth = \"delegated\" alone has no app credential)",
            );
        }
    }
}

/// `graph.request_id_pattern`, compiled.
fn request_id_pattern(f: &mut Fields<'_>) -> Option<Regex> {
    let pattern_text = f.str("graph", "request_id_pattern", DEFAULT_REQUEST_ID_PATTERN);
    match Regex::new(&pattern_text) {
        Ok(r) => Some(r),
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().last().unwrap_or("invalid").to_string();
            f.err(
                "graph",
                "request_id_pattern",
                format!("not a valid regular expression: {first}"),
            );
            None
        }
    }
}
