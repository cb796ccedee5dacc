//! [`StateMachineStore`]: openraft's `RaftStateMachine` over the in-memory [`StateMachine`],
//! with snapshots persisted through `quorum-storage`'s [`SnapshotStore`].
//!
//! The state machine lives in memory behind a lock shared with the server, which serves reads
//! from it directly. Snapshots are the only persistent copy of applied state; on start-up the
//! newest snapshot is loaded and openraft re-applies the log after it.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    Entry, ErrorSubject, ErrorVerb, OptionalSend, StorageError, StorageIOError, StoredMembership,
};
use parking_lot::RwLock;
use quorum_storage::SnapshotStore;
use quorum_types::NodeId;

use crate::proposal::ProposalReply;
use crate::state_machine::StateMachine;
use crate::{LogId, Node, TypeConfig};

/// The state machine, shared between openraft (which applies) and the server (which reads).
pub type SharedStateMachine = Arc<RwLock<StateMachine>>;

/// openraft's handle on the state machine and its snapshots.
#[derive(Clone)]
pub struct StateMachineStore {
    state: SharedStateMachine,
    snapshots: Arc<SnapshotStore>,
    /// Distinguishes snapshots built at the same log id.
    snapshot_counter: Arc<AtomicU64>,
    /// The last log index covered by a snapshot that is on disk (fsynced).
    durable_snapshot_index: Arc<AtomicU64>,
    /// Raised after entries are applied or a snapshot installed, so the server can look at
    /// the keys they changed ([`StateMachine::take_touched`]).
    applied: Arc<tokio::sync::Notify>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredMeta {
    last_log_id: Option<LogId>,
    last_membership: StoredMembership<NodeId, Node>,
    snapshot_id: String,
}

fn snapshot_error(verb: ErrorVerb, e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::new(ErrorSubject::Snapshot(None), verb, &e).into()
}

impl StateMachineStore {
    /// Opens the snapshot directory and loads the newest snapshot, if any, into a fresh state
    /// machine. A corrupt snapshot is an error: starting from an older state silently would
    /// forget applied writes.
    pub fn open(snapshots: SnapshotStore) -> Result<Self, StorageError<NodeId>> {
        let mut state = StateMachine::default();
        let mut durable_snapshot_index = 0;
        if let Some(loaded) = snapshots
            .load_latest()
            .map_err(|e| snapshot_error(ErrorVerb::Read, e))?
        {
            state = StateMachine::decode(&loaded.data)
                .map_err(|e| snapshot_error(ErrorVerb::Read, e))?;
            durable_snapshot_index = state.last_applied.map_or(0, |id| id.index);
            tracing::info!(
                snapshot = %loaded.id,
                last_applied = ?state.last_applied,
                keys = state.databases.key_count(),
                "loaded snapshot"
            );
        }
        Ok(StateMachineStore {
            state: Arc::new(RwLock::new(state)),
            snapshots: Arc::new(snapshots),
            snapshot_counter: Arc::new(AtomicU64::new(0)),
            durable_snapshot_index: Arc::new(AtomicU64::new(durable_snapshot_index)),
            applied: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Raised (one stored permit) whenever entries were applied or a snapshot installed.
    pub fn applied_signal(&self) -> Arc<tokio::sync::Notify> {
        self.applied.clone()
    }

    /// The last log index covered by a snapshot on disk, kept current as snapshots are saved;
    /// the log store purges no further ([`crate::LogStore::limit_purge_to`]).
    pub fn durable_snapshot_index(&self) -> Arc<AtomicU64> {
        self.durable_snapshot_index.clone()
    }

    /// The shared state machine, for reads.
    pub fn shared(&self) -> SharedStateMachine {
        self.state.clone()
    }

    async fn persist(
        &self,
        meta: &SnapshotMeta<NodeId, Node>,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, StorageError<NodeId>> {
        let stored = StoredMeta {
            last_log_id: meta.last_log_id,
            last_membership: meta.last_membership.clone(),
            snapshot_id: meta.snapshot_id.clone(),
        };
        let meta_bytes =
            bincode::serialize(&stored).map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        let store = self.snapshots.clone();
        let id = meta.snapshot_id.clone();
        // Compression, checksum and fsync are blocking work: keep them off the async threads.
        let data =
            crate::blocking::unblock(move || store.save(&id, &meta_bytes, &data).map(|()| data))
                .await
                .map_err(|e| {
                    snapshot_error(ErrorVerb::Write, std::io::Error::other(e.to_string()))
                })?
                .map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        if let Some(last) = meta.last_log_id {
            self.durable_snapshot_index
                .fetch_max(last.index, Ordering::AcqRel);
        }
        Ok(data)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let (data, last_log_id, last_membership) = {
            let state = self.state.read();
            (state.encode(), state.last_applied, state.membership.clone())
        };
        let counter = self.snapshot_counter.fetch_add(1, Ordering::Relaxed);
        let snapshot_id = match last_log_id {
            Some(id) => format!(
                "{}-{}-{}-{counter}",
                id.leader_id.term, id.leader_id.node_id, id.index
            ),
            None => format!("0-0-0-{counter}"),
        };
        let meta = SnapshotMeta {
            last_log_id,
            last_membership,
            snapshot_id,
        };
        let data = self.persist(&meta, data).await?;
        tracing::info!(snapshot = %meta.snapshot_id, bytes = data.len(), "built snapshot");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership<NodeId, Node>), StorageError<NodeId>> {
        let state = self.state.read();
        Ok((state.last_applied, state.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<ProposalReply>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let replies = {
            let mut state = self.state.write();
            entries
                .into_iter()
                .map(|entry| state.apply_entry(&entry))
                .collect()
        };
        self.applied.notify_one();
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let decoded =
            StateMachine::decode(&data).map_err(|e| snapshot_error(ErrorVerb::Read, e))?;
        if decoded.last_applied != meta.last_log_id {
            return Err(snapshot_error(
                ErrorVerb::Read,
                std::io::Error::other(format!(
                    "snapshot {} claims {:?} but its data holds {:?}",
                    meta.snapshot_id, meta.last_log_id, decoded.last_applied
                )),
            ));
        }
        // Persist before replacing the in-memory state: a crash in between must not leave a
        // node whose applied state is ahead of anything on its disk.
        self.persist(meta, data).await?;
        tracing::info!(snapshot = %meta.snapshot_id, keys = decoded.databases.key_count(), "installed snapshot");
        *self.state.write() = decoded;
        self.applied.notify_one();
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let store = self.snapshots.clone();
        let loaded = crate::blocking::unblock(move || store.load_latest())
            .await
            .map_err(|e| snapshot_error(ErrorVerb::Read, std::io::Error::other(e.to_string())))?
            .map_err(|e| snapshot_error(ErrorVerb::Read, e))?;
        let Some(loaded) = loaded else {
            return Ok(None);
        };
        let stored: StoredMeta =
            bincode::deserialize(&loaded.meta).map_err(|e| snapshot_error(ErrorVerb::Read, e))?;
        Ok(Some(Snapshot {
            meta: SnapshotMeta {
                last_log_id: stored.last_log_id,
                last_membership: stored.last_membership,
                snapshot_id: stored.snapshot_id,
            },
            snapshot: Box::new(Cursor::new(loaded.data)),
        }))
    }
}
