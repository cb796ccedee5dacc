//! Raft's safety properties, checked against every node's metrics after every simulation step.
//!
//! What the metrics show is a sample of each node's state once per step, which is enough for:
//! - **leader completeness**: a node seen leading for the first time in a term holds a log at
//!   least as long as the highest index any node has applied (every applied entry is
//!   committed, and a leader must hold every committed entry);
//! - **durable votes**: a node's term never goes back, not even across a crash that lost its
//!   unsynced writes (a vote forgotten after a crash lets one node vote twice in a term);
//! - **state-machine safety**: no two nodes ever apply different entries at the same index
//!   (compared by log id: term and leader), which with Raft's log matching property also means
//!   their applied prefixes agree;
//! - **applied never goes back** within one incarnation of a node.
//!
//! Election safety is structural in openraft's default mode: a vote is (term, node id), ordered
//! by term and then node id, so two nodes may lead "term 5" one after the other, as distinct
//! leaders (5, 1) and (5, 2) whose log ids differ. What would break if votes were not exclusive
//! is caught by the state-machine-safety check. "No acknowledged write lost" is judged from the
//! clients' history by `quorum-check` at the end of the run.
//!
//! Membership changes (`membership.rs`) leave these checks as they are. A removed node stops
//! receiving entries, so its applied index and log stay behind: none of the checks asks a node
//! to keep up (liveness is judged after the node is added back). A removed follower that never
//! learns of its removal campaigns at ever higher terms, which the durable-vote check allows (a
//! term only goes forward); if it ever led, or won a vote it should not have, its short log would
//! fail leader completeness or state-machine safety as for any other node.

use std::collections::BTreeMap;

use quorum_raft::openraft::ServerState;
use quorum_raft::{LogId, RaftMetrics};
use quorum_types::NodeId;

/// What the checks remember between steps.
#[derive(Default)]
pub struct Invariants {
    /// Leaders seen, by (term, node id): openraft's leader id.
    leaders_seen: BTreeMap<(u64, NodeId), ()>,
    /// The highest index any node has applied (so committed).
    committed: u64,
    highest_term: BTreeMap<NodeId, u64>,
    applied_at: BTreeMap<u64, (LogId, NodeId)>,
    last_applied: BTreeMap<(NodeId, u32), u64>,
    /// Violations found so far, in the order found.
    pub violations: Vec<String>,
    /// (simulated ms, term, leader) each time a node was first seen leading a term.
    pub leaders: Vec<(u64, u64, NodeId)>,
}

impl Invariants {
    /// Checks one node's current metrics (of incarnation `incarnation`) at simulated `now_ms`.
    pub fn observe(&mut self, now_ms: u64, incarnation: u32, m: &RaftMetrics) {
        let id = m.id;
        if m.state == ServerState::Leader
            && self.leaders_seen.insert((m.current_term, id), ()).is_none()
        {
            self.leaders.push((now_ms, m.current_term, id));
            let last_log = m.last_log_index.unwrap_or(0);
            if last_log < self.committed {
                self.violations.push(format!(
                    "leader completeness: node {id} leads term {} with a log ending at {last_log}, \
                     below the applied (committed) index {} (at {now_ms} ms)",
                    m.current_term, self.committed
                ));
            }
        }
        let highest = self.highest_term.entry(id).or_default();
        if m.current_term < *highest {
            self.violations.push(format!(
                "durable vote: node {id} (incarnation {incarnation}) is at term {} after having \
                 reached term {} (at {now_ms} ms)",
                m.current_term, *highest
            ));
        }
        *highest = (*highest).max(m.current_term);
        if let Some(applied) = m.last_applied {
            self.committed = self.committed.max(applied.index);
            match self.applied_at.get(&applied.index) {
                None => {
                    self.applied_at.insert(applied.index, (applied, id));
                }
                Some(&(other, by)) if other != applied => self.violations.push(format!(
                    "state-machine safety: node {by} applied {other} and node {id} applied \
                     {applied} at index {} (at {now_ms} ms)",
                    applied.index
                )),
                Some(_) => {}
            }
            let last = self.last_applied.entry((id, incarnation)).or_default();
            if applied.index < *last {
                self.violations.push(format!(
                    "node {id} (incarnation {incarnation}) went back from applied index {} to {} \
                     (at {now_ms} ms)",
                    *last, applied.index
                ));
            }
            *last = (*last).max(applied.index);
        }
    }
}
