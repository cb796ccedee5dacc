//! [`LogStore`]: openraft's `RaftLogStorage` over `quorum-storage`'s multi-group log engine.
//!
//! `append` writes entries to the engine without fsync and hands the flush callback to a
//! dedicated sync thread. That thread takes every callback queued since its last fsync, issues
//! one `sync()` and completes them all: group commit, so the fsync rate stays flat while the
//! write rate grows. A write is acknowledged to a client only after openraft sees it flushed on
//! a majority, so the engine never needs to fsync per entry.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use bytes::Bytes;
use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{Entry, LogId as RaftLogId, OptionalSend, StorageError, StorageIOError, Vote};
use quorum_storage::{GroupId, MultiGroupLog};
use quorum_types::NodeId;

use crate::TypeConfig;

const META_VOTE: &[u8] = b"vote";
const META_COMMITTED: &[u8] = b"committed";
const META_PURGED: &[u8] = b"purged";

/// The Raft log of one group, stored in the node's shared log engine
/// ([`quorum_storage::LogEngine`] on any file system, see [`MultiGroupLog`]).
#[derive(Clone)]
pub struct LogStore {
    engine: Arc<dyn MultiGroupLog>,
    group: GroupId,
    flushes: Flusher,
    /// The highest index a durable snapshot covers; purges never go past it. `None`: no limit.
    purge_limit: Option<Arc<AtomicU64>>,
    /// The furthest purge openraft asked for that the limit held back. openraft takes a purge
    /// as done: after installing a snapshot it appends right after the snapshot's last entry,
    /// so the held-back part must go before that append (see [`LogStore::finish_deferred_purge`]).
    deferred_purge: Arc<parking_lot::Mutex<Option<RaftLogId<NodeId>>>>,
}

impl LogStore {
    /// Opens the log of `group` and starts its sync thread (none when blocking work runs
    /// inline, see [`crate::blocking`]: then `append` syncs before it returns).
    pub fn new(engine: Arc<dyn MultiGroupLog>, group: GroupId) -> Self {
        let flushes = if crate::blocking::is_inline() {
            Flusher::Inline(Arc::default())
        } else {
            let (flushes, pending) = mpsc::channel::<LogFlushed<TypeConfig>>();
            let sync_engine = engine.clone();
            std::thread::Builder::new()
                .name(format!("log-sync-{group}"))
                .spawn(move || sync_loop(&*sync_engine, &pending))
                .expect("spawning the log sync thread");
            Flusher::Thread(flushes)
        };
        LogStore {
            engine,
            group,
            flushes,
            purge_limit: None,
            deferred_purge: Arc::default(),
        }
    }

    /// Never purges entries beyond `limit` (the state machine store's
    /// [`crate::StateMachineStore::durable_snapshot_index`]). openraft purges once it has asked
    /// for the snapshot that covers the entries, not once that snapshot is on disk; when
    /// writing the snapshot then failed (a full disk), the node was left with a snapshot and a
    /// log that no longer met, and could never start again (found by `quorum chaos`).
    pub fn limit_purge_to(mut self, limit: Arc<AtomicU64>) -> Self {
        self.purge_limit = Some(limit);
        self
    }

    /// The id of the entry at `index`, if the log holds it.
    fn log_id_at(&self, index: u64) -> Result<Option<RaftLogId<NodeId>>, StorageError<NodeId>> {
        let first = self.engine.first_index(self.group);
        let last = self.engine.last_index(self.group);
        if !first
            .zip(last)
            .is_some_and(|(f, l)| (f..=l).contains(&index))
        {
            return Ok(None);
        }
        let raw = self
            .engine
            .entries(self.group, index, index + 1)
            .map_err(|e| StorageIOError::read_logs(&e))?;
        raw.first()
            .map(|(index, bytes)| decode_entry(*index, bytes).map(|entry| entry.log_id))
            .transpose()
    }

