//! Reading the selected mailbox without marking anything seen: UID SEARCH, the sizes
//! (RFC822.SIZE), and the messages (BODY.PEEK[]); one over `max_message_bytes` as its header and
//! text parts only ([`super::plan`]). Answers are handed on as they arrive, not collected, where
//! many messages are fetched at once.

use futures::TryStreamExt;

use super::codec::uid_set;
use super::plan::{PartData, Plan, path_section};
use super::{Fetched, ImapError, ImapSession, map_imap_error, timed};

impl ImapSession {
    /// UIDs of every message in the selected mailbox not marked \Deleted, ascending.
    pub async fn uids(&mut self) -> Result<Vec<u32>, ImapError> {
        self.search("UNDELETED").await
    }

    /// UIDs matching an IMAP SEARCH expression (e.g. `SEEN`, `HEADER Message-ID <x>`) in the
    /// selected mailbox, ascending. The expression goes to the server as written.
    pub async fn search(&mut self, query: &str) -> Result<Vec<u32>, ImapError> {
        if query.contains(['\r', '\n']) {
            return Err(ImapError::Config(
                "an IMAP SEARCH expression cannot contain a line break".into(),
            ));
        }
        let t = self.timeout;
        let found = timed(t, "UID SEARCH", async {
            self.session
                .uid_search(query)
                .await
                .map_err(|e| map_imap_error("UID SEARCH", e))
        })
        .await?;
        self.drain_unsolicited();
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Fetches one message without setting \Seen: whole when its size is at most `max_bytes`,
    /// else its header and text parts only. `None` when the UID no longer exists.
    pub async fn fetch(&mut self, uid: u32, max_bytes: u64) -> Result<Option<Fetched>, ImapError> {
        let Some(size) = self.fetch_size(uid).await? else {
            return Ok(None);
        };
        if size <= max_bytes {
            let fetches = self.uid_fetch(uid, "BODY.PEEK[]").await?;
            let Some(raw) = fetches.iter().find_map(|f| f.body().map(<[u8]>::to_vec)) else {
                return Ok(None);
            };
            return Ok(Some(Fetched {
                uid,
                size,
                raw,
                truncated: false,
            }));
        }
        self.fetch_text_parts(uid, size, max_bytes).await
    }

    /// The size (RFC822.SIZE) of each of the messages `uids` still in the selected mailbox, with
    /// one command.
    pub async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u64)>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sizes = Vec::with_capacity(uids.len());
        self.uid_fetch_each(&uid_set(uids), "(UID RFC822.SIZE)", |f| {
            if let (Some(uid), Some(size)) = (f.uid, f.size) {
                sizes.push((uid, u64::from(size)));
            }
        })
        .await?;
        sizes.sort_unstable();
        sizes.dedup_by_key(|(uid, _)| *uid);
        Ok(sizes)
    }

    /// Fetches the messages `items` (UID, size) like [`ImapSession::fetch`]: the ones of at most
    /// `max_bytes` with one command, the larger ones one by one (header and text parts). Each
    /// message gets its own result; when the server refuses the whole command, each message is
    /// fetched alone, so that a failure is pinned on the message it belongs to. `Err` only when the
    /// session is unusable.
    pub async fn fetch_many(
        &mut self,
        items: &[(u32, u64)],
        max_bytes: u64,
    ) -> Result<Vec<(u32, Result<Option<Fetched>, ImapError>)>, ImapError> {
        let whole: Vec<u32> = items
            .iter()
            .filter(|(_, size)| *size <= max_bytes)
            .map(|(uid, _)| *uid)
            .collect();
        let mut bodies = std::collections::HashMap::new();
        let mut one_by_one = false;
        if !whole.is_empty() {
            let fetched = self
                .uid_fetch_each(&uid_set(&whole), "BODY.PEEK[]", |f| {
                    if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                        bodies.insert(uid, body.to_vec());
                    }
                })
                .await;
            match fetched {
                Ok(()) => {}
                Err(e) if e.ends_session() => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "fetching several messages at once failed; one by one");
                    one_by_one = true;
                }
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for &(uid, size) in items {
            let result = if size > max_bytes || one_by_one {
                match self.fetch(uid, max_bytes).await {
                    Err(e) if e.ends_session() => return Err(e),
                    other => other,
                }
            } else {
                Ok(bodies.remove(&uid).map(|raw| Fetched {
                    uid,
                    size,
                    raw,
                    truncated: false,
                }))
            };
            out.push((uid, result));
        }
        Ok(out)
    }

    async fn fetch_size(&mut self, uid: u32) -> Result<Option<u64>, ImapError> {
        let fetches = self.uid_fetch(uid, "(UID RFC822.SIZE)").await?;
        Ok(fetches
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.size)
            .map(u64::from))
    }

    async fn fetch_text_parts(
        &mut self,
        uid: u32,
        size: u64,
        max_bytes: u64,
    ) -> Result<Option<Fetched>, ImapError> {
        let fetches = self
            .uid_fetch(uid, "(UID BODYSTRUCTURE BODY.PEEK[HEADER])")
            .await?;
        let Some(first) = fetches.iter().find(|f| f.uid == Some(uid)) else {
            return Ok(None);
        };
        let header = first.header().map(<[u8]>::to_vec).unwrap_or_default();
        let Some(structure) = first.bodystructure() else {
            return Err(ImapError::Protocol {
                command: "UID FETCH",
                reason: "the server sent no BODYSTRUCTURE".into(),
            });
        };
        let plan = Plan::of(structure);
        let budget = max_bytes.saturating_sub(header.len() as u64);
        let items = plan.fetch_items(budget);
        let mut parts = PartData::default();
        if !items.is_empty() {
            let fetched = self
                .uid_fetch(uid, &format!("(UID {})", items.join(" ")))
                .await?;
            for f in fetched.iter().filter(|f| f.uid == Some(uid)) {
                for path in plan.paths() {
                    let mime = path_section(&path, true);
                    if let Some(data) = f.section(&mime) {
                        parts.mime.insert(path.clone(), data.to_vec());
                    }
                    if let Some(data) = f.section(&path_section(&path, false)) {
                        parts.body.insert(path.clone(), data.to_vec());
                    }
                }
            }
        }
        let raw = plan.assemble(&header, &parts);
        Ok(Some(Fetched {
            uid,
            size,
            raw,
            truncated: true,
        }))
    }

    async fn uid_fetch(
        &mut self,
        uid: u32,
        query: &str,
    ) -> Result<Vec<async_imap::types::Fetch>, ImapError> {
        self.uid_fetch_set(&uid.to_string(), query).await
    }

    /// A UID FETCH whose answers are handed to `each` as they arrive and dropped: each answer
    /// holds the read buffer it was parsed from (4 KB or more), so keeping a thousand of them
    /// would hold megabytes.
    async fn uid_fetch_each(
        &mut self,
        set: &str,
        query: &str,
        mut each: impl FnMut(&async_imap::types::Fetch),
    ) -> Result<(), ImapError> {
        let t = self.timeout;
        timed(t, "UID FETCH", async {
            let mut stream = self
                .session
                .uid_fetch(set, query)
                .await
                .map_err(|e| map_imap_error("UID FETCH", e))?;
            while let Some(f) = stream
                .try_next()
                .await
                .map_err(|e| map_imap_error("UID FETCH", e))?
            {
                each(&f);
            }
            Ok(())
        })
        .await?;
        self.drain_unsolicited();
        Ok(())
    }

    async fn uid_fetch_set(
        &mut self,
        set: &str,
        query: &str,
    ) -> Result<Vec<async_imap::types::Fetch>, ImapError> {
        let t = self.timeout;
        let fetches = timed(t, "UID FETCH", async {
            let stream = self
                .session
                .uid_fetch(set, query)
                .await
                .map_err(|e| map_imap_error("UID FETCH", e))?;
            stream
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| map_imap_error("UID FETCH", e))
        })
        .await?;
        self.drain_unsolicited();
        Ok(fetches)
    }
}
