//! Active expiry: the leader finds keys whose deadline has passed and deletes them through the
//! Raft log, so every replica removes the same keys at the same log position.

use std::sync::Arc;
use std::time::Duration;

use quorum_raft::Op;

use crate::node::Node;

/// How often the leader looks for expired keys.
const EXPIRY_INTERVAL_MS: u64 = 100;
/// Most keys deleted by one expiry proposal.
const EXPIRY_KEYS_PER_ROUND_MAX: usize = 1_000;

/// Runs until the node stops. Does nothing on followers.
pub async fn run(node: Arc<Node>) {
    let mut tick = tokio::time::interval(Duration::from_millis(EXPIRY_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !node.cluster.is_leader() {
            continue;
        }
        let now_ms = node.seams.clock.now_unix_ms();
        let keys = node
            .state
            .read()
            .keyspace
            .expired_keys(now_ms, EXPIRY_KEYS_PER_ROUND_MAX);
        if keys.is_empty() {
            continue;
        }
        tracing::trace!(keys = keys.len(), "proposing active expiry");
        // Wait for the outcome so the same keys are not proposed twice concurrently.
        let _ = node.proposer.submit(Op::Expire(keys)).await.await;
    }
}
