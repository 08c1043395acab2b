//! Waiting for new mail in the selected mailbox: IMAP IDLE when the server offers it and
//! `imap.idle` is on, else a plain timer followed by a NOOP; both end early on shutdown.

use std::time::Duration;

use super::{ImapError, ImapSession, map_imap_error, timed};

impl ImapSession {
    /// Waits for new mail in the selected mailbox for at most `timeout`: IMAP IDLE when the
    /// server offers it and `imap.idle` is on, else a plain timer followed by a NOOP. Returns the
    /// session and whether the server announced something (new mail, expunges).
    pub async fn idle_wait(self, timeout: Duration) -> Result<(Self, bool), ImapError> {
        self.idle_wait_until(timeout, std::future::pending()).await
    }

    /// [`ImapSession::idle_wait`] that also ends as soon as `stop` completes (e.g. on SIGTERM),
    /// leaving the session usable (IDLE is ended with DONE).
    pub async fn idle_wait_until(
        mut self,
        timeout: Duration,
        stop: impl Future<Output = ()>,
    ) -> Result<(Self, bool), ImapError> {
        if self.drain_unsolicited() {
            return Ok((self, true));
        }
        let t = self.timeout;
        if !(self.caps.idle && self.idle_enabled) {
            tokio::select! {
                _ = tokio::time::sleep(timeout) => {}
                _ = stop => {}
            }
            timed(t, "NOOP", async {
                self.session
                    .noop()
                    .await
                    .map_err(|e| map_imap_error("NOOP", e))
            })
            .await?;
            let woken = self.drain_unsolicited();
            return Ok((self, woken));
        }

        let ImapSession {
            session,
            caps,
            host,
            timeout: op_timeout,
            idle_enabled,
        } = self;
        let mut handle = session.idle();
        timed(t, "IDLE", async {
            handle.init().await.map_err(|e| map_imap_error("IDLE", e))
        })
        .await?;
        let woken = {
            let (wait, _interrupt) = handle.wait_with_timeout(timeout);
            tokio::select! {
                result = tokio::time::timeout(timeout, wait) => match result {
                    Ok(Ok(async_imap::extensions::idle::IdleResponse::NewData(_))) => true,
                    Ok(Ok(_)) | Err(_) => false,
                    Ok(Err(e)) => return Err(map_imap_error("IDLE", e)),
                },
                _ = stop => false,
            }
        };
        let session = timed(t, "IDLE DONE", async {
            handle.done().await.map_err(|e| map_imap_error("IDLE", e))
        })
        .await?;
        let mut mailbox = ImapSession {
            session,
            caps,
            host,
            timeout: op_timeout,
            idle_enabled,
        };
        let announced = mailbox.drain_unsolicited();
        Ok((mailbox, woken || announced))
    }
}
