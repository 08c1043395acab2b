//! Filing a message: UID MOVE, or where the server lacks MOVE, UID COPY + UID STORE \Deleted +
//! UID EXPUNGE of exactly those UIDs (UIDPLUS), so no other message is ever expunged.

use futures::TryStreamExt;

use super::codec::{encode_mailbox_name, uid_set};
use super::{ImapError, ImapSession, map_imap_error, timed};

impl ImapSession {
    /// Moves one message of the selected mailbox to `folder`: UID MOVE, or where MOVE is missing
    /// UID COPY + UID STORE \Deleted + UID EXPUNGE of that UID alone (UIDPLUS).
    pub async fn move_to(&mut self, uid: u32, folder: &str) -> Result<(), ImapError> {
        self.move_set(&[uid], folder).await
    }

    /// Moves the messages `uids` of the selected mailbox to `folder` with one command (UID MOVE
    /// of the set; or COPY, STORE and UID EXPUNGE of the set). UIDs no longer there are skipped
    /// by the server.
    pub async fn move_set(&mut self, uids: &[u32], folder: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let t = self.timeout;
        let target = encode_mailbox_name(folder);
        let set = uid_set(uids);
        if self.caps.move_ {
            timed(t, "UID MOVE", async {
                self.session
                    .uid_mv(&set, &target)
                    .await
                    .map_err(|e| map_imap_error("UID MOVE", e))
            })
            .await?;
        } else {
            timed(t, "UID COPY", async {
                self.session
                    .uid_copy(&set, &target)
                    .await
                    .map_err(|e| map_imap_error("UID COPY", e))
            })
            .await?;
            self.drain_unsolicited();
            timed(t, "UID STORE", async {
                let stream = self
                    .session
                    .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                    .await
                    .map_err(|e| map_imap_error("UID STORE", e))?;
                stream
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(|e| map_imap_error("UID STORE", e))
            })
            .await?;
            self.drain_unsolicited();
            timed(t, "UID EXPUNGE", async {
                let stream = self
                    .session
                    .uid_expunge(&set)
                    .await
                    .map_err(|e| map_imap_error("UID EXPUNGE", e))?;
                stream
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(|e| map_imap_error("UID EXPUNGE", e))
            })
            .await?;
        }
        self.drain_unsolicited();
        tracing::debug!(uids = %set, folder = %folder, "messages filed");
        Ok(())
    }
}
