//! [`ReadBarrier`]: makes default-level reads linearizable (Raft ReadIndex), batched.
//!
//! A read may be served from this node's state machine once it has applied everything the
//! leader had committed when the read arrived. The leader proves it still leads by a heartbeat
//! round to a quorum (openraft's `get_read_log_id`); a follower asks the leader for that index
//! over gRPC, then waits for its own apply to reach it. One task runs one confirmation at a
//! time; every read that arrives while a confirmation is in flight shares the next one, so
//! the cost is one quorum round per batch of reads, not per read.
//!
//! No leader lease is used: openraft 0.9 lease reads combined with leader transfer served stale
//! reads upstream (openraft #1749), and quorum never transfers leadership either.

use std::sync::Arc;
use std::time::Duration;

use quorum_rpc::messages::PeerError;
use quorum_types::ErrorReply;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, timeout_at, Instant};

use crate::cluster::{no_quorum_error, timeout_error, ClusterView, Route};

/// Most reads waiting for a confirmation before connections wait (backpressure).
const WAITERS_MAX: usize = 65_536;

type Waiter = oneshot::Sender<Result<u64, ErrorReply>>;

/// Handle for waiting on a linearizable read point.
#[derive(Clone)]
pub struct ReadBarrier {
    waiters: mpsc::Sender<Waiter>,
}

impl ReadBarrier {
    /// Starts the confirmation task.
    pub fn start(cluster: Arc<ClusterView>, request_timeout: Duration) -> Self {
        let (waiters, receiver) = mpsc::channel(WAITERS_MAX);
        tokio::spawn(confirm_loop(cluster, receiver, request_timeout));
        ReadBarrier { waiters }
    }

    /// Resolves with the log index this node has applied through, at which a read that started
    /// before this call is linearizable.
    pub async fn wait(&self) -> Result<u64, ErrorReply> {
        let (tx, rx) = oneshot::channel();
        if self.waiters.send(tx).await.is_err() {
            return Err(ErrorReply::from_static("ERR server is shutting down"));
        }
        rx.await
            .unwrap_or_else(|_| Err(ErrorReply::from_static("ERR server is shutting down")))
    }
}

async fn confirm_loop(
    cluster: Arc<ClusterView>,
    mut receiver: mpsc::Receiver<Waiter>,
    request_timeout: Duration,
) {
    let mut batch = Vec::new();
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while let Ok(more) = receiver.try_recv() {
            batch.push(more);
        }
        let result = confirm(&cluster, request_timeout).await;
        for waiter in batch.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }
}

/// One confirmation: the read index, applied locally.
async fn confirm(cluster: &ClusterView, request_timeout: Duration) -> Result<u64, ErrorReply> {
    let deadline = Instant::now() + request_timeout;
    let mut backoff_ms = 5;
    let mut saw_leader = false;
    loop {
        let attempt = async {
            match cluster.route() {
                Route::Local => {
                    saw_leader = true;
                    local_read_index(cluster, deadline).await
                }
                Route::Remote(client) => {
                    saw_leader = true;
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    match client.read_index(remaining).await {
                        Ok(Ok(index)) => Ok(index),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                }
                Route::NoLeader => Err("no leader".to_string()),
            }
        };
        match cluster.until_leader_changes(attempt, deadline).await {
            Ok(index) => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                cluster.wait_applied(index, remaining).await?;
                return Ok(index);
            }
            Err(reason) => {
                if Instant::now() + Duration::from_millis(backoff_ms) >= deadline {
                    tracing::debug!(%reason, "read barrier timed out");
                    return Err(if saw_leader {
                        timeout_error(request_timeout)
                    } else {
                        no_quorum_error(cluster.id)
                    });
                }
                sleep(Duration::from_millis(backoff_ms)).await;
                backoff_ms = (backoff_ms * 2).min(200);
            }
        }
    }
}

/// The read index on the leader: leadership confirmed by a quorum heartbeat round.
pub(crate) async fn local_read_index(
    cluster: &ClusterView,
    deadline: Instant,
) -> Result<u64, String> {
    match timeout_at(deadline, cluster.raft.get_read_log_id()).await {
        Err(_) => Err("timed out confirming leadership".to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok((read_log_id, _applied))) => Ok(read_log_id.map_or(0, |id| id.index)),
    }
}

/// Serves a follower's read-index request on the leader.
pub(crate) async fn serve_read_index(
    cluster: &ClusterView,
    request_timeout: Duration,
) -> Result<u64, PeerError> {
    if !cluster.is_leader() {
        return Err(PeerError::NotLeader {
            leader: cluster.leader(),
        });
    }
    local_read_index(cluster, Instant::now() + request_timeout)
        .await
        .map_err(PeerError::Unavailable)
}
