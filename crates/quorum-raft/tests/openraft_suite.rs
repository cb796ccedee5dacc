//! openraft's own storage conformance suite, run against quorum's log store (over the real
//! raft-engine log on disk) and state machine store (with real snapshot files).

use std::sync::Arc;

use quorum_raft::openraft::testing::{StoreBuilder, Suite};
use quorum_raft::openraft::StorageError;
use quorum_raft::{LogStore, StateMachineStore, TypeConfig, DATA_GROUP};
use quorum_storage::{LogEngine, LogEngineConfig, SnapshotStore};
use tempfile::TempDir;

struct DiskBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, TempDir> for DiskBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachineStore), StorageError<u64>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = LogEngine::open(&dir.path().join("raft-log"), LogEngineConfig::default())
            .expect("open log engine");
        let log = LogStore::new(Arc::new(engine), DATA_GROUP);
        let snapshots = SnapshotStore::open(&dir.path().join("snapshots")).expect("open snapshots");
        let sm = StateMachineStore::open(snapshots)?;
        Ok((dir, log, sm))
    }
}

#[test]
fn log_store_and_state_machine_pass_openraft_suite() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("openraft=info")
        .try_init();
    // The suite builds its own runtime internally.
    Suite::test_all(DiskBuilder).expect("openraft storage suite");
}
