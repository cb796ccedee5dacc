//! openraft glue for one Raft group: the type configuration, what a log entry carries
//! ([`Proposal`]), the deterministic replicated state machine ([`StateMachine`]) with request
//! deduplication, and the storage adapters that let openraft drive `quorum-storage`.
//!
//! Not here: networking (`quorum-rpc`), routing client commands (`quorum-server`), command
//! semantics (`quorum-commands`), bytes on disk (`quorum-storage`).

// openraft's `StorageError` is ~224 bytes and is the error type its traits require; it only
// travels on cold error paths.
#![allow(clippy::result_large_err)]

pub mod blocking;
#[cfg(feature = "chaos-bugs")]
pub mod chaos_bugs;
mod entry_codec;
mod log_store;
mod proposal;
pub mod runtime;
mod sm_store;
mod state_machine;

use std::io::Cursor;

pub use entry_codec::{decode_entry, encode_entry, ENTRY_FORMAT_VERSION};
pub use log_store::{LogIntegrityError, LogStore};
pub use proposal::{Op, Proposal, ProposalReply};
pub use runtime::{QuorumInstant, QuorumRuntime};
pub use sm_store::{SharedStateMachine, StateMachineStore};
pub use state_machine::{SnapshotDataError, StateMachine, TouchedKeys};

pub use openraft;

/// The node description stored in Raft membership: the node's peer (gRPC) address.
pub type Node = openraft::BasicNode;

openraft::declare_raft_types!(
    /// quorum's openraft type configuration: one per Raft group kind.
    pub TypeConfig:
        D = Proposal,
        R = ProposalReply,
        NodeId = quorum_types::NodeId,
        Node = Node,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = runtime::QuorumRuntime,
);

/// A running Raft node of quorum's type.
pub type Raft = openraft::Raft<TypeConfig>;
/// A log id (term, leader, index) of quorum's type.
pub type LogId = openraft::LogId<quorum_types::NodeId>;
/// Raft metrics of quorum's type.
pub type RaftMetrics = openraft::RaftMetrics<quorum_types::NodeId, Node>;

/// The Raft group id of the single data shard (group ids partition the shared log engine).
pub const DATA_GROUP: u64 = 1;
