//! [`StateMachine`]: the deterministic replicated state of one Raft group.
//!
//! Applying the same log to two state machines gives byte-identical snapshots: apply reads no
//! clock and no randomness (time comes from the leader's stamp in each [`Proposal`]), and every
//! map is ordered. Requests are deduplicated per proposer so that a proposal retried after a
//! leader change applies at most once (Raft thesis §6.3).

use std::collections::BTreeMap;

use bytes::Bytes;
use openraft::{EntryPayload, StoredMembership};
use quorum_commands::ApplyContext;
use quorum_keyspace::{Databases, Keyspace, Touched, DATABASES_MAX};
use quorum_resp::Frame;
use quorum_types::ErrorReply;
use serde::{Deserialize, Serialize};

use crate::proposal::{Op, Proposal, ProposalReply};
use crate::{LogId, Node, TypeConfig};

/// A proposer that has not proposed for this long (in leader-stamped log time) is forgotten.
/// Retries of one proposal stop long before this (they are bounded by the request timeout).
const PROPOSER_IDLE_MS_MAX: u64 = 60 * 60 * 1000;

/// Magic and version at the start of encoded state-machine data: version 2 holds every
/// database; version 1 (database 0 alone) is still read.
const SNAPSHOT_MAGIC: &[u8; 4] = b"QSM2";
const SNAPSHOT_MAGIC_V1: &[u8; 4] = b"QSM1";

/// Dedup state of one proposer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct ProposerSession {
    /// Log time of the last proposal seen from this proposer.
    last_seen_ms: u64,
    /// Seqs below this are resolved by the proposer and never retried.
    floor: u64,
    /// Replies of applied proposals at or above `floor`, by seq.
    replies: BTreeMap<u64, Vec<Frame>>,
}

/// The replicated state of one Raft group.
#[derive(Debug, Default)]
pub struct StateMachine {
    /// The last log entry applied.
    pub last_applied: Option<LogId>,
    /// The last membership configuration applied.
    pub membership: StoredMembership<quorum_types::NodeId, Node>,
    /// The data: every numbered database.
    pub databases: Databases,
    /// The state machine's clock: the largest leader time stamp applied so far. Monotonic even
    /// when a new leader's wall clock is behind the old one's.
    pub clock_ms: u64,
    sessions: BTreeMap<u64, ProposerSession>,
    /// Keys changed since the server last took them; not part of the replicated state.
    touched: TouchedKeys,
}

/// Keys changed by applied entries, by database, since the server last took them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TouchedKeys {
    /// `(database, key)` of each change, in log order (a key may repeat).
    pub keys: Vec<(u32, Bytes)>,
    /// Anything may have changed (a flush, a snapshot install, or more changes than were
    /// worth remembering): waiters check everything they wait for.
    pub all: bool,
}

/// Most changed keys remembered between two takes (see [`StateMachine::take_touched`]).
const TOUCHED_KEYS_MAX: usize = 4096;

