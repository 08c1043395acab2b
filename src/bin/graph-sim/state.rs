//! The simulator's memory: settings from the command line, the operationApprovalRequests, issued
//! tokens, the queue of faults still to inject, and the record of every call.
//!
//! One `std::sync::Mutex` around it all; no handler holds it across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::directory::{self, Directory};

pub type Shared = Arc<Mutex<SimState>>;

/// The statuses Graph documents for `operationApprovalRequestStatus`.
pub const STATUSES: &[&str] = &[
    "unknown",
    "needsApproval",
    "approved",
    "rejected",
    "cancelled",
    "completed",
    "expired",
    "unknownFutureValue",
];

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

/// Which kind of call a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Token,
    /// The device authorization endpoint of delegated sign-ins.
    Devicecode,
    Get,
    Reject,
    List,
    /// `deviceManagement/operationApprovalPolicies[/{id}]`.
    Policies,
    /// Users and group members (`/groups/{id}/transitiveMembers…`, `/users/{id}`).
    Directory,
    /// Any other path (bad requests to the Graph side).
    Other,
}

/// One fault, applied to the next `count` calls that match it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Fault {
    /// `token`, `get`, `reject`, `list`, `policies`, `directory`, `graph` (any of those but
    /// `token`) or `any` (default).
    #[serde(default = "any")]
    pub endpoint: String,
    /// Only calls about this request ID (any case).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(flatten)]
    pub action: FaultAction,
}

