//! The faults queued for injection: what a test asks for (`POST /_sim/faults`), which calls each
//! one matches, and taking it for a call as the call arrives.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{Endpoint, Shared, SimState};
use crate::net::Conn;

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

impl SimState {
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

/// What a fault does as its call arrives, before the call is handled: `Ok(drop_after)` to go on
/// (and close the connection after answering when `drop_after`), `Err` with the answer already
/// settled (the connection dropped, or the injected status, made by `injected`). A
/// `delay_after_apply` waits here when `delay_now` (the token endpoint has nothing to apply
/// first); the Graph side waits after handling the call instead.
pub async fn apply_before(
    sim: &Shared,
    conn: &Conn,
    fault: &Option<FaultAction>,
    index: usize,
    delay_now: bool,
    injected: impl FnOnce(u16, Option<&str>, Option<&str>, Option<&str>) -> Response,
) -> Result<bool, Response> {
    let mut drop_after = false;
    match fault {
        Some(FaultAction::Delay { ms }) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        Some(FaultAction::Drop) => {
            conn.kill();
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        Some(FaultAction::DropAfterApply) => drop_after = true,
        Some(FaultAction::DelayAfterApply { ms }) if delay_now => {
            tokio::time::sleep(Duration::from_millis(*ms)).await
        }
        Some(FaultAction::DelayAfterApply { .. }) => {}
        Some(FaultAction::ExpireToken) => sim
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expire_tokens(),
        Some(FaultAction::Status {
            status,
            retry_after,
            code,
            message,
        }) => {
            let response = injected(
                *status,
                retry_after.as_deref(),
                code.as_deref(),
                message.as_deref(),
            );
            sim.lock()
                .unwrap_or_else(|e| e.into_inner())
                .answered(index, *status);
            return Err(response);
        }
        None => {}
    }
    Ok(drop_after)
}
