//! One pass over the mailbox, several messages at a time, without giving up one guarantee of
//! SPEC §5:
//!
//! 1. The sizes of every waiting message, with one command; then batches of at most
//!    [`BATCH_MESSAGES`] messages and [`BATCH_BYTES`] bytes (a larger message alone), oldest first.
//! 2. Each batch is fetched with one command ([`ImapSession::fetch_many`]).
//! 3. Its messages get their journal rows and are read and decided, [`IN_FLIGHT`] at a time.
//! 4. The Graph calls and replies: one request's messages one after the other, in the order they
//!    arrived (the first reply decides; the next is told "already decided"), different requests
//!    side by side, [`IN_FLIGHT`] at a time.
//! 5. Filing: every intent (target folder) recorded, then one MOVE of a UID set per folder, then
//!    the results recorded.
//!
//! Each step's journal writes come before its side effect exactly as for one message at a time;
//! the messages in flight only share the commits ([`crate::journal`]'s group commit). The steps
//! of 3 and 4 never touch the IMAP session, so a message's error or panic stays its own; only the
//! session's errors end a pass. `stop` is checked between batches: a shutdown finishes the batch
//! in hand.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use futures::StreamExt;

use super::{Bridge, Handled, Intake, Next, Pass, PassError, log_row};
use crate::imap::{Fetched, ImapError, ImapSession};
use crate::journal::Row;
use crate::model::MsgKey;

/// At most this many messages are fetched and worked on together…
pub const BATCH_MESSAGES: usize = 32;
/// …and at most this many bytes of them (a larger message is a batch of its own).
pub const BATCH_BYTES: u64 = 4 * 1024 * 1024;
/// Messages (in steps 3 and 4) in flight at once.
pub const IN_FLIGHT: usize = 8;

impl Bridge {
    /// One pass: every message waiting in `imap.mailbox` taken as far as it can go, oldest first.
    pub async fn drain(
        &self,
        mb: &mut ImapSession,
        stop: &dyn Fn() -> bool,
    ) -> Result<Pass, PassError> {
        let mailbox = self.config.imap.mailbox.clone();
        let uidvalidity = if self.dry_run {
            // Read-only: EXAMINE changes no flag (SELECT may clear \Recent). No journal key is
            // written in a dry run, so the UIDVALIDITY is not needed.
            match mb.examine(&mailbox).await? {
                Some(_) => 0,
                None => {
                    return Err(PassError::Imap(ImapError::Protocol {
                        command: "EXAMINE",
                        reason: format!("the mailbox \"{mailbox}\" does not exist"),
                    }));
                }
            }
        } else {
            mb.select(&mailbox).await?
        };
        let uids = mb.uids().await?;
        if !self.dry_run {
            self.settle_vanished(&mailbox, uidvalidity, &uids).await?;
            self.prune_if_due().await;
        }
        let sizes = mb.sizes(&uids).await?;
        let mut pass = Pass::default();
        for batch in batches(&sizes, self.config.imap.max_message_bytes) {
            if stop() {
                pass.left += batch.len();
                continue;
            }
            let keys = |uid| MsgKey::new(mailbox.clone(), uidvalidity, uid);
            let done = self.batch(mb, batch, &keys).await?;
            pass.done += done.done;
            pass.left += done.left;
        }
        Ok(pass)
    }

    /// Rows of this mailbox whose message is gone: filed when we had started moving it.
    async fn settle_vanished(
        &self,
        mailbox: &str,
        uidvalidity: u32,
        uids: &[u32],
    ) -> Result<(), PassError> {
        let present: HashSet<u32> = uids.iter().copied().collect();
        let rows = self.j(|j| j.unfinished()).await?;
        for row in rows {
            if row.key.mailbox != mailbox
                || row.key.uidvalidity != uidvalidity
                || present.contains(&row.key.uid)
            {
                continue;
            }
            if let Some(folder) = row.target_folder.clone() {
                let key = row.key.clone();
                self.j(move |j| j.record_filed(&key, &folder)).await?;
                tracing::info!(key = %row.key, "message was moved before a restart; marked filed");
            }
        }
        Ok(())
    }

