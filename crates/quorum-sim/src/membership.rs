//! Membership changes as a fault: a voter (the leader half of the time) is removed from the
//! cluster, stays out for a while, and is added back as a voter under the same id with its data
//! intact, through quorum's real admin path: the peer `Admin` call
//! (`quorum_rpc::messages::AdminRequest`, served by `quorum_server::membership::change_on_leader`).
//!
//! The calls are made by a turmoil client host of their own ([`run_change`]) with
//! [`quorum_rpc::PeerClient`], so they travel over the simulated network like the nodes'
//! messages. A node that does not lead answers `NotLeader` with the leader it knows of, and the
//! call is retried there (as an operator would retry `quorum cluster` on the leader); any other
//! failure moves on to the next node after a pause. Every retry loop ends at a deadline in
//! simulated time: the removal gives up after [`REMOVE_MAX`] (the node is then added back
//! anyway: a half-done removal leaves a joint configuration, which the addition resolves), the
//! addition only at the deadline the driver gives, well after every other fault is healed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorum_rpc::messages::{AdminRequest, PeerError};
use quorum_rpc::PeerClient;
use quorum_types::NodeId;

use crate::node::{host_name, PEER_PORT};

/// How long the removal is retried before the change moves on to adding the node back.
pub const REMOVE_MAX: Duration = Duration::from_secs(5);
/// How long one admin call may take. An addition waits on the leader until the learner has
/// caught up, so this is longer than a write's timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(4);
/// Pause before trying the next node after a failed call.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// Pause before following a `NotLeader` answer to the leader it names (two nodes that each
/// name the other must not spin).
const REDIRECT_PAUSE: Duration = Duration::from_millis(10);

/// One membership change, from removal to re-addition.
pub struct ChangePlan {
    /// The voter removed and added back.
    pub victim: NodeId,
    /// Nodes in the cluster.
    pub nodes: u64,
    /// The node the first call goes to (any node: followers name the leader).
    pub first_target: NodeId,
    /// The node the first call to add it back goes to.
    pub add_target: NodeId,
    /// How long the node stays out once removed.
    pub removed_for: Duration,
    /// Simulated time after which adding the node back counts as failed.
    pub add_deadline: Duration,
    /// What happened, for the driver to record as faults.
    pub progress: Arc<Mutex<ChangeProgress>>,
}

/// What a change has done so far, shared with the driver.
#[derive(Default)]
pub struct ChangeProgress {
    /// Events not yet taken by the driver ("at ms: what").
    pub events: Vec<String>,
    /// Set when the change has ended: `Some(true)` when the node is a voter again.
    pub added_back: Option<bool>,
}

impl ChangeProgress {
    fn event(progress: &Mutex<ChangeProgress>, what: String) {
        progress
            .lock()
            .expect("membership progress")
            .events
            .push(format!("{} ms: {what}", now().as_millis()));
    }
}

fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// Runs one change to its end: remove, wait, add back.
pub async fn run_change(plan: ChangePlan) -> turmoil::Result {
    let victim = plan.victim;
    let removal = call_until(
        &AdminRequest::RemoveNode { id: victim },
        plan.first_target,
        plan.nodes,
        now() + REMOVE_MAX,
    )
    .await;
    ChangeProgress::event(
        &plan.progress,
        match &removal {
            Ok(done) => format!("node {victim} removed ({done})"),
            // A repeated removal whose first attempt took effect without an answer.
            Err(CallFailure::Refused(reason, via)) if reason.contains("not a member") => {
                format!("node {victim} removed (refused as not a member by node {via})")
            }
            Err(failure) => format!("removal of node {victim} gave up: {failure}"),
        },
    );
    tokio::time::sleep(plan.removed_for).await;
    let addition = call_until(
        &AdminRequest::AddNode {
            id: victim,
            addr: format!("{}:{PEER_PORT}", host_name(victim)),
        },
        plan.add_target,
        plan.nodes,
        plan.add_deadline,
    )
    .await;
    ChangeProgress::event(
        &plan.progress,
        match &addition {
            Ok(done) => format!("node {victim} added back as a voter ({done})"),
            Err(failure) => format!("adding node {victim} back gave up: {failure}"),
        },
    );
    plan.progress
        .lock()
        .expect("membership progress")
        .added_back = Some(addition.is_ok());
    Ok(())
}

/// Why a change could not be made.
#[derive(Debug)]
enum CallFailure {
    /// A node refused it (with the reason, and the node).
    Refused(String, NodeId),
    /// The deadline passed; the last error seen.
    Deadline(String),
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Refused(reason, via) => write!(f, "refused by node {via}: {reason}"),
            CallFailure::Deadline(last) => write!(f, "deadline passed; last error: {last}"),
        }
    }
}

/// Sends `request` to `first` and on until a leader makes the change, or `deadline` (simulated)
/// passes. On success: which node made it, after how many attempts, and the new membership.
async fn call_until(
    request: &AdminRequest,
    first: NodeId,
    nodes: u64,
    deadline: Duration,
) -> Result<String, CallFailure> {
    let mut target = first;
    let mut attempts = 0u32;
    let mut last_error = "no attempt".to_string();
    let next = |id: NodeId| id % nodes + 1;
    while now() < deadline {
        attempts += 1;
        let timeout = CALL_TIMEOUT.min(deadline.saturating_sub(now()));
        let reply = match PeerClient::new(target, &format!("{}:{PEER_PORT}", host_name(target))) {
            Ok(client) => tokio::time::timeout(timeout, client.admin(request, timeout))
                .await
                .unwrap_or_else(|_| Ok(Err(PeerError::Unavailable("timed out".to_string())))),
            Err(e) => Ok(Err(PeerError::Unavailable(e.to_string()))),
        };
        match reply {
            Ok(Ok(membership)) => {
                return Ok(format!(
                    "by node {target}, attempt {attempts}: {membership}"
                ))
            }
            Ok(Err(PeerError::Refused(reason))) => {
                return Err(CallFailure::Refused(reason, target));
            }
            Ok(Err(PeerError::NotLeader {
                leader: Some(leader),
            })) if leader != target && leader <= nodes => {
                last_error = format!("node {target}: not the leader (node {leader} is)");
                target = leader;
                tokio::time::sleep(REDIRECT_PAUSE).await;
            }
            Ok(Err(e)) => {
                last_error = format!("node {target}: {e}");
                target = next(target);
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            Err(e) => {
                last_error = e.to_string();
                target = next(target);
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
    Err(CallFailure::Deadline(format!(
        "{last_error} ({attempts} attempts)"
    )))
}
