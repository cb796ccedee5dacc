//! quorum's own peer calls, served on the leader: forwarded proposals, read index, admin.

use std::sync::Arc;

use quorum_raft::openraft::error::{ClientWriteError, RaftError};
use quorum_rpc::messages::{
    AdminRequest, AdminResult, ForwardRequest, ForwardResult, PeerError, ReadIndexResult,
};
use quorum_rpc::PeerHandler;

use crate::membership;
use crate::node::Node;

/// Implements [`PeerHandler`] for a node.
pub struct NodePeerHandler(pub Arc<Node>);

impl PeerHandler for NodePeerHandler {
    async fn forward(&self, mut request: ForwardRequest) -> ForwardResult {
        let node = &self.0;
        if !node.cluster.is_leader() {
            return Err(PeerError::NotLeader {
                leader: node.cluster.leader(),
            });
        }
        // The leader decides the time of every write.
        request.time_ms = node.seams.clock.now_unix_ms();
        let write = node.cluster.raft.client_write(request);
        match tokio::time::timeout(node.request_timeout(), write).await {
            Err(_) => Err(PeerError::Unavailable(
                "timed out waiting for a quorum".to_string(),
            )),
            Ok(Ok(response)) => Ok((response.log_id.index, response.data)),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                Err(PeerError::NotLeader {
                    leader: f.leader_id,
                })
            }
            Ok(Err(e)) => Err(PeerError::Unavailable(e.to_string())),
        }
    }

    async fn read_index(&self) -> ReadIndexResult {
        self.0
            .barrier
            .serve_read_index(self.0.request_timeout())
            .await
    }

    async fn admin(&self, request: AdminRequest) -> AdminResult {
        membership::change_on_leader(&self.0, request).await
    }

    fn votes_allowed(&self) -> bool {
        // Measured on this node's clock (`--clock-rate`), as the quiet period in `run_node`.
        quorum_raft::runtime::local_duration(self.0.started.elapsed())
            >= self.0.config.raft.vote_quiet_period()
    }
}
