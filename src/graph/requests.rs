//! The operationApprovalRequests (SPEC §4): what Graph says of one ([`RequestStatus`]), the
//! list of them, and the reject with its [`RejectResult`].
//!
//! The reject owns the one rule that matters most: **never a second POST when the first one took
//! effect**. It starts with a GET of the request; after any failed or unanswered POST the status
//! is read again before anything else, and a request already `rejected` with our own
//! justification, after a POST of ours may have taken effect, counts as our rejection (`judge`).

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{GraphClient, GraphError, path_segment};

/// What `approvalSource` says in every reject: the decision came in by e-mail.
pub const APPROVAL_SOURCE: &str = "email";

/// An `operationApprovalRequest` as Graph returns it (the fields the bridge reads; the beta
/// resource has more and they are ignored).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStatus {
    pub id: String,
    /// `needsApproval`, `approved`, `rejected`, `cancelled`, `completed`, `expired`, `unknown`, …
    pub status: String,
    #[serde(default)]
    pub request_justification: Option<String>,
    #[serde(default)]
    pub approval_justification: Option<String>,
    #[serde(default)]
    pub request_date_time: Option<String>,
    #[serde(default)]
    pub expiration_date_time: Option<String>,
    #[serde(default)]
    pub last_modified_date_time: Option<String>,
    /// identitySet of who asked (`user.displayName`, …), as Graph sent it.
    #[serde(default)]
    pub requestor: Option<serde_json::Value>,
    #[serde(default)]
    pub approver: Option<serde_json::Value>,
    #[serde(default)]
    pub required_operation_approval_policy_types: Vec<String>,
    /// What the request is about, when Graph says (undocumented; never required).
    #[serde(default)]
    pub payload_name: Option<String>,
    #[serde(default)]
    pub payload_type: Option<String>,
    #[serde(default)]
    pub payload_operation: Option<String>,
}

/// The request `check` probes decisions with: the nil GUID, which no request has.
pub const PROBE_REQUEST_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The status value of a request that can still be rejected.
pub const NEEDS_APPROVAL: &str = "needsApproval";

/// What came of [`GraphClient::reject`]; each maps to one reply to the approver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectResult {
    /// The request is rejected with our justification (by this call, or by an earlier attempt
    /// whose answer was lost).
    Rejected,
    /// The request was already decided (approved, cancelled, expired, rejected by someone else…).
    AlreadyDecided { status: String },
    /// Graph knows no request with this ID.
    NotFound,
    /// Intune refused the decision by this identity (403 on the POST): not in an approver group
    /// of the request's policy, or its own request. Never retried with another identity.
    Forbidden { message: String },
    /// `graph.auth = "delegated"` and there is no usable sign-in: nothing was decided; the
    /// message waits for `reject-bridge login` (SPEC §4).
    SignInRequired { reason: String },
    /// Gave up. `retryable`: only transient errors were seen and the time budget ran out, so a
    /// later attempt may succeed; otherwise the failure is permanent (credentials, permissions…).
    Failed {
        code: String,
        message: String,
        retryable: bool,
    },
}

impl RejectResult {
    fn failed(error: &GraphError) -> RejectResult {
        if let GraphError::SignIn { reason } = error {
            return RejectResult::SignInRequired {
                reason: reason.clone(),
            };
        }
        RejectResult::Failed {
            code: error.code(),
            message: error.to_string(),
            retryable: error.is_retryable(),
        }
    }
}

