//! [`NodeConfig`]: everything one node needs to start, already validated by the binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use quorum_types::{Limits, NodeId};
use serde::{Deserialize, Serialize};

/// The configuration of one node. The binary builds it from flags, `QUORUM_*` environment
/// variables and an optional TOML file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeConfig {
    /// This node's id; unique in the cluster and stable across restarts.
    pub id: NodeId,
    /// Where the Raft log, vote and snapshots live.
    pub data_dir: PathBuf,
    /// RESP address for clients.
    pub listen: SocketAddr,
    /// gRPC address for other nodes.
    pub peer_listen: SocketAddr,
    /// HTTP address for `/healthz`, `/readyz` and the admin API.
    pub http_listen: SocketAddr,
    /// The founding members (id and peer address). A node whose id is listed bootstraps the
    /// cluster with exactly these voters on first start; a node not listed (or with an empty
    /// list) waits to be added with `quorum cluster add-node`.
    pub initial_cluster: Vec<(NodeId, String)>,
    /// Limits on client input and resources.
    pub limits: Limits,
    /// Raft timing and log compaction.
    pub raft: RaftTuning,
    /// How long a client request may wait for the cluster (leader election, quorum) before it
    /// fails with `-TRYAGAIN`/`-CLUSTERDOWN`. Bounds every client-visible wait.
    pub request_timeout_ms: u64,
}

/// Raft timing and log-compaction settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RaftTuning {
    /// Leader heartbeat period.
    pub heartbeat_interval_ms: u64,
    /// Lower bound of the randomized election timeout.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomized election timeout.
    pub election_timeout_max_ms: u64,
    /// Take a snapshot once this many log entries were applied since the last one.
    pub snapshot_logs_since_last: u64,
    /// Log entries kept behind a snapshot so slightly-lagging followers need no snapshot.
    pub logs_to_keep_after_snapshot: u64,
}

impl Default for RaftTuning {
    fn default() -> Self {
        RaftTuning {
            heartbeat_interval_ms: 100,
            election_timeout_min_ms: 300,
            election_timeout_max_ms: 600,
            snapshot_logs_since_last: 100_000,
            logs_to_keep_after_snapshot: 10_000,
        }
    }
}
