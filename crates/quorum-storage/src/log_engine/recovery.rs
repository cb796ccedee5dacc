//! Recovery checks run by `LogEngine::open` (and offered as `check_recovered`): the log must still
//! reach every index known to have been synced, and every stored entry must pass its checksum.
//!
//! Why these checks exist and what they cannot see is in the crate docs; this file is not the
//! place where raft-engine replays its files (that happens inside `Engine::open`).

use raft_engine::env::FileSystem;

use super::{LogEngine, VERIFY_CHUNK_ENTRIES};
use crate::{GroupId, StorageError};

impl<F: FileSystem> LogEngine<F> {
    /// `group` must still reach `durable_index` (through entries or a purge).
    pub(super) fn check_durable(
        &self,
        group: GroupId,
        durable_index: u64,
        source_of_truth: &'static str,
    ) -> Result<(), StorageError> {
        let recovered_last = self.span(group)?.map(|s| s.1);
        let reach = recovered_last.max(self.purged_to(group)?);
        if reach.is_some_and(|r| r >= durable_index) {
            return Ok(());
        }
        Err(StorageError::DurableDataLost {
            group,
            recovered_last,
            durable_index,
            source_of_truth,
            dir: self.dir.clone(),
        })
    }

    pub(super) fn check_sync_marks(&self) -> Result<(), StorageError> {
        let marks = self.marks.lock().marks().clone();
        for (group, mark) in marks {
            self.check_durable(group, mark, "sync-mark file")?;
        }
        Ok(())
    }

    /// Reads every entry of every group so that checksums are verified now, not on first read.
    pub(super) fn verify_entries(&self) -> Result<(), StorageError> {
        for group in self.groups() {
            let Some((first, last)) = self.span(group)? else {
                continue;
            };
            let mut start = first;
            while start <= last {
                let end = last
                    .saturating_add(1)
                    .min(start.saturating_add(VERIFY_CHUNK_ENTRIES));
                self.entries(group, start, end)?;
                start = end;
            }
        }
        Ok(())
    }
}