    /// Steps 2 to 5 of the module doc for one batch.
    async fn batch(
        &self,
        mb: &mut ImapSession,
        items: &[(u32, u64)],
        key_of: &dyn Fn(u32) -> MsgKey,
    ) -> Result<Pass, PassError> {
        let started = Instant::now();
        let fetched = mb
            .fetch_many(items, self.config.imap.max_message_bytes)
            .await?;
        let intakes = self.intake_all(fetched, key_of, started).await;
        let nexts = self.advance_all(intakes, started).await;

        // 5. Filing.
        let mut pass = Pass::default();
        let mut to_file = Vec::new();
        for (key, next) in nexts {
            match next {
                Next::Done(Handled::Left) => pass.left += 1,
                Next::Done(Handled::Done | Handled::Vanished) => pass.done += 1,
                other => to_file.push((key, other)),
            }
        }
        let filed = self.file_all(mb, to_file, started).await?;
        pass.done += filed.done;
        pass.left += filed.left;
        Ok(pass)
    }

    /// Step 3: rows, reading and deciding, [`IN_FLIGHT`] messages at a time. A message ready for
    /// Graph and a reply comes back with its row.
    async fn intake_all(
        &self,
        fetched: Vec<(u32, Result<Option<Fetched>, ImapError>)>,
        key_of: &dyn Fn(u32) -> MsgKey,
        started: Instant,
    ) -> Vec<Intaken> {
        futures::stream::iter(fetched)
            .map(|(uid, f)| {
                let key = key_of(uid);
                async move {
                    let mut ready = None;
                    let next = self
                        .guarded(&key, async {
                            match self.intake(&key, f, started).await? {
                                Intake::Ready(row) => {
                                    ready = Some(*row);
                                    Ok(Next::Done(Handled::Left))
                                }
                                Intake::Finished(next) => Ok(next),
                            }
                        })
                        .await;
                    (uid, key, next, ready)
                }
            })
            .buffered(IN_FLIGHT)
            .collect()
            .await
    }

