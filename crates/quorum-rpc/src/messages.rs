//! Application messages between nodes (besides openraft's own), serialized with bincode into
//! the `Payload` envelope.

use quorum_raft::{Proposal, ProposalReply};
use quorum_types::NodeId;
use serde::{Deserialize, Serialize};

/// Why a peer could not serve a forwarded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PeerError {
    /// The peer is not the leader; `leader` is who it believes leads, if anyone.
    #[error("not the leader (leader is {leader:?})")]
    NotLeader {
        /// The leader as the peer knows it.
        leader: Option<NodeId>,
    },
    /// The peer could not complete the request (no quorum, shutting down, timeout...).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The request was refused (bad membership change...).
    #[error("{0}")]
    Refused(String),
}

/// A proposal forwarded to the leader; the leader stamps `time_ms` before proposing.
pub type ForwardRequest = Proposal;

/// The outcome of a forwarded proposal: the log index it was committed at and its replies.
pub type ForwardResult = Result<(u64, ProposalReply), PeerError>;

/// The outcome of a read-index request: the log index a linearizable read must wait for.
pub type ReadIndexResult = Result<ReadPoint, PeerError>;

/// Where and when a linearizable read may happen: at or after log `index`, with key expiry
/// judged at the leader's wall-clock time `leader_now_ms` (read when it confirmed the index).
/// A follower's own clock may be hours off; the leader's is the one that stamps every TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadPoint {
    /// The commit index the read must see applied.
    pub index: u64,
    /// The leader's wall clock, milliseconds since the Unix epoch.
    pub leader_now_ms: u64,
}

/// A membership change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminRequest {
    /// Add `id` as a learner, wait until it caught up, then make it a voter.
    AddNode {
        /// The new node's id.
        id: NodeId,
        /// Its peer (gRPC) address.
        addr: String,
    },
    /// Remove `id` from the voters and learners.
    RemoveNode {
        /// The node to remove.
        id: NodeId,
    },
}

/// The outcome of a membership change: a human-readable summary of the new membership.
pub type AdminResult = Result<String, PeerError>;

/// A node introducing itself to a peer (see `quorum-server`'s `bootstrap.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntroduceRequest {
    /// The node's id.
    pub id: NodeId,
    /// The random id of its data directory, chosen when the directory was created empty.
    pub incarnation: u64,
    /// Whether the peer should remember this incarnation of `id` (false: only ask).
    pub record: bool,
}

/// A peer's answer to [`IntroduceRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntroduceReply {
    /// The incarnation of the node's id the peer remembers, if any (when the request asked to
    /// record and the peer knew none, the one just recorded).
    pub known_incarnation: Option<u64>,
    /// Whether the peer belongs to an initialized cluster.
    pub initialized: bool,
    /// The leader the peer knows of, if any.
    pub leader: Option<NodeId>,
}

/// The outcome of an introduction.
pub type IntroduceResult = Result<IntroduceReply, PeerError>;
