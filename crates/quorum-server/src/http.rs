//! The HTTP port: `/healthz`, `/readyz`, and the admin API (`/admin/status`,
//! `/admin/add-node`, `/admin/remove-node`). Metrics come later.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use quorum_rpc::messages::{AdminRequest, PeerError};
use serde::{Deserialize, Serialize};

use crate::membership;
use crate::node::Node;

/// Longest a `/readyz` probe waits for the read barrier.
const READYZ_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(2_000);

/// `POST /admin/add-node` body.
#[derive(Debug, Deserialize)]
pub struct AddNode {
    id: u64,
    addr: String,
}

/// `POST /admin/remove-node` body.
#[derive(Debug, Deserialize)]
pub struct RemoveNode {
    id: u64,
}

/// One member in `/admin/status`.
#[derive(Debug, Serialize)]
pub struct Member {
    id: u64,
    addr: String,
    voter: bool,
}

/// `/admin/status` reply.
#[derive(Debug, Serialize)]
pub struct Status {
    id: u64,
    leader_id: Option<u64>,
    term: u64,
    commit_index: u64,
    applied_index: u64,
    last_log_index: u64,
    snapshot_index: u64,
    role: &'static str,
    members: Vec<Member>,
}

/// Serves HTTP on an already-bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    node: Arc<Node>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/admin/status", get(status))
        .route("/admin/add-node", post(add_node))
        .route("/admin/remove-node", post(remove_node))
        .with_state(node);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Ready means this node can serve a linearizable read now: a leader confirmed its leadership
/// with a quorum and this node has applied up to that leader's commit index. A leader remembered
/// from before a restart is not enough.
async fn readyz(State(node): State<Arc<Node>>) -> Response {
    let limit = node.request_timeout().min(READYZ_TIMEOUT);
    match tokio::time::timeout(limit, node.barrier.wait()).await {
        Ok(Ok(point)) => (
            StatusCode::OK,
            format!(
                "ready: leader is node {}, applied through index {}\n",
                node.cluster
                    .leader()
                    .map_or("?".to_string(), |id| id.to_string()),
                point.index
            ),
        )
            .into_response(),
        Ok(Err(e)) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no quorum confirmed the leader in time\n",
        )
            .into_response(),
    }
}

async fn status(State(node): State<Arc<Node>>) -> Json<Status> {
    let committed = node
        .cluster
        .raft
        .with_raft_state(|s| s.committed.map_or(0, |id| id.index))
        .await
        .unwrap_or(0);
    let m = node.cluster.metrics();
    let membership = m.membership_config.membership();
    let members = membership
        .nodes()
        .map(|(id, n)| Member {
            id: *id,
            addr: n.addr.clone(),
            voter: membership.voter_ids().any(|v| v == *id),
        })
        .collect();
    let role = match m.state {
        quorum_raft::openraft::ServerState::Leader => "leader",
        quorum_raft::openraft::ServerState::Follower => "follower",
        quorum_raft::openraft::ServerState::Learner => "learner",
        quorum_raft::openraft::ServerState::Candidate => "candidate",
        quorum_raft::openraft::ServerState::Shutdown => "shutdown",
    };
    Json(Status {
        id: node.cluster.id,
        leader_id: m.current_leader,
        term: m.current_term,
        commit_index: committed,
        applied_index: m.last_applied.map_or(0, |id| id.index),
        last_log_index: m.last_log_index.unwrap_or(0),
        snapshot_index: m.snapshot.map_or(0, |id| id.index),
        role,
        members,
    })
}

fn admin_reply(result: Result<String, PeerError>) -> Response {
    match result {
        Ok(summary) => (
            StatusCode::OK,
            Json(serde_json::json!({ "ok": true, "membership": summary })),
        )
            .into_response(),
        Err(e) => {
            let code = match e {
                PeerError::Refused(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            (
                code,
                Json(serde_json::json!({ "ok": false, "error": e.to_string() })),
            )
                .into_response()
        }
    }
}

async fn add_node(State(node): State<Arc<Node>>, Json(body): Json<AddNode>) -> Response {
    admin_reply(
        membership::change(
            &node,
            AdminRequest::AddNode {
                id: body.id,
                addr: body.addr,
            },
        )
        .await,
    )
}

async fn remove_node(State(node): State<Arc<Node>>, Json(body): Json<RemoveNode>) -> Response {
    admin_reply(membership::change(&node, AdminRequest::RemoveNode { id: body.id }).await)
}
