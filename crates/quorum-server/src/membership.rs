//! Membership changes (add a node, remove a node), shared by the HTTP admin API and the peer
//! `Admin` call. They run on the leader; other nodes forward them.

use std::collections::{BTreeMap, BTreeSet};

use quorum_raft::openraft::ChangeMembers;
use quorum_raft::Node as RaftNode;
use quorum_rpc::messages::{AdminRequest, AdminResult, PeerError};

use crate::cluster::Route;
use crate::node::Node;

/// Applies a membership change, forwarding it to the leader if this node does not lead.
pub async fn change(node: &Node, request: AdminRequest) -> AdminResult {
    match node.cluster.route() {
        Route::Local => change_on_leader(node, request).await,
        Route::Remote(client) => client
            .admin(&request, node.request_timeout() * 12)
            .await
            .unwrap_or_else(|e| Err(PeerError::Unavailable(e.to_string()))),
        Route::NoLeader => Err(PeerError::NotLeader { leader: None }),
    }
}

/// Applies a membership change on the leader.
pub async fn change_on_leader(node: &Node, request: AdminRequest) -> AdminResult {
    let raft = &node.cluster.raft;
    if !node.cluster.is_leader() {
        return Err(PeerError::NotLeader {
            leader: node.cluster.leader(),
        });
    }
    let unavailable = |e: &dyn std::fmt::Display| PeerError::Unavailable(e.to_string());
    match request {
        AdminRequest::AddNode { id, addr } => {
            tracing::info!(node = id, %addr, "adding node as learner");
            // Blocks until the learner has caught up with the leader's log (or snapshot).
            raft.add_learner(id, RaftNode::new(addr), true)
                .await
                .map_err(|e| unavailable(&e))?;
            // openraft's "caught up" allows a lag of thousands of entries; a voter that far
            // behind withholds its vote until it has caught up (decision 0008), and a
            // membership change meanwhile can leave no quorum able to elect (found by
            // `quorum chaos --queue --seed 21`). Promote only once it holds the leader's log as
            // it was when the learner was added.
            wait_for_learner(node, id).await?;
            tracing::info!(node = id, "learner caught up; promoting to voter");
            raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        AdminRequest::RemoveNode { id } => {
            let metrics = node.cluster.metrics();
            let membership = metrics.membership_config.membership();
            let is_voter = membership.voter_ids().any(|v| v == id);
            let is_learner = membership.learner_ids().any(|l| l == id);
            if !is_voter && !is_learner {
                return Err(PeerError::Refused(format!("node {id} is not a member")));
            }
            if is_voter && membership.voter_ids().count() == 1 {
                return Err(PeerError::Refused(
                    "cannot remove the last voter".to_string(),
                ));
            }
            tracing::info!(node = id, "removing node");
            let change = if is_voter {
                ChangeMembers::RemoveVoters(BTreeSet::from([id]))
            } else {
                ChangeMembers::RemoveNodes(BTreeSet::from([id]))
            };
            raft.change_membership(change, false)
                .await
                .map_err(|e| unavailable(&e))?;
        }
    }
    Ok(describe(node))
}

/// Waits (bounded) until learner `id` has replicated the leader's log as it is now.
async fn wait_for_learner(node: &Node, id: u64) -> Result<(), PeerError> {
    let target = node.cluster.metrics().last_log_index.unwrap_or(0);
    let deadline = tokio::time::Instant::now() + node.request_timeout() * 6;
    loop {
        let metrics = node.cluster.metrics();
        let matched = metrics
            .replication
            .as_ref()
            .and_then(|r| r.get(&id).copied().flatten())
            .map_or(0, |m| m.index);
        if matched >= target {
            return Ok(());
        }
        if !node.cluster.is_leader() {
            return Err(PeerError::NotLeader {
                leader: node.cluster.leader(),
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(PeerError::Unavailable(format!(
                "node {id} stays a learner: it has replicated up to {matched} of the {target}                  entries the leader had when it was added; run add-node again"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A one-line summary of the current membership.
pub fn describe(node: &Node) -> String {
    let metrics = node.cluster.metrics();
    let membership = metrics.membership_config.membership();
    let voters: Vec<_> = membership.voter_ids().collect();
    let learners: Vec<_> = membership.learner_ids().collect();
    format!("voters {voters:?}, learners {learners:?}")
}

/// The founding members, as openraft wants them.
pub fn initial_members(initial: &[(u64, String)]) -> BTreeMap<u64, RaftNode> {
    initial
        .iter()
        .map(|(id, addr)| (*id, RaftNode::new(addr.clone())))
        .collect()
}
