//! What one Raft log entry carries: a [`Proposal`] of client commands, stamped by the leader.

use bytes::Bytes;
use quorum_commands::Transaction;
use quorum_resp::Frame;
use serde::{Deserialize, Serialize};

/// One operation inside a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// A client write command: name and arguments exactly as the client sent them (already
    /// validated on the node that received it), in the database the client selected.
    Command {
        /// The client's selected database.
        db: u32,
        /// Name and arguments.
        args: Vec<Bytes>,
    },
    /// Active expiry decided by the leader: delete each key of database `db` whose deadline
    /// has passed at the proposal's time (a key whose TTL was extended meanwhile survives).
    Expire {
        /// The database.
        db: u32,
        /// The keys the leader found expired.
        keys: Vec<Bytes>,
    },
    /// A MULTI ... EXEC block, applied atomically (or not at all when a WATCHed key changed).
    Exec(Transaction),
}

impl Op {
    /// A write command in database 0.
    pub fn command(args: Vec<Bytes>) -> Op {
        Op::Command { db: 0, args }
    }

    /// Payload bytes of the operation (arguments or keys), for bounding proposal sizes.
    pub fn payload_bytes(&self) -> usize {
        let sum = |args: &[Bytes]| args.iter().map(Bytes::len).sum::<usize>();
        match self {
            Op::Command { args, .. } | Op::Expire { keys: args, .. } => sum(args),
            Op::Exec(tx) => {
                let watched: usize = tx.watched.iter().map(|w| w.key.len()).sum();
                watched + tx.commands.iter().map(|c| sum(&c.args)).sum::<usize>()
            }
        }
    }
}

/// A batch of operations from one proposer (one node incarnation), applied atomically and in
/// order. `(proposer, seq)` identifies it so that a retried proposal applies at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Random id of the proposing node's incarnation, chosen at start-up.
    pub proposer: u64,
    /// The proposer's sequence number for this batch; retries reuse it.
    pub seq: u64,
    /// Every seq below this one has been resolved by the proposer, so the state machine may
    /// forget their cached replies (Raft thesis §6.3).
    pub floor: u64,
    /// Wall-clock time in Unix milliseconds, stamped by the leader right before proposing.
    /// Replicas never read their own clock during apply.
    pub time_ms: u64,
    /// Seed of the proposal's random choices (SPOP, SRANDMEMBER, ...), drawn by the leader
    /// with its time stamp, so that every replica chooses alike.
    pub seed: u64,
    /// The leader's `--maxmemory` (0: no limit): commands that may grow memory are refused
    /// with `-OOM` while the replicated state uses more, decided alike on every replica.
    pub maxmemory_bytes: u64,
    /// The operations, applied in order.
    pub ops: Vec<Op>,
}

/// The replies of one applied proposal, one frame per operation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProposalReply {
    /// One reply per [`Op`], in order.
    pub frames: Vec<Frame>,
}
