//! The folders: the filing folders made sure of (LIST, CREATE, SUBSCRIBE) or only looked at
//! (for `check`), a mailbox opened read-only (EXAMINE) or for work (SELECT, its UIDVALIDITY).

use futures::TryStreamExt;

use super::codec::{encode_mailbox_name, folder_listed};
use super::{ImapError, ImapSession, map_imap_error, timed};

impl ImapSession {
    /// Creates each folder that does not exist yet (and subscribes it, so mail apps show it).
    pub async fn ensure_folders(&mut self, names: &[&str]) -> Result<(), ImapError> {
        let existing = self.list_folders().await?;
        for name in names {
            let encoded = encode_mailbox_name(name);
            if folder_listed(&existing, &encoded) {
                continue;
            }
            let t = self.timeout;
            let created = timed(t, "CREATE", async {
                Ok(self.session.create(&encoded).await)
            })
            .await?;
            if let Err(e) = created {
                // Someone else may have created it meanwhile: look again before failing.
                let again = self.list_folders().await?;
                if !folder_listed(&again, &encoded) {
                    return Err(map_imap_error("CREATE", e));
                }
            } else {
                tracing::info!(folder = %name, "created IMAP folder");
                let _ = timed(t, "SUBSCRIBE", async {
                    Ok(self.session.subscribe(&encoded).await)
                })
                .await?;
            }
        }
        self.drain_unsolicited();
        Ok(())
    }

    /// Of `names`, the folders that do not exist yet (what [`ImapSession::ensure_folders`] would
    /// create), in the order given. Changes nothing.
    pub async fn missing_folders(&mut self, names: &[&str]) -> Result<Vec<String>, ImapError> {
        let existing = self.list_folders().await?;
        self.drain_unsolicited();
        Ok(names
            .iter()
            .filter(|n| !folder_listed(&existing, &encode_mailbox_name(n)))
            .map(|n| n.to_string())
            .collect())
    }

    /// Opens `mailbox` read-only (EXAMINE) and returns how many messages it holds; `None` when
    /// the server says it does not exist (or cannot be opened). Changes nothing.
    pub async fn examine(&mut self, mailbox: &str) -> Result<Option<u32>, ImapError> {
        let t = self.timeout;
        let encoded = encode_mailbox_name(mailbox);
        let examined = timed(t, "EXAMINE", async {
            Ok(self.session.examine(&encoded).await)
        })
        .await?;
        self.drain_unsolicited();
        match examined {
            Ok(m) => Ok(Some(m.exists)),
            Err(async_imap::error::Error::No(_)) => Ok(None),
            Err(e) => Err(map_imap_error("EXAMINE", e)),
        }
    }

    async fn list_folders(&mut self) -> Result<Vec<String>, ImapError> {
        let t = self.timeout;
        timed(t, "LIST", async {
            let stream = self
                .session
                .list(Some(""), Some("*"))
                .await
                .map_err(|e| map_imap_error("LIST", e))?;
            let names: Vec<_> = stream
                .try_collect()
                .await
                .map_err(|e| map_imap_error("LIST", e))?;
            Ok(names.iter().map(|n| n.name().to_owned()).collect())
        })
        .await
    }

    /// Selects `mailbox` (read-write) and returns its UIDVALIDITY.
    pub async fn select(&mut self, mailbox: &str) -> Result<u32, ImapError> {
        let t = self.timeout;
        let encoded = encode_mailbox_name(mailbox);
        let selected = timed(t, "SELECT", async {
            self.session
                .select(&encoded)
                .await
                .map_err(|e| map_imap_error("SELECT", e))
        })
        .await?;
        self.drain_unsolicited();
        selected.uid_validity.ok_or(ImapError::Protocol {
            command: "SELECT",
            reason: format!("the server gave no UIDVALIDITY for {mailbox}"),
        })
    }
}
