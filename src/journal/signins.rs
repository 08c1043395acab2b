//! The journal's stored sign-ins, the messages waiting for one, and alerts to the ops team
//! (`graph.auth = "delegated"`, SPEC §4). SQL only; sealing happens in [`crate::graph::signin::vault`].
//!
//! A sign-in row holds the sealed refresh token and a `generation` that every `login` bumps. A
//! refresh stores its rotated token with [`Journal::rotate_signin`] only into the generation it
//! read, in one statement that also records the time, so a concurrent `login` is never
//! overwritten and a crash leaves either the old token or the new one, both valid (Entra does not
//! revoke a refresh token when it issues the next one).

use rusqlite::{OptionalExtension, named_params};

use super::transitions::update;
use super::{Journal, JournalError, NOW};
use crate::model::{MsgKey, State};

/// A stored sign-in, its refresh token still sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSignIn {
    pub account: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    /// Granted scopes, as Entra listed them.
    pub scopes: Vec<String>,
    pub sealed_token: Vec<u8>,
    pub generation: i64,
    pub signed_in_at: String,
    pub refreshed_at: String,
    /// Entra refused the refresh token (`invalid_grant`, `interaction_required`): why.
    pub lost: Option<(String, String)>,
}

impl std::fmt::Debug for StoredSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSignIn")
            .field("account", &self.account)
            .field("username", &self.username)
            .field("generation", &self.generation)
            .field("refreshed_at", &self.refreshed_at)
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