    /// Completes a purge that the purge limit held back, once a durable snapshot covers it and
    /// it lies before `next_index`, the first index about to be appended.
    ///
    /// openraft purges the whole log when it installs a snapshot from the leader, and does so
    /// before the snapshot is on disk, so the limit keeps part of the log; openraft then
    /// appends after the snapshot's last entry, which left a gap the log engine refused: the
    /// Raft core stopped and the node exited (found by the Redis-Raft #43 regression scenario,
    /// a majority killed while snapshots raced log appends).
    fn finish_deferred_purge(&self, next_index: u64) -> Result<(), StorageError<NodeId>> {
        let Some(pending) = *self.deferred_purge.lock() else {
            return Ok(());
        };
        let limit = self
            .purge_limit
            .as_ref()
            .map_or(u64::MAX, |l| l.load(Ordering::Acquire));
        if pending.index > limit || pending.index >= next_index {
            // Still not durable (the append fails loudly if it leaves a gap), or openraft
            // writes over it again: keep waiting.
            return Ok(());
        }
        tracing::debug!(purged = %pending, "finishing a purge the snapshot limit held back");
        self.purge_now(pending)?;
        *self.deferred_purge.lock() = None;
        Ok(())
    }

    /// Records the purge point, then drops the entries up to it.
    fn purge_now(&self, log_id: RaftLogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        // Record the purge point first, so a crash in between leaves a consistent state.
        self.write_meta(META_PURGED, &log_id, true)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        self.engine
            .purge_to(self.group, log_id.index)
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    /// Fails if the log lost entries that were committed before the last shutdown or crash.
    ///
    /// A torn tail (entries appended but never committed) is normal after `kill -9` and the
    /// engine truncates it. But if recovery had to cut entries at or below the recorded commit
    /// index, committed data in the middle of the log was corrupted: starting would silently
    /// forget acknowledged writes, so the node refuses to start and says why.
    pub fn verify_committed_entries_present(&self) -> Result<(), LogIntegrityError> {
        let committed: Option<RaftLogId<NodeId>> = self
            .read_meta::<Option<RaftLogId<NodeId>>>(META_COMMITTED)
            .map_err(|e| LogIntegrityError::Unreadable(e.to_string()))?
            .flatten();
        let purged: Option<RaftLogId<NodeId>> = self
            .read_meta(META_PURGED)
            .map_err(|e| LogIntegrityError::Unreadable(e.to_string()))?;
        let Some(committed) = committed else {
            return Ok(());
        };
        let last_present = self
            .engine
            .last_index(self.group)
            .unwrap_or(0)
            .max(purged.map_or(0, |p| p.index));
        if last_present < committed.index {
            return Err(LogIntegrityError::CommittedEntriesMissing {
                group: self.group,
                committed: committed.index,
                last_present,
            });
        }
        Ok(())
    }

    fn read_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StorageIOError<NodeId>> {
        let Some(bytes) = self
            .engine
            .get_meta(self.group, key)
            .map_err(|e| StorageIOError::read(&e))?
        else {
            return Ok(None);
        };
        bincode::deserialize(&bytes)
            .map(Some)
            .map_err(|e| StorageIOError::read(&e))
    }

    fn write_meta<T: serde::Serialize>(
        &self,
        key: &[u8],
        value: &T,
        sync: bool,
    ) -> Result<(), std::io::Error> {
        let bytes = bincode::serialize(value).map_err(std::io::Error::other)?;
        self.engine
            .put_meta(self.group, key, &bytes, sync)
            .map_err(std::io::Error::other)
    }
}

/// The log on disk does not hold what it must.
#[derive(Debug, thiserror::Error)]
pub enum LogIntegrityError {
    /// Metadata could not be read or decoded.
    #[error("Raft log metadata is unreadable: {0}")]
    Unreadable(String),
    /// Recovery cut committed entries: the log is corrupt in the middle, not just at the tail.
    #[error(
        "Raft log of group {group} is corrupt: entries up to index {committed} were committed, \
         but only entries up to {last_present} survived recovery. Refusing to start with lost \
         committed data; restore this node's data directory or wipe it and re-add the node."
    )]
    CommittedEntriesMissing {
        /// The Raft group.
        group: GroupId,
        /// The recorded commit index.
        committed: u64,
        /// The last index present after recovery.
        last_present: u64,
    },
}

/// Where `append` hands its flush callback.
#[derive(Clone)]
enum Flusher {
    /// To the sync thread, which completes everything queued since its last fsync at once.
    Thread(mpsc::Sender<LogFlushed<TypeConfig>>),
    /// Synced and completed inside `append` (simulation: no other threads).
    Inline(Arc<parking_lot::Mutex<SyncState>>),
}

