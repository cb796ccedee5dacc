//! [`MultiGroupLog`]: what a Raft log store needs from a [`LogEngine`], whatever file system the
//! engine runs on, as one object-safe trait.
//!
//! `LogEngine<F>` is generic over raft-engine's `FileSystem` (the disk seam), and openraft
//! instantiates its whole core once per log-store type. Holding the engine as
//! `Arc<dyn MultiGroupLog>` lets one log-store type run over the real disk, the power-loss
//! emulation ([`crate::PowerLossFileSystem`]) or a simulator's file system, at the cost of one
//! indirect call per disk operation. The methods are documented on [`LogEngine`].

use bytes::Bytes;
use raft_engine::env::FileSystem;

use crate::{GroupId, LogEngine, StorageError};

/// The operations of [`LogEngine`] a Raft log store and a node use; see the module docs.
pub trait MultiGroupLog: Send + Sync {
    /// [`LogEngine::append`].
    fn append(&self, group: GroupId, entries: &[(u64, Bytes)]) -> Result<(), StorageError>;
    /// [`LogEngine::sync`].
    fn sync(&self) -> Result<(), StorageError>;
    /// [`LogEngine::truncate_from`].
    fn truncate_from(&self, group: GroupId, index: u64) -> Result<(), StorageError>;
    /// [`LogEngine::purge_to`].
    fn purge_to(&self, group: GroupId, index: u64) -> Result<(), StorageError>;
    /// [`LogEngine::reclaim_space`].
    fn reclaim_space(&self) -> Result<Vec<GroupId>, StorageError>;
    /// [`LogEngine::entries`].
    fn entries(
        &self,
        group: GroupId,
        start: u64,
        end_exclusive: u64,
    ) -> Result<Vec<(u64, Bytes)>, StorageError>;
    /// [`LogEngine::first_index`].
    fn first_index(&self, group: GroupId) -> Option<u64>;
    /// [`LogEngine::last_index`].
    fn last_index(&self, group: GroupId) -> Option<u64>;
    /// [`LogEngine::put_meta`].
    fn put_meta(
        &self,
        group: GroupId,
        key: &[u8],
        value: &[u8],
        sync: bool,
    ) -> Result<(), StorageError>;
    /// [`LogEngine::get_meta`].
    fn get_meta(&self, group: GroupId, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
}

impl<F: FileSystem> MultiGroupLog for LogEngine<F> {
    fn append(&self, group: GroupId, entries: &[(u64, Bytes)]) -> Result<(), StorageError> {
        LogEngine::append(self, group, entries)
    }

    fn sync(&self) -> Result<(), StorageError> {
        LogEngine::sync(self)
    }

    fn truncate_from(&self, group: GroupId, index: u64) -> Result<(), StorageError> {
        LogEngine::truncate_from(self, group, index)
    }

    fn purge_to(&self, group: GroupId, index: u64) -> Result<(), StorageError> {
        LogEngine::purge_to(self, group, index)
    }

    fn reclaim_space(&self) -> Result<Vec<GroupId>, StorageError> {
        LogEngine::reclaim_space(self)
    }

    fn entries(
        &self,
        group: GroupId,
        start: u64,
        end_exclusive: u64,
    ) -> Result<Vec<(u64, Bytes)>, StorageError> {
        LogEngine::entries(self, group, start, end_exclusive)
    }

    fn first_index(&self, group: GroupId) -> Option<u64> {
        LogEngine::first_index(self, group)
    }

    fn last_index(&self, group: GroupId) -> Option<u64> {
        LogEngine::last_index(self, group)
    }

    fn put_meta(
        &self,
        group: GroupId,
        key: &[u8],
        value: &[u8],
        sync: bool,
    ) -> Result<(), StorageError> {
        LogEngine::put_meta(self, group, key, value, sync)
    }

    fn get_meta(&self, group: GroupId, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        LogEngine::get_meta(self, group, key)
    }
}