impl GraphClient {
    /// For `check`: whether this identity may decide, by rejecting a request that cannot exist
    /// (the nil GUID). Intune checks the caller before the request, so a 403 means "not allowed
    /// to decide" and a 404 means "allowed"; nothing changes either way.
    pub async fn probe_decision(&self) -> Result<(), GraphError> {
        match self
            .post_reject(PROBE_REQUEST_ID, "reject-bridge check")
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The request `id` (retrying transient failures within the budget); 404 is an
    /// `Err(GraphError::Api { status: 404, .. })`.
    pub async fn status(&self, id: &str) -> Result<RequestStatus, GraphError> {
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        self.status_retrying(id, deadline, &mut attempt).await
    }

    /// All requests, optionally filtered (`status eq 'needsApproval'`), following
    /// `@odata.nextLink` (for the notifier). Each page is retried like [`status`](Self::status).
    pub async fn list(&self, filter: Option<&str>) -> Result<Vec<RequestStatus>, GraphError> {
        let mut url = reqwest::Url::parse(&format!(
            "{}/deviceManagement/operationApprovalRequests",
            self.inner.base_url
        ))
        .map_err(|e| GraphError::Config {
            key: "graph.base_url",
            message: e.to_string(),
        })?;
        if let Some(filter) = filter {
            url.query_pairs_mut().append_pair("$filter", filter);
        }
        self.get_pages(url.as_str(), "the request list").await
    }

    /// The whole SPEC §4 reject of request `id` with `justification` (the exact Graph string).
    ///
    /// GET the status: `needsApproval` → POST reject; already `rejected` with this very
    /// justification → ours ([`RejectResult::Rejected`]: a POST whose answer was lost, or a retry after
    /// a crash); any other state → [`RejectResult::AlreadyDecided`]; 404 → [`RejectResult::NotFound`].
    /// Transient failures (429, 5xx, timeouts, dropped connections) are retried with backoff
    /// within `graph.retry_max_secs`, and every retry of the POST is preceded by a fresh GET, so
    /// there is never a second POST once one took effect.
    pub async fn reject(&self, id: &str, justification: &str) -> RejectResult {
        self.reject_inner(id, justification, false).await
    }

    /// [`GraphClient::reject`] for a message whose earlier attempt may have POSTed (the process
    /// stopped during the call): a request already `rejected` with exactly this justification
    /// is then ours, `Rejected`, not `AlreadyDecided`.
    pub async fn resume_reject(&self, id: &str, justification: &str) -> RejectResult {
        self.reject_inner(id, justification, true).await
    }

    async fn reject_inner(&self, id: &str, justification: &str, mut posted: bool) -> RejectResult {
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        loop {
            let current = match self.status_retrying(id, deadline, &mut attempt).await {
                Ok(s) => s,
                Err(e) if e.status() == Some(404) => return RejectResult::NotFound,
                Err(e) => return RejectResult::failed(&e),
            };
            if let Some(done) = judge(&current, justification, posted) {
                tracing::info!(approval_request_id = id, status = %current.status, outcome = ?done, "request not pending");
                return done;
            }
            match self.post_reject(id, justification).await {
                Ok(()) => {
                    tracing::info!(approval_request_id = id, "request rejected");
                    return RejectResult::Rejected;
                }
                Err(e) if e.status() == Some(404) => return RejectResult::NotFound,
                Err(GraphError::Api {
                    status: 403,
                    code,
                    message,
                    ..
                }) => {
                    tracing::warn!(approval_request_id = id, %code, %message, "Intune refused the decision by this identity");
                    return RejectResult::Forbidden {
                        message: format!("{code}: {message}"),
                    };
                }
                Err(e) if e.is_retryable() => {
                    // The POST may have taken effect (lost answer): the loop re-reads the status.
                    posted = true;
                    if let Err(e) = self.pause(&e, &mut attempt, deadline).await {
                        return RejectResult::failed(&e);
                    }
                }
                Err(e) if matches!(e.status(), Some(400 | 409)) => {
                    // Most likely decided between our GET and POST: say what it is now.
                    return match self.status_retrying(id, deadline, &mut attempt).await {
                        Ok(now) => {
                            judge(&now, justification, posted).unwrap_or(RejectResult::failed(&e))
                        }
                        Err(e2) if e2.status() == Some(404) => RejectResult::NotFound,
                        Err(_) => RejectResult::failed(&e),
                    };
                }
                Err(e) => return RejectResult::failed(&e),
            }
        }
    }

    async fn status_retrying(
        &self,
        id: &str,
        deadline: Instant,
        attempt: &mut u32,
    ) -> Result<RequestStatus, GraphError> {
        let url = self.request_url(id, "");
        loop {
            match self.call(reqwest::Method::GET, &url, None).await {
                Ok(answer) => {
                    return serde_json::from_str(&answer.body).map_err(|e| GraphError::Protocol {
                        what: "Graph".into(),
                        message: format!(
                            "the operationApprovalRequest is not the expected JSON: {e}"
                        ),
                    });
                }
                Err(e) if e.is_retryable() => self.pause(&e, attempt, deadline).await?,
                Err(e) => return Err(e),
            }
        }
    }

    async fn post_reject(&self, id: &str, justification: &str) -> Result<(), GraphError> {
        let body = serde_json::json!({
            "justification": justification,
            "approvalSource": APPROVAL_SOURCE,
        });
        let answer = self
            .call(
                reqwest::Method::POST,
                &self.request_url(id, "/reject"),
                Some(&body),
            )
            .await?;
        tracing::debug!(
            approval_request_id = id,
            status = answer.status,
            "reject accepted"
        );
        Ok(())
    }

    pub(super) fn request_url(&self, id: &str, suffix: &str) -> String {
        format!(
            "{}/deviceManagement/operationApprovalRequests/{}{suffix}",
            self.inner.base_url,
            path_segment(id)
        )
    }
}

/// The outcome a request's current state already decides, or `None` when it can be rejected.
/// `rejected` with our justification is ours only when a POST of ours may have taken effect
/// (SPEC §4: a lost answer); otherwise someone, or an earlier message, rejected it first.
pub(super) fn judge(
    current: &RequestStatus,
    justification: &str,
    posted: bool,
) -> Option<RejectResult> {
    match current.status.as_str() {
        NEEDS_APPROVAL => None,
        "rejected"
            if posted && current.approval_justification.as_deref() == Some(justification) =>
        {
            Some(RejectResult::Rejected)
        }
        other => Some(RejectResult::AlreadyDecided {
            status: other.to_string(),
        }),
    }
}
