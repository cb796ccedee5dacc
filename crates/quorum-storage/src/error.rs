//! The one error type of this crate, with the context (group, index, path) an operator needs.
//!
//! It is not a Redis reply: the server maps it at the edge. Every variant names where the problem
//! is, so a startup failure can be acted on without a debugger.

use std::path::PathBuf;

use crate::GroupId;

/// A storage failure, carrying the group, index or path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The log engine (raft-engine) failed; `op` says which call.
    #[error("log engine {op} failed (group {group:?}): {source}")]
    Engine {
        op: &'static str,
        group: Option<GroupId>,
        #[source]
        source: raft_engine::Error,
    },
    /// A file-system call on `path` failed.
    #[error("{op} {path}: {source}", path = path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An append that would leave a hole, overwrite purged entries or is not contiguous.
    #[error("invalid append to group {group} at index {index}: {reason}")]
    InvalidAppend {
        group: GroupId,
        index: u64,
        reason: String,
    },
    /// A read asked for entries outside the group's log.
    #[error(
        "group {group}: entries [{start}, {end}) not in the log (first {first:?}, last {last:?})"
    )]
    OutOfRange {
        group: GroupId,
        start: u64,
        end: u64,
        first: Option<u64>,
        last: Option<u64>,
    },
    /// A log entry failed its checksum or does not decode.
    #[error("group {group}: log entry {index} is corrupt: {detail}")]
    CorruptEntry {
        group: GroupId,
        index: u64,
        detail: String,
    },
    /// After recovery the group's log ends before an index known to have been durable: committed
    /// (synced) data in the middle of the log was lost, most likely to corruption that the log
    /// engine treated as a torn tail. Refusing to start is the only safe answer.
    #[error(
        "group {group}: durable log entries lost: log ends at {recovered_last:?} but index \
         {durable_index} was synced before ({source_of_truth}); data under {dir} is corrupt",
        dir = dir.display()
    )]
    DurableDataLost {
        group: GroupId,
        recovered_last: Option<u64>,
        durable_index: u64,
        source_of_truth: &'static str,
        dir: PathBuf,
    },
    /// raft-engine's files fail their checksums or do not parse, in a place recovery cannot
    /// take for a torn tail (an older file, or an entry's payload): the log cannot be trusted.
    #[error(
        "Raft log files under {dir} are corrupt: {detail}; this node's data must be restored \
         or wiped (then re-add the node)",
        dir = dir.display()
    )]
    CorruptLog { dir: PathBuf, detail: String },
    /// A file of ours (snapshot, sync mark) is malformed or fails its checksum.
    #[error("corrupt file {path}: {detail}", path = path.display())]
    CorruptFile { path: PathBuf, detail: String },
    /// A caller-supplied argument is outside what this crate accepts.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl StorageError {
    pub(crate) fn engine(
        op: &'static str,
        group: Option<GroupId>,
        source: raft_engine::Error,
    ) -> Self {
        StorageError::Engine { op, group, source }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