fn any() -> String {
    "any".into()
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status and an error body (Graph's or Entra's shape), nothing applied.
    Status {
        status: u16,
        /// The `Retry-After` header value as given (`"2"` or an HTTP-date); absent: no header.
        #[serde(default)]
        retry_after: Option<String>,
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
    /// Wait this long, then handle the call normally.
    Delay { ms: u64 },
    /// Close the connection without answering; nothing applied.
    Drop,
    /// Handle the call (a reject takes effect), then close the connection without answering.
    DropAfterApply,
    /// Handle the call (a reject takes effect), then wait this long before answering: a client
    /// that dies or gives up meanwhile never learns that it worked.
    DelayAfterApply { ms: u64 },
    /// Expire every issued token, then handle the call (a Graph call then gets 401).
    ExpireToken,
}

impl Fault {
    fn matches(&self, endpoint: Endpoint, id: Option<&str>) -> bool {
        let endpoint_ok = match self.endpoint.as_str() {
            "any" => true,
            "graph" => matches!(
                endpoint,
                Endpoint::Get
                    | Endpoint::Reject
                    | Endpoint::List
                    | Endpoint::Policies
                    | Endpoint::Directory
            ),
            "token" => endpoint == Endpoint::Token,
            "devicecode" => endpoint == Endpoint::Devicecode,
            "get" => endpoint == Endpoint::Get,
            "reject" => endpoint == Endpoint::Reject,
            "list" => endpoint == Endpoint::List,
            "policies" => endpoint == Endpoint::Policies,
            "directory" => endpoint == Endpoint::Directory,
            _ => false,
        };
        let id_ok = match &self.id {
            None => true,
            Some(want) => id.is_some_and(|id| id.eq_ignore_ascii_case(want)),
        };
        endpoint_ok && id_ok && self.count > 0
    }

    pub fn validate(&self) -> Result<(), String> {
        const NAMES: [&str; 9] = [
            "any",
            "graph",
            "token",
            "devicecode",
            "get",
            "reject",
            "list",
            "policies",
            "directory",
        ];
        if !NAMES.contains(&self.endpoint.as_str()) {
            return Err(format!(
                "endpoint {:?}: expected one of {}",
                self.endpoint,
                NAMES.join(", ")
            ));
        }
        if let FaultAction::Status { status, .. } = &self.action
            && !(100..=599).contains(status)
        {
            return Err(format!("status {status}: not an HTTP status"));
        }
        Ok(())
    }
}

/// One call as the simulator saw it.
#[derive(Clone, Debug, Serialize)]
pub struct Call {
    pub seq: u64,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    pub endpoint: Endpoint,
    /// The request ID in the path, if any.
    pub id: Option<String>,
    /// The `Host` header.
    pub host: String,
    /// Headers of interest (`authorization` reduced to its scheme, never the token).
    pub headers: BTreeMap<String, String>,
    /// The JSON body, or for the token endpoint its form fields with the secret, the refresh
    /// token, the device code and the assertion signature replaced by `"<redacted>"` (the
    /// assertion's header and claims are decoded).
    pub body: Value,
    /// The status answered; 0 when no answer was sent (dropped on purpose, or the client gave up).
    pub status: u16,
    /// The fault applied, if any.
    pub fault: Option<String>,
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

    /// Adds or replaces a request; missing properties get Graph-like defaults.
    pub fn put_request(&mut self, request: Value) -> Result<String, String> {
        let Value::Object(mut map) = request else {
            return Err("a request must be a JSON object".into());
        };
        let id = match map.get("id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => return Err("a request needs a non-empty string \"id\"".into()),
        };
        let status = map
            .get("status")
            .cloned()
            .unwrap_or_else(|| json!("needsApproval"));
        match status.as_str() {
            Some(s) if STATUSES.contains(&s) => {}
            _ => {
                return Err(format!(
                    "request {id}: status {status} is not one of {}",
                    STATUSES.join(", ")
                ));
            }
        }
        let now = SystemTime::now();
        let defaults = [
            (
                "@odata.type",
                json!("#microsoft.graph.operationApprovalRequest"),
            ),
            ("status", status),
            ("requestDateTime", json!(iso8601(now))),
            (
                "expirationDateTime",
                json!(iso8601(now + Duration::from_secs(24 * 3600))),
            ),
            ("lastModifiedDateTime", json!(iso8601(now))),
            ("requestJustification", json!("")),
            ("approvalJustification", json!("")),
            (
                "requestor",
                json!({"user": {"id": "00000000-0000-0000-0000-000000000001", "displayName": "Requesting Admin"}}),
            ),
            ("approver", Value::Null),
            (
                "requiredOperationApprovalPolicyTypes",
                json!(["deviceAction"]),
            ),
        ];
        for (key, value) in defaults {
            map.entry(key.to_string()).or_insert(value);
        }
        self.requests.insert(id.to_lowercase(), Value::Object(map));
        Ok(id)
    }

    /// What happens to a request outside the bridge (`POST /_sim/requests/{id}/{action}`):
    /// `approve` or `reject` (in the Intune admin center, by directory user `by` or a default
    /// portal admin, with `justification`), `cancel` (the requester withdraws it), `expire` (its
    /// time ran out: `expirationDateTime` becomes now unless already past), `complete` (an
    /// approved operation was carried out). Only `needsApproval` requests move, except
    /// `complete`, which needs `approved`. Returns the request as stored.
    pub fn change_request(
        &mut self,
        id: &str,
        action: &str,
        by: Option<&str>,
        justification: Option<&str>,
    ) -> Result<Value, (u16, String)> {
        let (status, from) = match action {
            "approve" => ("approved", "needsApproval"),
            "reject" => ("rejected", "needsApproval"),
            "cancel" => ("cancelled", "needsApproval"),
            "expire" => ("expired", "needsApproval"),
            "complete" => ("completed", "approved"),
            other => {
                return Err((
                    404,
                    format!(
                        "unknown action {other:?}: approve, reject, cancel, expire or complete"
                    ),
                ));
            }
        };
        let approver = match (action, by) {
            ("approve" | "reject", Some(user_id)) => {
                let user = self
                    .directory
                    .user(user_id)
                    .ok_or_else(|| (400, format!("by: no directory user {user_id}")))?;
                json!({"user": {"id": user.id, "displayName": user.display_name}})
            }
            ("approve" | "reject", None) => {
                json!({"user": {"id": "00000000-0000-0000-0000-0000000000aa", "displayName": "Portal Approver"}})
            }
            _ => Value::Null,
        };
        let request = self
            .requests
            .get_mut(&id.to_lowercase())
            .ok_or_else(|| (404, format!("no request {id}")))?;
        let current = request["status"].as_str().unwrap_or("unknown").to_string();
        if current != from {
            return Err((
                409,
                format!("request {id} is {current}; {action} needs {from}"),
            ));
        }
        let now = iso8601(SystemTime::now());
        if let Value::Object(map) = request {
            map.insert("status".into(), json!(status));
            map.insert("lastModifiedDateTime".into(), json!(now));
            if !approver.is_null() {
                map.insert("approver".into(), approver);
                map.insert(
                    "approvalJustification".into(),
                    json!(justification.unwrap_or("")),
                );
            }
            if action == "expire"
                && map
                    .get("expirationDateTime")
                    .and_then(Value::as_str)
                    .is_none_or(|e| e > now.as_str())
            {
                map.insert("expirationDateTime".into(), json!(now));
            }
        }
        Ok(request.clone())
    }

    /// Takes the first queued fault matching this call (and counts it down).
    pub fn take_fault(&mut self, endpoint: Endpoint, id: Option<&str>) -> Option<FaultAction> {
        let index = self.faults.iter().position(|f| f.matches(endpoint, id))?;
        let fault = &mut self.faults[index];
        fault.count -= 1;
        let action = fault.action.clone();
        if fault.count == 0 {
            self.faults.remove(index);
        }
        Some(action)
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

    /// Records a call as it arrives, with the fault (if any) queued for it, which is taken:
    /// the fault to act on and the call's index.
    pub fn arrive(&mut self, mut call: Call) -> (Option<FaultAction>, usize) {
        call.at_ms = self.elapsed_ms();
        let fault = if call.endpoint == Endpoint::Other {
            None
        } else {
            self.take_fault(call.endpoint, call.id.as_deref())
        };
        call.fault = fault.as_ref().map(fault_name);
        (fault, self.record(call))
    }

    /// Records a call as it arrives (status 0 until [`SimState::answered`]); returns its index.
    pub fn record(&mut self, mut call: Call) -> usize {
        call.seq = self.calls.len() as u64 + 1;
        self.calls.push(call);
        self.calls.len() - 1
    }

    /// Sets the status answered to call `index`. A call never answered (dropped on purpose, or
    /// abandoned by a client that timed out) keeps status 0.
    pub fn answered(&mut self, index: usize, status: u16) {
        if let Some(call) = self.calls.get_mut(index) {
            call.status = status;
            tracing::info!(
                seq = call.seq,
                method = %call.method,
                path = %call.path,
                status,
                fault = call.fault.as_deref().unwrap_or(""),
                "call"
            );
        }
    }
}

pub fn fault_name(action: &FaultAction) -> String {
    match action {
        FaultAction::Status { status, .. } => format!("status {status}"),
        FaultAction::Delay { ms } => format!("delay {ms}ms"),
        FaultAction::Drop => "drop".into(),
        FaultAction::DropAfterApply => "drop_after_apply".into(),
        FaultAction::DelayAfterApply { ms } => format!("delay_after_apply {ms}ms"),
        FaultAction::ExpireToken => "expire_token".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sim() -> SimState {
        let settings = Settings {
            tenant: "t".into(),
            client_id: "c".into(),
            client_secret: None,
            certificates: Vec::new(),
            token_lifetime: Duration::from_secs(60),
            page_size: 10,
            any_audience: false,
            mailbox_user: None,
            mail_scope: String::new(),
            decisions_delegated_only: true,
            public_client: true,
            redirect_uris: Vec::new(),
            user_password: String::new(),
        };
        let update: directory::Update = serde_json::from_value(json!({
            "users": [{"id": "u1", "userPrincipalName": "ann@example.test", "displayName": "Ann"}]
        }))
        .unwrap();
        SimState::new(settings, vec![json!({"id": "R1"}), json!({"id": "r2"})])
            .unwrap()
            .with_directory(update)
            .unwrap()
    }

    #[test]
    fn requests_change_status_as_in_the_portal() {
        let mut s = sim();
        let r = s
            .change_request("r1", "approve", Some("U1"), Some("fine"))
            .unwrap();
        assert_eq!(r["status"], "approved");
        assert_eq!(r["approver"]["user"]["displayName"], "Ann");
        assert_eq!(r["approvalJustification"], "fine");
        let e = s.change_request("r1", "cancel", None, None).unwrap_err();
        assert_eq!(e.0, 409, "{}", e.1);
        assert_eq!(
            s.change_request("r1", "complete", None, None).unwrap()["status"],
            "completed"
        );
        let r = s.change_request("r2", "expire", None, None).unwrap();
        assert_eq!(r["status"], "expired");
        assert!(r["expirationDateTime"].as_str().unwrap() <= iso8601(SystemTime::now()).as_str());
        assert_eq!(
            s.change_request("r3", "cancel", None, None).unwrap_err().0,
            404
        );
        assert_eq!(
            s.change_request("r2", "wave", None, None).unwrap_err().0,
            404
        );
        let e = s.change_request("r2", "approve", Some("ghost"), None);
        assert!(e.is_err());
    }

    #[test]
    fn reset_restores_the_seeded_directory() {
        let mut s = sim();
        let more: directory::Update = serde_json::from_value(json!({
            "users": [{"id": "u2", "userPrincipalName": "b@example.test", "displayName": "B"}]
        }))
        .unwrap();
        s.directory.apply(more).unwrap();
        assert!(s.directory.user("u2").is_some());
        s.reset();
        assert!(s.directory.user("u2").is_none());
        assert!(s.directory.user("u1").is_some());
    }

    #[test]
    fn iso8601_dates() {
        assert_eq!(iso8601(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(iso8601(t), "2024-02-29T12:34:56Z");
    }
}
