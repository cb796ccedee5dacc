//! The data model of one shard's state machine: [`Value`]s (strings and the collections in
//! `collections/`), the [`Keyspace`] map with its index of absolute expiry deadlines, SCAN
//! cursors, glob matching, snapshot encoding and digests.
//!
//! Everything here is deterministic: no clock (callers pass `now_ms`, decided by the Raft
//! leader), no randomness (callers pass seeds), no hasher whose seed shows in any output.
//! Two replicas that apply the same operations hold byte-identical snapshots.
//!
//! Not here: command parsing and replies (`quorum-commands`), checksums and compression of
//! snapshots (the storage layer), and any I/O.

mod collections;
mod databases;
mod digest;
mod glob;
mod keyspace;
mod lazy_free;
mod scan;
mod snapshot;
mod tombstones;
mod value;

pub use collections::{HashValue, ListValue, SetValue, ZSetKey, ZSetValue};
pub use databases::{Databases, DATABASES_MAX};
pub use digest::{digest_hex, DIGEST_BYTES};
pub use glob::GlobPattern;
pub use keyspace::{Entry, KeyVersion, Keyspace, Touched};
pub use scan::ScanPage;
pub use snapshot::{SnapshotDecodeError, SNAPSHOT_FORMAT_VERSION};
pub use tombstones::TOMBSTONES_MAX;
pub use value::Value;
