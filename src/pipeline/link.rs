//! `graph.act_as = "approver"`: holding a reject until its approver links their own account.
//!
//! The first time a reply of an approver without a usable sign-in needs Graph, its row goes to
//! `awaiting_link` and a link is recorded for it (the token sealed, the link mail's Message-ID
//! fixed: the intent before the send), then mailed as a reply to theirs, threaded. The link works
//! `web.link_ttl_mins` from the moment the mail went out. While it is open the message waits in
//! the mailbox; when the approver links (the web endpoint wakes the service) the reject goes out
//! with their token, the status checked first, followed by the usual confirmation. A link that
//! expires unused ends the hold: the message is filed without a decision (the mail said to reply
//! again for a new link), so one reply never gets a second link mail.

use super::{Bridge, GraphStep, PassError};
use crate::graph::signin::approvers;
use crate::graph::signin::vault::Key;
use crate::journal::{JournalError, Link, Row};
use crate::model::{Decided, ReplyResult, Step};
use crate::reply::compose::{self, ReplyContext, ReplyKind};
use crate::reply::smtp::SendError;

impl Bridge {
    /// Holds `row` until `approver` links their account (`reason`: why their sign-in is not
    /// usable), mailing the link once.
    pub(super) async fn hold_for_link(
        &self,
        row: &Row,
        d: &Decided,
        reason: String,
    ) -> Result<GraphStep, PassError> {
        let key = row.key.clone();
        let approver = d.approver.as_deref().unwrap_or_default();
        let (k, r) = (key.clone(), reason.clone());
        self.j(move |j| j.hold_for_link(&k, &r)).await?;
        let row_id = row.id;
        let existing = self.j(move |j| j.link_for_message(row_id)).await?;
        let vault = Key::load_or_create(&self.config.state)
            .map_err(|e| PassError::Journal(JournalError::Task(e.to_string())))?;
        let link = match existing {
            Some(l) if l.used_at.is_some() || l.expired => {
                let why = if l.used_at.is_some() {
                    "the approver linked their account, but the sign-in is not usable now; their next reply gets a fresh link"
                } else {
                    "held for the approver's own sign-in, but the link expired unused; a new reply gets a new link"
                };
                tracing::info!(key = %key, %approver, "{why}");
                let k = key.clone();
                self.j(move |j| j.record_error(&k, Step::Graph, why, false))
                    .await?;
                return self.reload(&key).await.map(GraphStep::LinkExpired);
            }
            Some(l) => l,
            None => {
                let token = approvers::new_link_token();
                let hash = approvers::token_hash(token.expose());
                let sealed = vault.seal(&token_context(row_id), &token);
                let domain = crate::config::message_id_domain(&self.config.smtp.from);
                let mid = format!("link.{}@{domain}", uuid::Uuid::new_v4().simple());
                let ttl = self.config.web.link_ttl.as_secs();
                let a = approver.to_string();
                let l = self
                    .j(move |j| j.create_link(&a, row_id, &hash, &sealed, &mid, ttl))
                    .await?;
                tracing::info!(key = %key, %approver, %reason, "the approver's own sign-in is needed: the reject is held and a link is mailed");
                l
            }
        };
        if link.mailed_at.is_none() {
            self.mail_link(row, d, &link, &vault).await?;
        }
        Ok(GraphStep::Waiting)
    }

    /// Sends the link mail of `link` (same Message-ID on every attempt); a transient failure is
    /// tried again at the next pass.
    async fn mail_link(
        &self,
        row: &Row,
        d: &Decided,
        link: &Link,
        vault: &Key,
    ) -> Result<(), PassError> {
        let token = vault
            .open(&token_context(row.id), &link.sealed_token)
            .map_err(|e| PassError::Journal(JournalError::Task(e.to_string())))?;
        let ctx = ReplyContext {
            request_id: d.request_id.clone().unwrap_or_default(),
            approver: link.approver.clone(),
            justification: d.justification.clone().unwrap_or_default(),
            graph_justification: d.graph_justification.clone().unwrap_or_default(),
            truncated: d.truncated,
            original_subject: d.subject.clone().unwrap_or_default(),
            reason: d.reason.clone(),
            link_url: format!(
                "{}/link/{}",
                self.config.web.public_url.as_deref().unwrap_or_default(),
                token.expose()
            ),
            link_minutes: self.config.web.link_ttl.as_secs() / 60,
            ..ReplyContext::default()
        };
        let msg = compose::compose_reply(
            self.templates(),
            ReplyKind::LinkRequired,
            &ctx,
            &self.config.smtp.from,
            &link.approver,
            d.subject.as_deref(),
            row.message_id.as_deref(),
            &d.references,
            &link.mail_message_id,
        );
        let ttl = self.config.web.link_ttl.as_secs();
        let id = link.id;
        match msg {
            Err(e) => {
                let why = format!("could not compose the link mail: {e}");
                tracing::warn!(key = %row.key, error = %why, "link mail not sent");
                self.j(move |j| {
                    j.link_failed(id, &why)?;
                    j.link_mailed(id, 0)
                })
                .await?;
            }
            Ok(msg) => match self.sender().send(&msg).await {
                Ok(()) => {
                    self.j(move |j| j.link_mailed(id, ttl)).await?;
                    crate::metrics::reply_result(&ReplyResult::Sent);
                }
                Err(SendError::Transient(e) | SendError::Refused(e)) => {
                    tracing::warn!(key = %row.key, error = %e, "link mail not sent; will retry");
                    crate::metrics::reply_deferred();
                }
                Err(SendError::Permanent(e)) => {
                    tracing::warn!(key = %row.key, error = %e, "link mail refused for good; the hold ends when the link expires");
                    self.j(move |j| {
                        j.link_failed(id, &e)?;
                        j.link_mailed(id, ttl)
                    })
                    .await?;
                }
            },
        }
        Ok(())
    }
}

/// The associated data a link's sealed token is bound to: its message row.
fn token_context(row_id: i64) -> String {
    format!("linktoken:{row_id}")
}
