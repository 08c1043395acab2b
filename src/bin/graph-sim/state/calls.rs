//! The record of every call (`GET /_sim/calls`): which endpoint a call was for, what it sent,
//! the fault applied to it and the status it got.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, Method, Uri, header};
use serde::Serialize;
use serde_json::Value;

use super::faults::fault_name;
use super::{FaultAction, SimState};

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

impl Call {
    /// A call as it arrives (status 0 until answered), with its `Host` header and the headers of
    /// interest read from `headers`.
    pub fn arriving(
        method: &Method,
        uri: &Uri,
        endpoint: Endpoint,
        id: Option<String>,
        headers: &HeaderMap,
        body: Value,
    ) -> Call {
        Call {
            seq: 0,
            at_ms: 0,
            method: method.to_string(),
            path: uri.to_string(),
            endpoint,
            id,
            host: host_of(headers),
            headers: crate::api::headers_of_interest(headers),
            body,
            status: 0,
            fault: None,
        }
    }
}

/// The `Host` header, `""` when there is none.
pub fn host_of(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl SimState {
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