/// The seed of the `index`-th command of a proposal: distinct per command, a pure function
/// of the logged seed.
fn op_seed(seed: u64, index: usize) -> u64 {
    seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The header of encoded state-machine data (everything except the keyspace).
#[derive(Serialize, Deserialize)]
struct SnapshotHeader {
    last_applied: Option<LogId>,
    membership: StoredMembership<quorum_types::NodeId, Node>,
    clock_ms: u64,
    sessions: BTreeMap<u64, ProposerSession>,
}

/// Encoded state-machine data could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotDataError {
    /// Wrong magic or version.
    #[error("state machine data has an unknown format (magic {0:?})")]
    BadMagic(Vec<u8>),
    /// The header failed to decode.
    #[error("state machine header is corrupt: {0}")]
    Header(#[from] bincode::Error),
    /// The keyspace failed to decode.
    #[error("keyspace data is corrupt: {0}")]
    Keyspace(String),
    /// Lengths do not add up.
    #[error("state machine data is truncated")]
    Truncated,
}

impl StateMachine {
    /// Applies one committed log entry and returns its replies.
    pub fn apply_entry(&mut self, entry: &openraft::Entry<TypeConfig>) -> ProposalReply {
        debug_assert!(
            self.last_applied
                .is_none_or(|last| last.index < entry.log_id.index),
            "entries apply in index order"
        );
        self.last_applied = Some(entry.log_id);
        // Keys this entry changes carry its index: what WATCH compares.
        self.databases.set_write_version(entry.log_id.index);
        match &entry.payload {
            EntryPayload::Blank => ProposalReply::default(),
            EntryPayload::Normal(proposal) => self.apply_proposal(proposal),
            EntryPayload::Membership(m) => {
                self.membership = StoredMembership::new(Some(entry.log_id), m.clone());
                ProposalReply::default()
            }
        }
    }

    /// Applies a proposal, or returns the cached replies if it was applied before.
    pub fn apply_proposal(&mut self, proposal: &Proposal) -> ProposalReply {
        self.clock_ms = self.clock_ms.max(proposal.time_ms);
        let now_ms = self.clock_ms;
        self.forget_idle_proposers(now_ms);

        let session = self.sessions.entry(proposal.proposer).or_default();
        session.last_seen_ms = now_ms;
        if proposal.floor > session.floor {
            session.floor = proposal.floor;
            session.replies = session.replies.split_off(&proposal.floor);
        }
        // PLANTED BUG (`--chaos-bug skip-dedup`): no deduplication at all, so a proposal
        // retried after a leader change applies its commands a second time.
        #[cfg(feature = "chaos-bugs")]
        let skip_dedup = crate::chaos_bugs::planted(crate::chaos_bugs::ChaosBug::SkipDedup);
        #[cfg(not(feature = "chaos-bugs"))]
        let skip_dedup = false;
        if let Some(frames) = session.replies.get(&proposal.seq).filter(|_| !skip_dedup) {
            return ProposalReply {
                frames: frames.clone(),
            };
        }
        if proposal.seq < session.floor && !skip_dedup {
            // A stale copy of a proposal its proposer already resolved (e.g. a forward that
            // arrived late). Applying it could apply its commands twice.
            let error = Frame::Error(ErrorReply::from_static(
                "ERR stale duplicate proposal ignored",
            ));
            return ProposalReply {
                frames: vec![error; proposal.ops.len()],
            };
        }

        let mut frames: Vec<Frame> = Vec::with_capacity(proposal.ops.len());
        for (index, op) in proposal.ops.iter().enumerate() {
            // Each command of the batch draws its own stream from the leader's seed.
            let ctx = ApplyContext {
                now_ms,
                seed: op_seed(proposal.seed, index),
            };
            if self.over_memory_for(proposal.maxmemory_bytes, op) {
                frames.push(Frame::Error(ErrorReply::from_static(
                    "OOM command not allowed when used memory > 'maxmemory'.",
                )));
                continue;
            }
            let (frame, touched) = match op {
                Op::Command { db, args } => {
                    quorum_commands::apply_write_in(&mut self.databases, *db, args, &ctx)
                }
                Op::Expire { db, keys } if *db < DATABASES_MAX => {
                    let (removed, touched) = quorum_commands::apply_expire_touching(
                        self.databases.get_mut(*db),
                        keys,
                        now_ms,
                    );
                    (Frame::Integer(removed as i64), vec![(*db, touched)])
                }
                Op::Expire { .. } => (Frame::Integer(0), Vec::new()),
                Op::Exec(tx) => quorum_commands::apply_transaction(&mut self.databases, tx, &ctx),
            };
            for (db, touched) in touched {
                self.record_touched(db, touched);
            }
            frames.push(frame);
        }
        let session = self
            .sessions
            .get_mut(&proposal.proposer)
            .expect("session inserted above");
        session.replies.insert(proposal.seq, frames.clone());
        ProposalReply { frames }
    }

    /// Adds keys changed by an applied command to the record the server takes. Bounded: past
    /// [`TOUCHED_KEYS_MAX`] keys the record collapses to "everything may have changed",
    /// which waiters handle by checking every key they wait for.
    fn record_touched(&mut self, db: u32, touched: Touched) {
        if self.touched.all {
            return;
        }
        if touched.flushed || self.touched.keys.len() + touched.keys.len() > TOUCHED_KEYS_MAX {
            self.touched = TouchedKeys {
                keys: Vec::new(),
                all: true,
            };
            return;
        }
        self.touched
            .keys
            .extend(touched.keys.into_iter().map(|key| (db, key)));
    }

    /// The keys changed by entries applied since the last call (see [`TouchedKeys`]); the
    /// server wakes clients blocked on them.
    pub fn take_touched(&mut self) -> TouchedKeys {
        std::mem::take(&mut self.touched)
    }

    /// Whether `op` must be refused because memory is over the leader's limit: only commands
    /// Redis flags `denyoom` (those that may grow memory), and an EXEC holding one, as in
    /// Redis's `noeviction` policy. Deletions and reads still run, so memory can come down.
    fn over_memory_for(&self, maxmemory_bytes: u64, op: &Op) -> bool {
        if maxmemory_bytes == 0 || self.databases.used_memory_bytes() as u64 <= maxmemory_bytes {
            return false;
        }
        let denyoom = |args: &[Bytes]| {
            args.first()
                .and_then(|name| quorum_commands::lookup(name))
                .is_some_and(|spec| spec.flags.contains(&"denyoom"))
        };
        match op {
            Op::Command { args, .. } => denyoom(args),
            Op::Exec(tx) => tx.commands.iter().any(|c| denyoom(&c.args)),
            Op::Expire { .. } => false,
        }
    }

    fn forget_idle_proposers(&mut self, now_ms: u64) {
        // Cheap in practice: one session per node incarnation.
        self.sessions
            .retain(|_, s| s.last_seen_ms.saturating_add(PROPOSER_IDLE_MS_MAX) >= now_ms);
    }

    /// Number of proposer sessions kept for deduplication.
    pub fn proposer_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Encodes the whole state deterministically (same state, same bytes).
    pub fn encode(&self) -> Vec<u8> {
        let header = SnapshotHeader {
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            clock_ms: self.clock_ms,
            sessions: self.sessions.clone(),
        };
        let header_bytes = bincode::serialize(&header).expect("in-memory serialization");
        let mut out = Vec::with_capacity(header_bytes.len() + 64);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&(header_bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&header_bytes);
        self.databases.encode_snapshot(&mut out);
        out
    }

    /// Decodes state encoded by [`StateMachine::encode`]. The bytes may come from a peer or a
    /// disk, so every length is checked.
    pub fn decode(bytes: &[u8]) -> Result<StateMachine, SnapshotDataError> {
        let magic = bytes.get(..4).unwrap_or(bytes);
        if bytes.len() < 12 || (magic != SNAPSHOT_MAGIC && magic != SNAPSHOT_MAGIC_V1) {
            return Err(SnapshotDataError::BadMagic(
                bytes[..bytes.len().min(4)].to_vec(),
            ));
        }
        let header_len = u64::from_le_bytes(bytes[4..12].try_into().expect("8 bytes"));
        let rest = &bytes[12..];
        if header_len > rest.len() as u64 {
            return Err(SnapshotDataError::Truncated);
        }
        let (header_bytes, keyspace_bytes) = rest.split_at(header_len as usize);
        let header: SnapshotHeader = bincode::DefaultOptions::new()
            .with_fixint_encoding()
            .with_limit(header_len)
            .deserialize(header_bytes)?;
        let corrupt =
            |e: quorum_keyspace::SnapshotDecodeError| SnapshotDataError::Keyspace(e.to_string());
        let databases = if magic == SNAPSHOT_MAGIC_V1 {
            let mut databases = Databases::new();
            *databases.get_mut(0) = Keyspace::decode_snapshot(keyspace_bytes).map_err(corrupt)?;
            databases
        } else {
            Databases::decode_snapshot(keyspace_bytes).map_err(corrupt)?
        };
        Ok(StateMachine {
            last_applied: header.last_applied,
            membership: header.membership,
            databases,
            clock_ms: header.clock_ms,
            sessions: header.sessions,
            touched: TouchedKeys {
                keys: Vec::new(),
                // A state replaced by a snapshot may differ in any key.
                all: true,
            },
        })
    }
}

use bincode::Options as _;

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Op {
        Op::command(
            args.iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect(),
        )
    }

    fn proposal(seq: u64, floor: u64, ops: Vec<Op>) -> Proposal {
        Proposal {
            proposer: 7,
            seq,
            floor,
            time_ms: 1_000 + seq,
            seed: seq,
            maxmemory_bytes: 0,
            ops,
        }
    }

    #[test]
    fn over_the_leaders_maxmemory_growing_commands_get_oom_and_deletions_still_run() {
        let mut sm = StateMachine::default();
        let limited = |seq, ops| Proposal {
            maxmemory_bytes: 300,
            ..proposal(seq, seq, ops)
        };
        let big = "x".repeat(400);
        assert_eq!(
            sm.apply_proposal(&limited(1, vec![cmd(&["SET", "a", &big])]))
                .frames,
            vec![Frame::ok()]
        );
        let oom = Frame::Error(ErrorReply::from_static(
            "OOM command not allowed when used memory > 'maxmemory'.",
        ));
        let refused = sm.apply_proposal(&limited(
            2,
            vec![cmd(&["SET", "b", "1"]), cmd(&["RPUSH", "l", "1"])],
        ));
        assert_eq!(refused.frames, vec![oom.clone(), oom]);
        assert_eq!(sm.databases.key_count(), 1);
        // Not denyoom: DEL and GET run, and then writes are allowed again.
        let freed = sm.apply_proposal(&limited(
            3,
            vec![
                cmd(&["GET", "zz"]),
                cmd(&["DEL", "a"]),
                cmd(&["SET", "b", "1"]),
            ],
        ));
        assert_eq!(freed.frames[1..], [Frame::Integer(1), Frame::ok()]);
        // Without a limit (0) nothing is refused.
        let unlimited = sm.apply_proposal(&proposal(
            4,
            4,
            vec![cmd(&["SET", "c", &big]), cmd(&["SET", "d", &big])],
        ));
        assert_eq!(unlimited.frames, vec![Frame::ok(), Frame::ok()]);
    }

    #[test]
    fn retried_proposal_applies_once() {
        let mut sm = StateMachine::default();
        let p = proposal(1, 1, vec![cmd(&["INCR", "n"])]);
        assert_eq!(sm.apply_proposal(&p).frames, vec![Frame::Integer(1)]);
        // The same proposal again (a retry after a leader change) returns the first reply.
        assert_eq!(sm.apply_proposal(&p).frames, vec![Frame::Integer(1)]);
        let p2 = proposal(2, 1, vec![cmd(&["INCR", "n"])]);
        assert_eq!(sm.apply_proposal(&p2).frames, vec![Frame::Integer(2)]);
    }

    #[test]
    fn stale_copy_below_floor_is_not_applied() {
        let mut sm = StateMachine::default();
        sm.apply_proposal(&proposal(1, 1, vec![cmd(&["INCR", "n"])]));
        sm.apply_proposal(&proposal(5, 5, vec![cmd(&["INCR", "n"])]));
        // seq 3 was resolved by the proposer (floor 5): a late copy must not apply.
        let reply = sm.apply_proposal(&proposal(3, 1, vec![cmd(&["INCR", "n"])]));
        assert!(reply.frames[0].is_error());
        let get = sm.apply_proposal(&proposal(6, 6, vec![cmd(&["INCRBY", "n", "0"])]));
        assert_eq!(get.frames, vec![Frame::Integer(2)]);
        // Replies below the floor were forgotten.
        assert_eq!(sm.sessions[&7].replies.len(), 1);
    }

    #[test]
    fn clock_never_goes_back() {
        let mut sm = StateMachine::default();
        let mut p = proposal(1, 1, vec![]);
        p.time_ms = 5_000;
        sm.apply_proposal(&p);
        let mut p = proposal(2, 2, vec![]);
        p.time_ms = 4_000;
        sm.apply_proposal(&p);
        assert_eq!(sm.clock_ms, 5_000);
    }

    #[test]
    fn encode_decode_round_trip_is_identical() {
        let mut sm = StateMachine::default();
        sm.apply_proposal(&proposal(
            1,
            1,
            vec![
                cmd(&["SET", "a", "1"]),
                cmd(&["SET", "b", "2", "PX", "100000"]),
            ],
        ));
        let bytes = sm.encode();
        let decoded = StateMachine::decode(&bytes).unwrap();
        assert_eq!(decoded.encode(), bytes);
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let _ = StateMachine::decode(&bytes);
            let mut with_magic = SNAPSHOT_MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = StateMachine::decode(&with_magic);
        }
    }
}
