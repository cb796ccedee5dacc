//! The log store purges no further than a durable snapshot covers: openraft asks to purge as
//! soon as it has requested the snapshot that covers the entries, and when writing that
//! snapshot then failed (a full disk, found by `quorum chaos`) the node was left with a log and
//! a snapshot that no longer met, and could never start again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use quorum_raft::openraft::storage::{RaftLogReader, RaftLogStorage};
use quorum_raft::openraft::testing::log_id;
use quorum_raft::openraft::{Entry, EntryPayload};
use quorum_raft::{LogStore, TypeConfig, DATA_GROUP};
use quorum_storage::{LogEngine, LogEngineConfig};

fn entry_bytes(index: u64) -> (u64, Bytes) {
    let entry: Entry<TypeConfig> = Entry {
        log_id: log_id(1, 1, index),
        payload: EntryPayload::Blank,
    };
    (index, Bytes::from(bincode::serialize(&entry).unwrap()))
}

#[test]
fn purge_stops_at_the_durable_snapshot_and_catches_up_later() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(
        LogEngine::open(&dir.path().join("raft-log"), LogEngineConfig::default()).unwrap(),
    );
    let entries: Vec<_> = (1..=10).map(entry_bytes).collect();
    engine.append(DATA_GROUP, &entries).unwrap();
    engine.sync().unwrap();
    let durable = Arc::new(AtomicU64::new(0));
    let mut log = LogStore::new(engine.clone(), DATA_GROUP).limit_purge_to(durable.clone());

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // No snapshot on disk yet: nothing may go.
        log.purge(log_id(1, 1, 8)).await.unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, None);
        assert_eq!(log.try_get_log_entries(1..11).await.unwrap().len(), 10);

        // A snapshot through index 5 is durable: purge stops there.
        durable.store(5, Ordering::Release);
        log.purge(log_id(1, 1, 8)).await.unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1, 5)));
        let left: Vec<u64> = log
            .try_get_log_entries(6..11)
            .await
            .unwrap()
            .iter()
            .map(|e| e.log_id.index)
            .collect();
        assert_eq!(left, (6..=10).collect::<Vec<_>>());

        // Once a snapshot covers more, the next purge goes as far as asked.
        durable.store(9, Ordering::Release);
        log.purge(log_id(1, 1, 8)).await.unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1, 8)));
        assert_eq!(log.try_get_log_entries(9..11).await.unwrap().len(), 2);
    });
}
