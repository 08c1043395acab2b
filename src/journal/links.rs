//! The journal's linking links (`graph.act_as = "approver"`): one per held reply, mailed to its
//! approver, opened in a browser, used once. SQL only; tokens and PKCE verifiers arrive sealed
//! ([`crate::graph::signin::vault`]) and links are found by the SHA-256 of their token.

use rusqlite::{OptionalExtension, named_params};

use super::transitions::update;
use super::{Journal, JournalError, NOW};
use crate::model::{MsgKey, State};

/// A link as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Link {
    pub id: i64,
    pub approver: String,
    pub message_row: Option<i64>,
    pub sealed_token: Vec<u8>,
    pub mail_message_id: String,
    pub expires_at: String,
    /// Past `expires_at` when it was read.
    pub expired: bool,
    pub mailed_at: Option<String>,
    pub oauth_state: Option<String>,
    pub sealed_verifier: Option<Vec<u8>>,
    pub used_at: Option<String>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("id", &self.id)
            .field("approver", &self.approver)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

const LINK_COLUMNS: &str = "id, approver, message_row, sealed_token, mail_message_id, expires_at,
    expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS expired, mailed_at, oauth_state,
    sealed_verifier, used_at";

fn read_link(r: &rusqlite::Row<'_>) -> rusqlite::Result<Link> {
    Ok(Link {
        id: r.get("id")?,
        approver: r.get("approver")?,
        message_row: r.get("message_row")?,
        sealed_token: r.get("sealed_token")?,
        mail_message_id: r.get("mail_message_id")?,
        expires_at: r.get("expires_at")?,
        expired: r.get("expired")?,
        mailed_at: r.get("mailed_at")?,
        oauth_state: r.get("oauth_state")?,
        sealed_verifier: r.get("sealed_verifier")?,
        used_at: r.get("used_at")?,
    })
}

impl Journal {
    fn link_where(
        &self,
        clause: &str,
        param: &dyn rusqlite::ToSql,
    ) -> Result<Option<Link>, JournalError> {
        Ok(self
            .lock()
            .query_row(
                &format!("SELECT {LINK_COLUMNS} FROM links WHERE {clause}"),
                [param],
                read_link,
            )
            .optional()?)
    }

    /// The link issued for the held message of journal row `row_id`, if any.
    pub fn link_for_message(&self, row_id: i64) -> Result<Option<Link>, JournalError> {
        self.link_where("message_row = ?1", &row_id)
    }

    /// The link whose token hashes to `hash`.
    pub fn link_by_token_hash(&self, hash: &str) -> Result<Option<Link>, JournalError> {
        self.link_where("token_hash = ?1", &hash)
    }

    /// The link whose sign-in round trip carries `state`.
    pub fn link_by_state(&self, state: &str) -> Result<Option<Link>, JournalError> {
        self.link_where("oauth_state = ?1", &state)
    }

    /// Records a new link for the held message of row `row_id` (the intent, before the mail),
    /// valid `ttl_secs`; the existing one when that row already has one.
    #[allow(clippy::too_many_arguments)]
    pub fn create_link(
        &self,
        approver: &str,
        row_id: i64,
        token_hash: &str,
        sealed_token: &[u8],
        mail_message_id: &str,
        ttl_secs: u64,
    ) -> Result<Link, JournalError> {
        self.lock().execute(
            &format!(
                "INSERT INTO links (token_hash, sealed_token, approver, message_row, mail_message_id,
                   created_at, expires_at)
                 VALUES (:hash, :sealed, lower(:approver), :row, :mid, {NOW},
                   strftime('%Y-%m-%dT%H:%M:%fZ', 'now', :ttl))
                 ON CONFLICT (message_row) DO NOTHING"
            ),
            named_params! {
                ":hash": token_hash,
                ":sealed": sealed_token,
                ":approver": approver,
                ":row": row_id,
                ":mid": mail_message_id,
                ":ttl": format!("+{ttl_secs} seconds"),
            },
        )?;
        self.link_for_message(row_id)?
            .ok_or_else(|| JournalError::Corrupt("a link just recorded is missing".into()))
    }

    /// The link mail of link `id` went out (or will never): the link works `ttl_secs` from now.
    pub fn link_mailed(&self, id: i64, ttl_secs: u64) -> Result<(), JournalError> {
        self.lock().execute(
            &format!(
                "UPDATE links SET mailed_at = COALESCE(mailed_at, {NOW}),
                   expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2)
                 WHERE id = ?1 AND mailed_at IS NULL"
            ),
            rusqlite::params![id, format!("+{ttl_secs} seconds")],
        )?;
        Ok(())
    }

    /// The approver opened link `id`: the sign-in round trip `state` with its sealed PKCE
    /// verifier (a later opening replaces an earlier one).
    pub fn link_opened(
        &self,
        id: i64,
        state: &str,
        sealed_verifier: &[u8],
    ) -> Result<(), JournalError> {
        self.lock().execute(
            "UPDATE links SET oauth_state = ?2, sealed_verifier = ?3 WHERE id = ?1 AND used_at IS NULL",
            rusqlite::params![id, state, sealed_verifier],
        )?;
        Ok(())
    }

    /// The approver signed in through link `id`: it cannot be used again.
    pub fn link_used(&self, id: i64) -> Result<(), JournalError> {
        self.lock().execute(
            &format!(
                "UPDATE links SET used_at = COALESCE(used_at, {NOW}), oauth_state = NULL,
                   sealed_verifier = NULL WHERE id = ?1"
            ),
            [id],
        )?;
        Ok(())
    }

    /// Records why a sign-in through link `id` did not complete (no secret in `error`).
    pub fn link_failed(&self, id: i64, error: &str) -> Result<(), JournalError> {
        self.lock().execute(
            "UPDATE links SET last_error = ?2 WHERE id = ?1",
            rusqlite::params![id, error],
        )?;
        Ok(())
    }

    /// `decided (reject) | graph_pending | awaiting_link → awaiting_link`: the reject is held
    /// until its approver links their account. Keeps the Graph attempt count.
    pub fn hold_for_link(&self, key: &MsgKey, reason: &str) -> Result<(), JournalError> {
        let conn = self.lock();
        update(
            &conn,
            key,
            &[State::Decided, State::GraphPending, State::AwaitingLink],
            Some(State::AwaitingLink),
            &format!("awaiting_since = COALESCE(awaiting_since, {NOW}), awaiting_reason = :reason"),
            named_params! { ":reason": reason },
        )
    }
}

#[cfg(test)]
mod tests;
