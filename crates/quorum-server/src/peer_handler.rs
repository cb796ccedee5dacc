//! quorum's own peer calls: forwarded proposals, read index and admin (served on the
//! leader), and introductions (`bootstrap.rs`, served by every node).

use std::sync::Arc;

use quorum_raft::openraft::error::{ClientWriteError, RaftError};
use quorum_rpc::messages::{
    AdminRequest, AdminResult, ForwardRequest, ForwardResult, IntroduceRequest, IntroduceResult,
    PeerError, ReadIndexResult,
};
use quorum_rpc::PeerHandler;

use crate::bootstrap;
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
        crate::proposer::stamp_on_leader(&node.cluster, &node.seams, &mut request);
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

    async fn introduce(&self, request: IntroduceRequest) -> IntroduceResult {
        bootstrap::answer(&self.0, &request)
    }

    fn votes_allowed(&self) -> bool {
        // A node that started empty into a running cluster votes only once caught up.
        if !self.0.incarnations.votes_allowed(&self.0.barrier) {
            return false;
        }
        // Measured on this node's clock (`--clock-rate`), as the quiet period in `run_node`.
        quorum_raft::runtime::local_duration(self.0.started.elapsed())
            >= self.0.config.raft.vote_quiet_period()
    }
}