    /// Step 4: Graph and replies, grouped by request in arrival order (one request's messages
    /// one after the other, different requests side by side).
    async fn advance_all(&self, intakes: Vec<Intaken>, started: Instant) -> Vec<(MsgKey, Next)> {
        let (mut nexts, groups) = group_by_request(intakes);
        let advanced: Vec<Vec<(MsgKey, Next)>> = futures::stream::iter(groups)
            .map(|group| async move {
                let mut out = Vec::with_capacity(group.len());
                for (uid, key, row) in group {
                    let next = self.guarded(&key, self.advance(uid, row, started)).await;
                    out.push((key, next));
                }
                out
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        nexts.extend(advanced.into_iter().flatten());
        nexts
    }

    /// Step 5: intents, one MOVE per folder (each message alone when the server refuses the
    /// set), results.
    async fn file_all(
        &self,
        mb: &mut ImapSession,
        items: Vec<(MsgKey, Next)>,
        started: Instant,
    ) -> Result<Pass, PassError> {
        if items.is_empty() {
            return Ok(Pass::default());
        }
        // Intents first, in one commit.
        let intents: Vec<(MsgKey, String)> = items
            .iter()
            .filter_map(|(_, next)| match next {
                Next::File { row, folder, .. } => Some((row.key.clone(), folder.clone())),
                _ => None,
            })
            .collect();
        if !self.dry_run && !intents.is_empty() {
            self.j(move |j| {
                for (key, folder) in &intents {
                    j.begin_file(key, folder)?;
                }
                Ok(())
            })
            .await?;
        }
        let moved = move_by_folder(mb, &items).await?;
        let filed = self.record_filed(&items, &moved).await?;
        let mut pass = Pass::default();
        for (key, next) in items {
            match next {
                Next::File {
                    uid,
                    row,
                    folder,
                    gave_up,
                } if moved.contains(&uid) => {
                    pass.done += 1;
                    let row = filed.get(&row.key).cloned().unwrap_or(*row);
                    if gave_up {
                        self.gave_up_alert(&row, &folder).await;
                    }
                    log_row(&row, "filed", started);
                    crate::metrics::message_filed(row.decided.as_ref());
                }
                Next::Refile { uid, .. } if moved.contains(&uid) => pass.done += 1,
                _ => {
                    tracing::debug!(key = %key, "left for the next pass");
                    pass.left += 1;
                }
            }
        }
        Ok(pass)
    }

    /// The results of step 5, in one commit: the moved messages' rows marked filed, read back.
    async fn record_filed(
        &self,
        items: &[(MsgKey, Next)],
        moved: &HashSet<u32>,
    ) -> Result<HashMap<MsgKey, Row>, PassError> {
        let results: Vec<(MsgKey, String)> = items
            .iter()
            .filter_map(|(_, next)| match next {
                Next::File {
                    uid, row, folder, ..
                } if moved.contains(uid) => Some((row.key.clone(), folder.clone())),
                _ => None,
            })
            .collect();
        if self.dry_run || results.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .j(move |j| {
                let mut rows = HashMap::new();
                for (key, folder) in &results {
                    j.record_filed(key, folder)?;
                    if let Some(row) = j.get(key)? {
                        rows.insert(key.clone(), row);
                    }
                }
                Ok(rows)
            })
            .await?)
    }
}

/// One message after step 3: its UID, key, what is left of it, and its row when it is ready for
/// Graph and a reply.
type Intaken = (u32, MsgKey, Next, Option<Row>);

/// Messages about one request, ready for Graph and a reply, in arrival order.
type Group = Vec<(u32, MsgKey, Row)>;

/// Splits step 3's results into those finished already and groups of those ready, one group per
/// request (messages naming no request each alone), in arrival order.
fn group_by_request(intakes: Vec<Intaken>) -> (Vec<(MsgKey, Next)>, Vec<Group>) {
    let mut nexts: Vec<(MsgKey, Next)> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for (uid, key, next, ready) in intakes {
        let Some(row) = ready else {
            nexts.push((key, next));
            continue;
        };
        let request = row.decided.as_ref().and_then(|d| d.request_id.clone());
        match request.as_ref().and_then(|r| group_of.get(r)) {
            Some(&g) => groups[g].push((uid, key, row)),
            None => {
                if let Some(r) = request {
                    group_of.insert(r, groups.len());
                }
                groups.push(vec![(uid, key, row)]);
            }
        }
    }
    (nexts, groups)
}

/// One MOVE per target folder; when the server refuses a set, each message alone. The UIDs
/// moved; an error that ends the session ends the pass.
async fn move_by_folder(
    mb: &mut ImapSession,
    items: &[(MsgKey, Next)],
) -> Result<HashSet<u32>, PassError> {
    let mut by_folder: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (_, next) in items {
        if let Next::File { uid, folder, .. } | Next::Refile { uid, folder } = next {
            by_folder.entry(folder.clone()).or_default().push(*uid);
        }
    }
    let mut moved: HashSet<u32> = HashSet::new();
    for (folder, uids) in &by_folder {
        match mb.move_set(uids, folder).await {
            Ok(()) => moved.extend(uids.iter().copied()),
            Err(e) if e.ends_session() => return Err(e.into()),
            Err(e) => {
                tracing::debug!(folder = %folder, error = %e, "moving several messages at once failed; one by one");
                for &uid in uids {
                    match mb.move_to(uid, folder).await {
                        Ok(()) => {
                            moved.insert(uid);
                        }
                        Err(e) if e.ends_session() => return Err(e.into()),
                        Err(e) => {
                            tracing::warn!(uid, folder = %folder, error = %e, "could not file this message; it is tried again next pass");
                        }
                    }
                }
            }
        }
    }
    Ok(moved)
}

/// Batches of `sizes` (UID, size) in order: at most [`BATCH_MESSAGES`] messages and
/// [`BATCH_BYTES`] bytes each, counting a message above `max_bytes` as `max_bytes` (only that much
/// of it is fetched).
fn batches(sizes: &[(u32, u64)], max_bytes: u64) -> Vec<&[(u32, u64)]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, (_, size)) in sizes.iter().enumerate() {
        let size = (*size).min(max_bytes);
        if i > start && (i - start >= BATCH_MESSAGES || bytes + size > BATCH_BYTES) {
            out.push(&sizes[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(&sizes[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_by_count_and_bytes() {
        let small: Vec<(u32, u64)> = (1..=70).map(|u| (u, 1000)).collect();
        let b = batches(&small, 2_000_000);
        assert_eq!(
            b.iter().map(|b| b.len()).collect::<Vec<_>>(),
            vec![32, 32, 6]
        );
        assert_eq!(b[1][0].0, 33, "in order");
        // A message above max_bytes counts as max_bytes (2 + 2 MB + 10 bytes fit in 4 MiB).
        let large = vec![(1, 3_000_000), (2, 3_000_000), (3, 10), (4, 50_000_000)];
        let b = batches(&large, 2_000_000);
        assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), vec![3, 1]);
        let huge = vec![(1, 3_500_000), (2, 3_500_000)];
        assert_eq!(batches(&huge, 4_000_000).len(), 2);
        assert!(batches(&[], 10).is_empty());
    }
}
