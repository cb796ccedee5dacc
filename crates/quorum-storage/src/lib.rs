//! Bytes on disk: the multi-group Raft log ([`LogEngine`], over TiKV's raft-engine) and
//! atomically written, checksummed snapshot files ([`SnapshotStore`]).
//!
//! This crate knows nothing about openraft; `quorum-raft` adapts it. It is not a state machine
//! and not a backup tool.
//!
//! # Durability and corruption
//!
//! * Records carry CRC32 checksums (raft-engine frames every write batch; snapshots carry one
//!   over the whole file). [`LogEngine::append`] does not fsync; [`LogEngine::sync`] does, once
//!   for everything written before it by any group (group commit).
//! * **Torn tail.** raft-engine opens with `RecoveryMode::TolerateTailCorruption`: a bad record
//!   in the *newest* log file is truncated away together with everything after it, and the
//!   engine opens. A bad record in an older file is an open error.
//! * **Corruption in the middle.** raft-engine cannot tell a torn write from a bit flip in the
//!   newest file: both get truncated. So a guard lives *outside* the log: the sync-mark file
//!   records, per group, an index known to have been fsynced (refreshed after `sync`, at most
//!   once per `sync_mark_interval_ms`, lowered durably before any truncation). On open, a group
//!   whose log (or purge point) ends below its mark fails with
//!   [`StorageError::DurableDataLost`]. A guard stored with `put_meta` would not do: it sits in
//!   the same file after the data it guards and is truncated with it. Callers can add their
//!   own bound with [`LogEngine::check_recovered`] (e.g. the saved committed index).
//! * **Bit rot inside entry payloads** is not verified by raft-engine's recovery (it checks the
//!   payload block of the last batch only), so `open` reads every entry once
//!   (`verify_entries_on_open`) and a bad checksum is an open error
//!   ([`StorageError::CorruptLog`], naming the directory, group and entry).
//! * **Torn or damaged?** Data synced within the last `sync_mark_interval_ms` before a crash
//!   lies above the mark, so the mark cannot tell a cut there from a torn write. The cut
//!   record itself can: a crash leaves the last record *short* (the written part ends before
//!   the length its header declares) or with sectors of zeros (never written; raft-engine
//!   preallocates its file), while a record that is all there, non-zero and fails its checksum
//!   was damaged after it was written (etcd's rule for its WAL). [`LogEngine::open`] judges
//!   the first cut record ([`TailDamage`]) and refuses a damaged one with
//!   [`StorageError::CorruptLog`]: the records cut with it may have been acknowledged.
//! * What stays undetectable: data synced within the interval that is *lost* rather than
//!   damaged (the file truncated, sectors zeroed), and a flip in the high bits of the length of
//!   the newest records (the record then seems to run past the written part, as a torn one
//!   does). Such a cut is truncated and the node rejoins with a shorter log; set the interval
//!   to 0 to close the window at the cost of two more fsyncs per `sync`. It is never silent:
//!   [`LogEngine::tail_cut`] reports it and a warning names the file and the bytes cut.
//! * raft-engine panics if an fsync fails (fsyncgate: a failed fsync cannot be retried safely).

mod entry;
mod error;
mod log_engine;
mod multi_group_log;
mod power_loss;
mod snapshot;
mod sync_mark;

pub use error::StorageError;
pub use log_engine::{LogEngine, LogEngineConfig, TailCut, TailDamage, RESERVED_GROUP};
pub use multi_group_log::MultiGroupLog;
pub use power_loss::{PowerLossCursor, PowerLossFile, PowerLossFileSystem};
pub use raft_engine::env::{DefaultFileSystem, FileSystem};
pub use snapshot::{LoadedSnapshot, SnapshotStore};

/// A Raft group on this node: the metadata group or one shard.
pub type GroupId = u64;
