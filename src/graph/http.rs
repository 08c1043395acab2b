//! One Graph call on the wire, and the retries around it.
//!
//! `send` makes one HTTP request with the headers every call carries and turns a non-2xx answer
//! into [`GraphError::Api`] (Graph's error body read by `parse_graph_error`); `call` repeats it
//! once with a fresh token after a 401; `pause` sleeps before the next attempt, or gives up when
//! the budget (`graph.retry_max_secs`) is spent. The GETs that read JSON (one resource, a paged
//! collection, a path for `check`) loop on these; the reject has its own loop (`requests`).

use std::time::Instant;

use serde::Deserialize;

use super::{GraphClient, GraphError, retry_after_of, transport_error};
use crate::secret::Secret;

/// One successful answer.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: String,
}

impl GraphClient {
    /// `GET {base_url}/{path}` as JSON (for `check`: policies, group membership), retried like
    /// [`status`](Self::status).
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, GraphError> {
        let url = format!("{}/{}", self.inner.base_url, path.trim_start_matches('/'));
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        loop {
            match self.call(reqwest::Method::GET, &url, None).await {
                Ok(answer) => {
                    return serde_json::from_str(&answer.body).map_err(|e| GraphError::Protocol {
                        what: "Graph".into(),
                        message: format!("{path}: not JSON: {e}"),
                    });
                }
                Err(e) => self.pause(&e, &mut attempt, deadline).await?,
            }
        }
    }

    /// Every item of the collection at `url`, following `@odata.nextLink`; each page is retried
    /// like [`status`](Self::status), within one retry budget for the whole walk. `what` names
    /// the collection in errors.
    pub(crate) async fn get_pages<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<Vec<T>, GraphError> {
        #[derive(Deserialize)]
        struct Page<T> {
            #[serde(default = "Vec::new")]
            value: Vec<T>,
            #[serde(rename = "@odata.nextLink", default)]
            next_link: Option<String>,
        }
        let mut next = Some(url.to_string());
        let mut all = Vec::new();
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        while let Some(url) = next.take() {
            let answer = loop {
                match self.call(reqwest::Method::GET, &url, None).await {
                    Ok(a) => break a,
                    Err(e) => self.pause(&e, &mut attempt, deadline).await?,
                }
            };
            let page: Page<T> =
                serde_json::from_str(&answer.body).map_err(|e| GraphError::Protocol {
                    what: "Graph".into(),
                    message: format!("{what} is not the expected JSON: {e}"),
                })?;
            all.extend(page.value);
            next = page.next_link;
        }
        Ok(all)
    }

    /// One resource at `url`, retried like [`status`](Self::status); `what` names it in errors.
    pub(crate) async fn get_one<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, GraphError> {
        let deadline = Instant::now() + self.inner.retry.max_elapsed;
        let mut attempt = 0;
        let answer = loop {
            match self.call(reqwest::Method::GET, url, None).await {
                Ok(a) => break a,
                Err(e) => self.pause(&e, &mut attempt, deadline).await?,
            }
        };
        serde_json::from_str(&answer.body).map_err(|e| GraphError::Protocol {
            what: "Graph".into(),
            message: format!("{what} is not the expected JSON: {e}"),
        })
    }

    /// Sleeps before the next attempt, or returns `error` when the budget does not allow one.
    pub(super) async fn pause(
        &self,
        error: &GraphError,
        attempt: &mut u32,
        deadline: Instant,
    ) -> Result<(), GraphError> {
        if !error.is_retryable() {
            return Err(error.clone());
        }
        let delay = self.inner.retry.delay(*attempt, error.retry_after());
        if Instant::now() + delay > deadline {
            tracing::warn!(%error, attempts = *attempt + 1, "giving up on Graph: retry budget spent");
            return Err(error.clone());
        }
        tracing::warn!(%error, attempt = *attempt + 1, delay_ms = delay.as_millis() as u64, "Graph call failed; retrying");
        crate::metrics::graph_retry();
        *attempt += 1;
        tokio::time::sleep(delay).await;
        Ok(())
    }

    /// One call, with the token refreshed and the call repeated once on a 401.
    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GraphError> {
        let mut token = self.graph_token().await?;
        let mut refreshed = false;
        loop {
            match self.send(method.clone(), url, body, &token).await {
                Err(e) if e.status() == Some(401) && !refreshed => {
                    tracing::info!(url, "Graph refused the token (401); fetching a new one");
                    self.forget_graph_token(&token).await;
                    token = self.graph_token().await?;
                    refreshed = true;
                }
                other => return other,
            }
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
        token: &Secret,
    ) -> Result<Answer, GraphError> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let mut request = self
            .inner
            .http
            .request(method.clone(), url)
            .header("Authorization", format!("Bearer {}", token.expose()))
            .header("Accept", "application/json")
            .header("client-request-id", &client_request_id);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let started = Instant::now();
        let result = request.send().await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                let error = transport_error("Graph", &e);
                tracing::warn!(%method, url, client_request_id, %error, "Graph call got no answer");
                return Err(error);
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| transport_error("Graph", &e))?;
        let graph_request_id = headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        tracing::debug!(
            %method,
            url,
            status,
            graph_request_id = graph_request_id.as_deref().unwrap_or(""),
            client_request_id,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Graph call"
        );
        if (200..300).contains(&status) {
            return Ok(Answer { status, body: text });
        }
        let (code, message, inner_request_id) = parse_graph_error(&text);
        let request_id = graph_request_id.or(inner_request_id);
        let error = GraphError::Api {
            status,
            code: code.unwrap_or_else(|| format!("HTTP{status}")),
            message: message.unwrap_or_else(|| "no error message".into()),
            request_id: request_id.clone(),
            retry_after: retry_after_of(&headers),
            retryable: status == 429 || status >= 500,
        };
        tracing::warn!(
            %method,
            url,
            status,
            graph_request_id = request_id.as_deref().unwrap_or(""),
            client_request_id,
            %error,
            "Graph answered with an error"
        );
        Err(error)
    }
}

/// Graph's error body: `{"error": {"code", "message", "innerError": {"request-id", "date"}}}`.
pub(super) fn parse_graph_error(text: &str) -> (Option<String>, Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return (None, None, None);
    };
    let error = &value["error"];
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let inner = if error["innerError"].is_object() {
        &error["innerError"]
    } else {
        &error["innererror"]
    };
    (
        s(&error["code"]),
        s(&error["message"]),
        s(&inner["request-id"]),
    )
}
