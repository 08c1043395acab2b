//! The reply step: the confirmation or explanation the row calls for (SPEC §5), its Message-ID
//! fixed in the journal before the first send, sent over SMTP and recorded.

use crate::journal::Row;
use crate::model::{ReplyResult, Step};
use crate::reply::compose::{self, ReplyContext};
use crate::reply::smtp::SendError;

use super::{Bridge, PassError};

impl Bridge {
    /// Sends the reply the row calls for. `None`: a transient failure, try again next pass.
    pub(super) async fn reply_step(&self, row: &Row) -> Result<Option<Row>, PassError> {
        let key = row.key.clone();
        let Some((outcome, ctx)) = ReplyContext::from_row(row) else {
            // Nothing to say (cannot happen for refuse/graph_done rows); go on to filing.
            let k = key.clone();
            self.j(move |j| {
                j.record_reply(
                    &k,
                    &ReplyResult::Undeliverable {
                        error: "no reply for this outcome".into(),
                    },
                )
            })
            .await?;
            return self.reload(&key).await.map(Some);
        };
        let d = row.decided.clone().expect("a decided row");
        let to = d.approver.clone().unwrap_or_default();
        let domain = crate::config::message_id_domain(&self.config.smtp.from);
        if row.reply_attempts == 0 && !self.may_answer(&key, &to).await? {
            return self.answer_withheld(&key, &domain).await.map(Some);
        }
        let k = key.clone();
        let reply_id = self.j(move |j| j.begin_reply(&k, &domain)).await?;
        let composed = compose::compose_reply(
            &self.templates,
            outcome,
            &ctx,
            &self.config.smtp.from,
            &to,
            d.subject.as_deref(),
            row.message_id.as_deref(),
            &d.references,
            &reply_id,
        );
        let result = match composed {
            Err(e) => ReplyResult::Undeliverable {
                error: format!("could not compose the reply: {e}"),
            },
            Ok(msg) => match self.sender.send(&msg).await {
                Ok(()) => {
                    crate::metrics::smtp_refused(None);
                    ReplyResult::Sent
                }
                Err(SendError::Permanent(e)) => ReplyResult::Undeliverable { error: e },
                Err(err @ (SendError::Transient(_) | SendError::Refused(_))) => {
                    // SPEC §5: the message stays unfiled and the reply is retried, however long
                    // the SMTP server is away (or refuses the bridge's account: then /healthz
                    // says why); each failure is in the journal and the log.
                    let attempts = row.reply_attempts + 1;
                    tracing::warn!(key = %key, attempts, error = %err, "reply not sent; will retry");
                    if let SendError::Refused(why) = &err {
                        crate::metrics::smtp_refused(Some(why.clone()));
                    }
                    let e = err.to_string();
                    let k = key.clone();
                    self.j(move |j| j.record_error(&k, Step::Reply, &e, false))
                        .await?;
                    return Ok(None);
                }
            },
        };
        if let ReplyResult::Undeliverable { error } = &result {
            tracing::warn!(key = %key, error = %error, "reply undeliverable; recorded in the journal");
        }
        crate::metrics::reply_result(&result);
        let k = key.clone();
        self.j(move |j| j.record_reply(&k, &result)).await?;
        self.reload(&key).await.map(Some)
    }
}
