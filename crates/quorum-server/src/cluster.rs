//! [`ClusterView`]: what this node knows about the Raft group (leader, members) and clients to
//! reach its peers.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use quorum_raft::openraft::ServerState;
use quorum_raft::{Raft, RaftMetrics};
use quorum_rpc::PeerClient;
use quorum_types::{ErrorReply, NodeId};

/// Longest single attempt at a proposal or read barrier before it is retried (possibly against
/// another leader). Retries are safe: proposals are deduplicated, read barriers are idempotent.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(2_000);

/// Where requests should go right now.
#[derive(Clone)]
pub enum Route {
    /// This node leads: propose or confirm locally.
    Local,
    /// Another node leads: forward to it.
    Remote(PeerClient),
    /// No leader is known (election in progress, or no quorum reachable).
    NoLeader,
}

/// This node's view of its Raft group.
pub struct ClusterView {
    /// This node.
    pub id: NodeId,
    /// The Raft handle.
    pub raft: Raft,
    /// `--maxmemory`, stamped on proposals while this node leads (0: no limit).
    pub maxmemory_bytes: u64,
    clients: Mutex<HashMap<NodeId, (String, PeerClient)>>,
}

impl ClusterView {
    /// A view over `raft`.
    pub fn new(id: NodeId, raft: Raft, maxmemory_bytes: u64) -> Self {
        ClusterView {
            id,
            raft,
            maxmemory_bytes,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The latest Raft metrics.
    pub fn metrics(&self) -> RaftMetrics {
        self.raft.metrics().borrow().clone()
    }

    /// The current leader, if known.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// Whether this node is the leader.
    pub fn is_leader(&self) -> bool {
        let m = self.raft.metrics();
        let m = m.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.id)
    }

    /// Where a request should go now.
    pub fn route(&self) -> Route {
        let (leader, addr) = {
            let m = self.raft.metrics();
            let m = m.borrow();
            let Some(leader) = m.current_leader else {
                return Route::NoLeader;
            };
            if leader == self.id {
                return if m.state == ServerState::Leader {
                    Route::Local
                } else {
                    Route::NoLeader
                };
            }
            let addr = m
                .membership_config
                .membership()
                .get_node(&leader)
                .map(|n| n.addr.clone());
            (leader, addr)
        };
        match addr.and_then(|addr| self.client(leader, &addr)) {
            Some(client) => Route::Remote(client),
            None => Route::NoLeader,
        }
    }

    /// A (cached) client for peer `id` at `addr`.
    pub fn client(&self, id: NodeId, addr: &str) -> Option<PeerClient> {
        let mut clients = self.clients.lock();
        if let Some((cached_addr, client)) = clients.get(&id) {
            if cached_addr == addr {
                return Some(client.clone());
            }
        }
        match PeerClient::new(id, addr) {
            Ok(client) => {
                clients.insert(id, (addr.to_string(), client.clone()));
                Some(client)
            }
            Err(e) => {
                tracing::warn!(peer = id, %addr, error = %e, "cannot build a client for peer");
                None
            }
        }
    }

    /// Runs `attempt` until it finishes, `deadline` passes, or the known leader changes (then
    /// the attempt is abandoned so the caller retries against the new leader at once, instead
    /// of waiting out a timeout against a dead one).
    pub async fn until_leader_changes<T, E: From<String>>(
        &self,
        attempt: impl std::future::Future<Output = Result<T, E>>,
        deadline: tokio::time::Instant,
    ) -> Result<T, E> {
        let mut metrics = self.raft.metrics();
        let leader_at_start = metrics.borrow().current_leader;
        let leader_changed = async move {
            let _ = metrics
                .wait_for(|m| m.current_leader != leader_at_start)
                .await;
        };
        let attempt_deadline = deadline.min(tokio::time::Instant::now() + ATTEMPT_TIMEOUT);
        tokio::select! {
            result = attempt => result,
            () = leader_changed => Err(E::from("leader changed".to_string())),
            () = tokio::time::sleep_until(attempt_deadline) => Err(E::from("attempt timed out".to_string())),
        }
    }

    /// Waits until this node's state machine has applied `index`, up to `timeout`.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> Result<(), ErrorReply> {
        if self.applied_index() >= index {
            return Ok(());
        }
        self.raft
            .wait(Some(timeout))
            .applied_index_at_least(Some(index), "read waits for apply")
            .await
            .map(|_| ())
            .map_err(|e| ErrorReply::try_again(format!("replica is behind the leader: {e}")))
    }

    /// The last applied log index on this node.
    pub fn applied_index(&self) -> u64 {
        self.raft
            .metrics()
            .borrow()
            .last_applied
            .map_or(0, |id| id.index)
    }
}

/// The error a client sees when no leader can be reached in time.
pub fn no_quorum_error(node: NodeId) -> ErrorReply {
    ErrorReply::cluster_down(format!(
        "no Raft leader reachable from node {node} (this node cannot reach a majority)"
    ))
}

/// The error a client sees when a write's outcome is unknown after the request timeout.
pub fn timeout_error(timeout: Duration) -> ErrorReply {
    ErrorReply::try_again(format!(
        "no Raft quorum within {} ms; the command may or may not have been applied",
        timeout.as_millis()
    ))
}
