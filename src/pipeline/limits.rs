//! What keeps the service's own output and storage bounded, whatever arrives:
//!
//! - **Answers per sender** (`approvers.max_replies_per_hour`, default 20): above it, a message is
//!   still decided, rejected in Graph and filed, but its answer is withheld (recorded in the
//!   journal as not sent, with why) and the sender's silence is logged once. Two robots that
//!   answer each other, one of them an allowed approver's, stop here.
//! - **The journal** keeps what an audit needs and no more: the text of ignored messages is not
//!   stored, subjects, Message-IDs, request IDs and texts are capped, References keep their first
//!   and latest entries ([`bounded`]); finished rows older than `state.retention_days` are pruned
//!   once a day ([`Bridge::prune_if_due`]).

use std::time::{Duration, Instant};

use super::{Bridge, PassError};
use crate::journal::Row;
use crate::model::Verdict;
use crate::model::{Decided, MsgKey, ReplyResult};

/// The window of `approvers.max_replies_per_hour`.
const HOUR: Duration = Duration::from_secs(3600);
/// Pruning runs at most this often.
const PRUNE_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Caps of what a journal row keeps (characters).
const MAX_SUBJECT: usize = 256;
const MAX_ID: usize = 256;
/// The approver's text as refused or sent (Graph keeps 1024 UTF-16 units of it; the reply shows
/// it back).
const MAX_TEXT: usize = 4096;
/// References kept: the first and the latest (RFC 5322 allows trimming the middle).
const MAX_REFERENCES: usize = 40;

impl Bridge {
    /// Whether `to` may get one more answer now (`approvers.max_replies_per_hour`). The first
    /// withheld answer to a sender is logged; the next ones are not, until an answer goes out
    /// again.
    pub(super) async fn may_answer(&self, key: &MsgKey, to: &str) -> Result<bool, PassError> {
        let Some(limit) = self.config.approvers.max_replies_per_hour else {
            return Ok(true);
        };
        let who = to.to_string();
        let sent = self
            .j(move |j| j.answers_since(&who, HOUR.as_secs()))
            .await?;
        let mut silenced = self.silenced.lock().unwrap_or_else(|e| e.into_inner());
        if sent < limit {
            silenced.remove(to);
            return Ok(true);
        }
        if silenced.insert(to.to_string()) {
            tracing::warn!(key = %key, sender = %to, limit, "this sender had {limit} answers in the last hour (approvers.max_replies_per_hour): further answers are withheld; their messages are still decided and filed");
        }
        Ok(false)
    }

    /// Records the answer of the row at `key` as withheld and moves on to filing.
    pub(super) async fn answer_withheld(
        &self,
        key: &MsgKey,
        domain: &str,
    ) -> Result<Row, PassError> {
        let limit = self.config.approvers.max_replies_per_hour.unwrap_or(0);
        let (k, d) = (key.clone(), domain.to_string());
        self.j(move |j| {
            j.begin_reply(&k, &d)?;
            j.record_reply(
                &k,
                &ReplyResult::Undeliverable {
                    error: format!(
                        "withheld: the sender had {limit} answers in the last hour (approvers.max_replies_per_hour)"
                    ),
                },
            )
        })
        .await?;
        crate::metrics::reply_withheld();
        self.reload(key).await
    }

    /// Deletes finished rows older than `state.retention_days`, at most once a day.
    pub(super) async fn prune_if_due(&self) {
        let Some(retention) = self.config.state.retention else {
            return;
        };
        {
            let mut last = self.pruned.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < PRUNE_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let days = retention.as_secs() / 86_400;
        match self.j(move |j| j.prune_filed(days)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                rows = n,
                retention_days = days,
                "pruned finished journal rows"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not prune the journal; trying again tomorrow")
            }
        }
    }
}

/// `d` as the journal keeps it (see the module doc).
pub(super) fn bounded(mut d: Decided) -> Decided {
    let cap = |s: Option<String>, max: usize| s.map(|s| cut(s, max));
    d.subject = cap(d.subject, MAX_SUBJECT);
    d.request_id = cap(d.request_id, MAX_ID);
    d.approver = cap(d.approver, MAX_ID);
    if d.verdict == Verdict::Ignore {
        // Nobody is answered and nothing is sent to Graph: the words are not the audit's.
        d.justification = None;
        d.graph_justification = None;
    } else {
        d.justification = cap(d.justification, MAX_TEXT);
    }
    if d.references.len() > MAX_REFERENCES {
        let tail = d
            .references
            .split_off(d.references.len() - (MAX_REFERENCES - 1));
        d.references.truncate(1);
        d.references.extend(tail);
    }
    d.references = d.references.into_iter().map(|r| cut(r, MAX_ID)).collect();
    d
}

/// `s` cut to at most `max` characters.
fn cut(mut s: String, max: usize) -> String {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decided(verdict: Verdict) -> Decided {
        Decided {
            verdict,
            reason: "x".into(),
            request_id: Some("r".repeat(1000)),
            approver: Some("a@example.test".into()),
            justification: Some("é".repeat(10_000)),
            graph_justification: Some("g".into()),
            truncated: false,
            subject: Some("s".repeat(100_000)),
            references: (0..50_000).map(|i| format!("<{i}@x>")).collect(),
        }
    }

    #[test]
    fn rows_keep_what_the_audit_needs() {
        let d = bounded(decided(Verdict::Refuse));
        assert_eq!(d.subject.as_ref().unwrap().chars().count(), MAX_SUBJECT);
        assert_eq!(d.request_id.as_ref().unwrap().len(), MAX_ID);
        assert_eq!(d.justification.as_ref().unwrap().chars().count(), MAX_TEXT);
        assert_eq!(d.references.len(), MAX_REFERENCES);
        assert_eq!(d.references[0], "<0@x>");
        assert_eq!(d.references[MAX_REFERENCES - 1], "<49999@x>");
        assert_eq!(d.graph_justification.as_deref(), Some("g"));
        let ignored = bounded(decided(Verdict::Ignore));
        assert_eq!(ignored.justification, None);
        assert_eq!(ignored.graph_justification, None);
        assert!(ignored.subject.is_some(), "the subject stays, capped");
    }
}
