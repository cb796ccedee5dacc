//! Active expiry: the leader finds keys whose deadline has passed and deletes them through the
//! Raft log, so every replica removes the same keys at the same log position.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
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
        let expired: Vec<(u32, Vec<Bytes>)> = {
            let state = node.state.read();
            let mut budget = EXPIRY_KEYS_PER_ROUND_MAX;
            state
                .databases
                .iter()
                .filter_map(|(db, ks)| {
                    let keys = ks.expired_keys(now_ms, budget);
                    budget -= keys.len();
                    (!keys.is_empty()).then_some((db, keys))
                })
                .collect()
        };
        for (db, keys) in expired {
            tracing::trace!(db, keys = keys.len(), "proposing active expiry");
            // Wait for the outcome so the same keys are not proposed twice concurrently.
            let _ = node.proposer.submit(Op::Expire { db, keys }).await.await;
        }
    }
}