/// What the completion of flush callbacks remembers between batches.
#[derive(Default)]
struct SyncState {
    /// When the planted `ack-before-fsync` bug last synced (tokio's clock, so a simulator
    /// controls it).
    #[cfg(feature = "chaos-bugs")]
    last_sync: Option<tokio::time::Instant>,
}

/// Completes flush callbacks in batches: one fsync for everything appended before it.
fn sync_loop(engine: &dyn MultiGroupLog, pending: &mpsc::Receiver<LogFlushed<TypeConfig>>) {
    let mut batch = Vec::new();
    let mut state = SyncState::default();
    while let Ok(first) = pending.recv() {
        batch.push(first);
        while let Ok(more) = pending.try_recv() {
            batch.push(more);
        }
        sync_and_complete(engine, &mut batch, &mut state);
    }
}

/// One fsync, then every callback in `batch` learns its result.
fn sync_and_complete(
    engine: &dyn MultiGroupLog,
    batch: &mut Vec<LogFlushed<TypeConfig>>,
    #[cfg_attr(not(feature = "chaos-bugs"), allow(unused_variables))] state: &mut SyncState,
) {
    // PLANTED BUG (`--chaos-bug ack-before-fsync`, NATS JetStream 2.12): report the
    // entries flushed at once and fsync only now and then (NATS: every `sync_interval`), so
    // the leader acknowledges writes that a power cut of a majority takes back.
    #[cfg(feature = "chaos-bugs")]
    if crate::chaos_bugs::planted(crate::chaos_bugs::ChaosBug::AckBeforeFsync) {
        for callback in batch.drain(..) {
            callback.log_io_completed(Ok(()));
        }
        let now = tokio::time::Instant::now();
        let last = *state.last_sync.get_or_insert(now);
        if now.duration_since(last) >= std::time::Duration::from_secs(1) {
            if let Err(e) = engine.sync() {
                tracing::warn!(error = %e, "planted ack-before-fsync: sync failed");
            }
            state.last_sync = Some(now);
        }
        return;
    }
    let result = engine.sync().map_err(std::io::Error::other);
    for callback in batch.drain(..) {
        let result = match &result {
            Ok(()) => Ok(()),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        };
        callback.log_io_completed(result);
    }
}