fn read_signin(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSignIn> {
    let scopes: String = r.get("scopes")?;
    let lost_at: Option<String> = r.get("lost_at")?;
    let lost_reason: Option<String> = r.get("lost_reason")?;
    Ok(StoredSignIn {
        account: r.get("account")?,
        user_id: r.get("user_id")?,
        username: r.get("username")?,
        display_name: r.get("display_name")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        sealed_token: r.get("sealed_token")?,
        generation: r.get("generation")?,
        signed_in_at: r.get("signed_in_at")?,
        refreshed_at: r.get("refreshed_at")?,
        lost: lost_at.map(|at| (at, lost_reason.unwrap_or_default())),
    })
}

impl Journal {
    /// The sign-in stored for `account`, if any.
    pub fn signin(&self, account: &str) -> Result<Option<StoredSignIn>, JournalError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT * FROM signins WHERE account = ?1",
                [account],
                read_signin,
            )
            .optional()?)
    }

    /// Stores a new sign-in for `account` (a `login`): replaces any earlier one, clears a loss,
    /// and returns the new generation.
    pub fn store_signin(
        &self,
        account: &str,
        user_id: Option<&str>,
        username: Option<&str>,
        display_name: Option<&str>,
        scopes: &[String],
        sealed_token: &[u8],
    ) -> Result<i64, JournalError> {
        let mut conn = self.lock();
        let tx = super::atomic(&mut conn)?;
        let generation: i64 = tx
            .query_row(
                "SELECT generation FROM signins WHERE account = ?1",
                [account],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0)
            + 1;
        tx.execute(
            &format!(
                "INSERT INTO signins (account, user_id, username, display_name, scopes,
                   sealed_token, generation, signed_in_at, refreshed_at)
                 VALUES (:account, :user_id, :username, :display_name, :scopes, :sealed,
                   :generation, {NOW}, {NOW})
                 ON CONFLICT (account) DO UPDATE SET user_id = :user_id, username = :username,
                   display_name = :display_name, scopes = :scopes, sealed_token = :sealed,
                   generation = :generation, signed_in_at = {NOW}, refreshed_at = {NOW},
                   lost_at = NULL, lost_reason = NULL"
            ),
            named_params! {
                ":account": account,
                ":user_id": user_id,
                ":username": username,
                ":display_name": display_name,
                ":scopes": scopes.join(" "),
                ":sealed": sealed_token,
                ":generation": generation,
            },
        )?;
        tx.commit()?;
        Ok(generation)
    }

    /// Stores the refresh token a refresh of `generation` received (and the granted scopes, and
    /// the time). False, and nothing written, when that generation is no longer the stored one
    /// (a `login` or `logout` came in between) or it was lost meanwhile.
    pub fn rotate_signin(
        &self,
        account: &str,
        generation: i64,
        scopes: &[String],
        sealed_token: &[u8],
    ) -> Result<bool, JournalError> {
        let n = self.lock().execute(
            &format!(
                "UPDATE signins SET sealed_token = :sealed, scopes = :scopes, refreshed_at = {NOW}
                 WHERE account = :account AND generation = :generation AND lost_at IS NULL"
            ),
            named_params! {
                ":account": account,
                ":generation": generation,
                ":scopes": scopes.join(" "),
                ":sealed": sealed_token,
            },
        )?;
        Ok(n == 1)
    }

    /// Records that Entra refused the refresh token of `generation` (`reason` in words, no
    /// secret). False when that generation is no longer the stored one.
    pub fn mark_signin_lost(
        &self,
        account: &str,
        generation: i64,
        reason: &str,
    ) -> Result<bool, JournalError> {
        let n = self.lock().execute(
            &format!(
                "UPDATE signins SET lost_at = COALESCE(lost_at, {NOW}), lost_reason = :reason
                 WHERE account = :account AND generation = :generation"
            ),
            named_params! {
                ":account": account,
                ":generation": generation,
                ":reason": reason,
            },
        )?;
        Ok(n == 1)
    }

    /// Every stored sign-in whose account starts with `prefix` (`"approver:"`), by account.
    pub fn signins_with_prefix(&self, prefix: &str) -> Result<Vec<StoredSignIn>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT * FROM signins WHERE substr(account, 1, length(?1)) = ?1 ORDER BY account",
        )?;
        let rows = stmt.query_map([prefix], read_signin)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Forgets the sign-in of `account` (`logout`). False when there was none.
    pub fn forget_signin(&self, account: &str) -> Result<bool, JournalError> {
        Ok(self
            .lock()
            .execute("DELETE FROM signins WHERE account = ?1", [account])?
            == 1)
    }

    /// `decided (reject) | graph_pending → awaiting_signin`: the reject waits for a sign-in.
    /// Keeps the Graph attempt count (a POST may have gone out before; the next attempt then
    /// treats a rejection with our justification as ours).
    pub fn await_signin(&self, key: &MsgKey, reason: &str) -> Result<(), JournalError> {
        let conn = self.lock();
        update(
            &conn,
            key,
            &[State::Decided, State::GraphPending, State::AwaitingSignin],
            Some(State::AwaitingSignin),
            &format!("awaiting_since = COALESCE(awaiting_since, {NOW}), awaiting_reason = :reason"),
            named_params! { ":reason": reason },
        )
    }

    /// How many messages wait for a sign-in.
    pub fn awaiting_signin_count(&self) -> Result<u64, JournalError> {
        let n: i64 = self.lock().query_row(
            "SELECT COUNT(*) FROM messages WHERE state = 'awaiting_signin'",
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Raises alert `kind` (keeping the first `since` while it lasts) and says whether a mail
    /// is due: none sent yet, or the last one `period_secs` ago or more. The caller sends it,
    /// then calls [`Journal::alert_sent`].
    pub fn raise_alert(
        &self,
        kind: &str,
        detail: &str,
        period_secs: u64,
    ) -> Result<bool, JournalError> {
        let conn = self.lock();
        conn.execute(
            &format!(
                "INSERT INTO alerts (kind, since, detail) VALUES (:kind, {NOW}, :detail)
                 ON CONFLICT (kind) DO UPDATE SET detail = :detail"
            ),
            named_params! { ":kind": kind, ":detail": detail },
        )?;
        let due: bool = conn.query_row(
            "SELECT last_sent_at IS NULL
                    OR (julianday('now') - julianday(last_sent_at)) * 86400.0 >= :period
             FROM alerts WHERE kind = :kind",
            named_params! { ":kind": kind, ":period": period_secs as f64 },
            |r| r.get(0),
        )?;
        Ok(due)
    }

    /// Records that the mail about alert `kind` went out now.
    pub fn alert_sent(&self, kind: &str) -> Result<(), JournalError> {
        self.lock().execute(
            &format!("UPDATE alerts SET last_sent_at = {NOW} WHERE kind = ?1"),
            [kind],
        )?;
        Ok(())
    }

    /// Ends alert `kind` (its cause is gone): the next occurrence mails again at once.
    pub fn clear_alert(&self, kind: &str) -> Result<(), JournalError> {
        self.lock()
            .execute("DELETE FROM alerts WHERE kind = ?1", [kind])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
