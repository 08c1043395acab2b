//! The Graph step of a reject: the journal's intent, the call as the service account or the
//! approver (SPEC §4), and what the outcome means for the row; a missing sign-in makes the row
//! wait in `awaiting_signin`.

use crate::graph::{self, GraphClient};
use crate::journal::Row;
use crate::model::{Decided, GraphOutcome, MsgKey, State};

use super::{Bridge, GraphStep, PassError};

impl Bridge {
    /// The Graph call of a reject. `None`: no sign-in to decide with; the row waits in
    /// `awaiting_signin` (unanswered, unfiled) for `reject-bridge login`.
    pub(super) async fn graph_step(&self, row: &Row) -> Result<GraphStep, PassError> {
        let key = row.key.clone();
        let waited = row.state == State::AwaitingSignin;
        let d = row.decided.clone().expect("a decided row");
        let client = match self.decider(row, &d, waited).await? {
            Ok(client) => client,
            Err(waiting) => return Ok(waiting),
        };
        let (Some(id), Some(text)) = (d.request_id.clone(), d.graph_justification.clone()) else {
            let k = key.clone();
            self.j(move |j| {
                j.record_graph(
                    &k,
                    &GraphOutcome::Failed {
                        message: "no request ID or justification recorded".into(),
                    },
                )
            })
            .await?;
            return self.reload(&key).await.map(GraphStep::Done);
        };
        let k = key.clone();
        let attempt = self.j(move |j| j.begin_graph(&k)).await?;
        // A second attempt means the process stopped during the first one, which may have POSTed.
        let result = if attempt > 1 {
            client.resume_reject(&id, &text).await
        } else {
            client.reject(&id, &text).await
        };
        let outcome = match result {
            graph::RejectResult::SignInRequired { reason } if self.approvers.is_some() => {
                return self.hold_for_link(row, &d, reason).await;
            }
            graph::RejectResult::SignInRequired { reason } => {
                return self.await_signin(&key, reason, waited).await;
            }
            graph::RejectResult::Rejected => GraphOutcome::Rejected,
            graph::RejectResult::AlreadyDecided { status } => {
                GraphOutcome::AlreadyDecided { status }
            }
            graph::RejectResult::NotFound => GraphOutcome::NotFound,
            // The approver's own identity was refused: answered in words and filed. With the
            // service's identity a 403 is the operators' problem: failed, to the failed folder.
            graph::RejectResult::Forbidden { message } if self.approvers.is_some() => {
                GraphOutcome::Forbidden { message }
            }
            graph::RejectResult::Forbidden { message } => GraphOutcome::Failed { message },
            graph::RejectResult::Failed { code, message, .. } => GraphOutcome::Failed {
                message: if code.is_empty() {
                    message
                } else {
                    format!("{code}: {message}")
                },
            },
        };
        tracing::info!(key = %key, request_id = %id, attempt, outcome = outcome.as_str(), "graph outcome");
        crate::metrics::graph_outcome(outcome.as_str());
        let k = key.clone();
        self.j(move |j| j.record_graph(&k, &outcome)).await?;
        if self.graph.signin().is_some() && self.approvers.is_none() {
            self.signin_state(None).await;
        }
        self.reload(&key).await.map(GraphStep::Done)
    }

    /// Whose token decides: the replying approver's own (`act_as = "approver"`), else the
    /// service's. `Err`: known to be without a sign-in, the row waits (no attempt counted).
    async fn decider(
        &self,
        row: &Row,
        d: &Decided,
        waited: bool,
    ) -> Result<Result<GraphClient, GraphStep>, PassError> {
        let key = &row.key;
        let approver = d.approver.clone().unwrap_or_default();
        match &self.approvers {
            Some(approvers) => {
                let signin = match approvers.signin(&approver) {
                    Ok(s) => s,
                    Err(e) => return self.graph_failed(key, e.to_string()).await.map(Err),
                };
                if let Err(graph::GraphError::SignIn { reason }) = signin.access_token().await {
                    return self.hold_for_link(row, d, reason).await.map(Err);
                }
                Ok(Ok(self.graph.acting_as(signin)))
            }
            None => {
                if let Err(graph::GraphError::SignIn { reason }) = self.graph.ensure_signin().await
                {
                    return self.await_signin(key, reason, waited).await.map(Err);
                }
                Ok(Ok(self.graph.clone()))
            }
        }
    }

    /// Records a Graph outcome `failed` with `message` (a problem before any call).
    async fn graph_failed(&self, key: &MsgKey, message: String) -> Result<GraphStep, PassError> {
        let k = key.clone();
        self.j(move |j| {
            j.begin_graph(&k)?;
            j.record_graph(&k, &GraphOutcome::Failed { message })
        })
        .await?;
        self.reload(key).await.map(GraphStep::Done)
    }

    /// Puts the row in `awaiting_signin` and reports the sign-in's problem.
    /// `waited`: the row was already waiting (logged once, when it began).
    async fn await_signin(
        &self,
        key: &MsgKey,
        reason: String,
        waited: bool,
    ) -> Result<GraphStep, PassError> {
        let (k, r) = (key.clone(), reason.clone());
        self.j(move |j| j.await_signin(&k, &r)).await?;
        if !waited {
            tracing::warn!(key = %key, %reason, "no Graph sign-in: the reject waits, unanswered and unfiled");
        }
        self.signin_state(Some(reason)).await;
        Ok(GraphStep::Waiting)
    }
}