fn decode_entry(index: u64, bytes: &[u8]) -> Result<Entry<TypeConfig>, StorageError<NodeId>> {
    crate::entry_codec::decode_entry(bytes)
        .map_err(|e| StorageIOError::read_log_at_index(index, &e).into())
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s + 1,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e + 1,
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let (start, end) = bounds(&range);
        let first = self.engine.first_index(self.group);
        let last = self.engine.last_index(self.group);
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        let start = start.max(first);
        let end = end.min(last.saturating_add(1));
        if start >= end {
            return Ok(Vec::new());
        }
        let raw = self
            .engine
            .entries(self.group, start, end)
            .map_err(|e| StorageIOError::read_logs(&e))?;
        raw.iter()
            .map(|(index, bytes)| decode_entry(*index, bytes))
            .collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let last_purged_log_id: Option<RaftLogId<NodeId>> = self.read_meta(META_PURGED)?;
        let last_log_id = match self.engine.last_index(self.group) {
            Some(last) => {
                let raw = self
                    .engine
                    .entries(self.group, last, last + 1)
                    .map_err(|e| StorageIOError::read_logs(&e))?;
                match raw.first() {
                    Some((index, bytes)) => Some(decode_entry(*index, bytes)?.log_id),
                    None => last_purged_log_id,
                }
            }
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        // Synced before returning: a vote must never be forgotten after it was acted on.
        self.write_meta(META_VOTE, vote, true)
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.read_meta(META_VOTE)?)
    }

    async fn save_committed(
        &mut self,
        committed: Option<RaftLogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        // Not synced: it rides along with the next fsync. It lets recovery tell a torn tail
        // (entries past the commit point) from lost committed data.
        self.write_meta(META_COMMITTED, &committed, false)
            .map_err(|e| StorageIOError::write(&e).into())
    }

    async fn read_committed(&mut self) -> Result<Option<RaftLogId<NodeId>>, StorageError<NodeId>> {
        Ok(self
            .read_meta::<Option<RaftLogId<NodeId>>>(META_COMMITTED)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded: Vec<(u64, Bytes)> = Vec::new();
        for entry in entries {
            let bytes = crate::entry_codec::encode_entry(&entry)
                .map_err(|e| StorageIOError::write_log_entry(entry.log_id, &e))?;
            encoded.push((entry.log_id.index, Bytes::from(bytes)));
        }
        if let Some(&(next_index, _)) = encoded.first() {
            self.finish_deferred_purge(next_index)?;
            self.engine
                .append(self.group, &encoded)
                .map_err(|e| StorageIOError::write_logs(&e))?;
        }
        match &self.flushes {
            // The sync thread lives as long as the engine; a send error means shutdown.
            Flusher::Thread(sender) => sender
                .send(callback)
                .map_err(|e| StorageIOError::write_logs(&std::io::Error::other(e.to_string())))?,
            Flusher::Inline(state) => {
                sync_and_complete(&*self.engine, &mut vec![callback], &mut state.lock())
            }
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: RaftLogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.engine
            .truncate_from(self.group, log_id.index)
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: RaftLogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let log_id = match &self.purge_limit {
            Some(limit) if log_id.index > limit.load(Ordering::Acquire) => {
                {
                    let mut deferred = self.deferred_purge.lock();
                    if deferred.is_none_or(|d| d.index < log_id.index) {
                        *deferred = Some(log_id);
                    }
                }
                let limit = limit.load(Ordering::Acquire);
                let already: Option<RaftLogId<NodeId>> = self.read_meta(META_PURGED)?;
                match self.log_id_at(limit)? {
                    Some(id) if already.is_none_or(|p| p.index < id.index) => {
                        tracing::debug!(requested = %log_id, purged = %id, "purge limited to the durable snapshot");
                        id
                    }
                    // Nothing durable covers entries past what is already purged: the rest
                    // goes with a later purge. openraft never reads entries it asked to purge.
                    _ => return Ok(()),
                }
            }
            _ => log_id,
        };
        self.purge_now(log_id)
    }
}

#[cfg(test)]
mod tests {
    use openraft::testing::log_id;
    use openraft::EntryPayload;
    use quorum_storage::{LogEngine, LogEngineConfig};

    use super::*;

    /// The shape the Redis-Raft #43 scenario produced: a snapshot through index 20 is installed
    /// on a node whose log holds 1..=10 and whose durable snapshot covers 5; openraft purges to
    /// 20 before the installed snapshot is on disk, then appends index 21.
    #[test]
    fn a_purge_held_back_by_the_limit_is_finished_before_an_append_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(
            LogEngine::open(&dir.path().join("raft-log"), LogEngineConfig::default()).unwrap(),
        );
        let entries: Vec<(u64, Bytes)> = (1..=10)
            .map(|index| {
                let entry: Entry<TypeConfig> = Entry {
                    log_id: log_id(1, 1, index),
                    payload: EntryPayload::Blank,
                };
                (
                    index,
                    Bytes::from(crate::entry_codec::encode_entry(&entry).unwrap()),
                )
            })
            .collect();
        engine.append(crate::DATA_GROUP, &entries).unwrap();
        let durable = Arc::new(AtomicU64::new(5));
        let mut log =
            LogStore::new(engine.clone(), crate::DATA_GROUP).limit_purge_to(durable.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(log.purge(log_id(1, 1, 20))).unwrap();
        assert_eq!(
            engine.first_index(crate::DATA_GROUP),
            Some(6),
            "held back at 5"
        );
        // Not yet durable: nothing more is purged (an append past the gap would be refused).
        assert!(log.finish_deferred_purge(21).is_ok());
        assert_eq!(engine.first_index(crate::DATA_GROUP), Some(6));
        // The installed snapshot is on disk now: the rest of the purge goes before the append.
        durable.store(20, Ordering::Release);
        log.finish_deferred_purge(21).unwrap();
        assert_eq!(engine.first_index(crate::DATA_GROUP), None);
        assert_eq!(engine.purged_index(crate::DATA_GROUP), Some(20));
        let entry: Entry<TypeConfig> = Entry {
            log_id: log_id(2, 1, 21),
            payload: EntryPayload::Blank,
        };
        engine
            .append(
                crate::DATA_GROUP,
                &[(
                    21,
                    Bytes::from(crate::entry_codec::encode_entry(&entry).unwrap()),
                )],
            )
            .expect("an append right after the purge point");
        let state = rt.block_on(log.get_log_state()).unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1, 20)));
        assert_eq!(state.last_log_id, Some(log_id(2, 1, 21)));
    }
}
