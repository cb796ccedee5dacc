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
    /// Keep un-fsynced log bytes in process memory (`quorum_storage::PowerLossFileSystem`), so
    /// that `kill -9` loses them as a power cut would. For tests and `quorum chaos` only.
    #[serde(default)]
    pub emulate_power_loss: bool,
    /// `--maxmemory`: above this many bytes of data (quorum's accounting, `INFO memory`'s
    /// `used_memory`), commands that may grow memory get `-OOM` (Redis's `noeviction`); 0 = no
    /// limit.
    #[serde(default)]
    pub maxmemory_bytes: u64,
    /// Databases clients may SELECT: `0..databases` (`--databases`, Redis's default 16).
    #[serde(default = "default_databases")]
    pub databases: u32,
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
    /// Serve linearizable reads under a leader lease (one quorum round per lease period)
    /// instead of one quorum round per batch of reads. See `read_barrier.rs` for why it is safe.
    pub lease_reads: bool,
}

impl RaftTuning {
    /// How long after a quorum acknowledged a heartbeat the leader may serve reads without
    /// asking again. Followers refuse to vote for `election_timeout_max` after a heartbeat and
    /// start no election before that plus an election timeout; the lease stays below the
    /// smaller `election_timeout_min` with 10 % left for clock-rate drift between nodes.
    /// Assumes every node runs with the same timings.
    pub fn read_lease_duration(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.election_timeout_min_ms * 9 / 10)
    }

    /// How long one AppendEntries call (and one read-index round) may take before openraft
    /// gives up on it: half the smaller election timeout, and never less than a heartbeat
    /// interval. openraft 0.9 times these calls out after its own `heartbeat_interval`, so
    /// quorum gives openraft this value as that interval and sends the heartbeats itself every
    /// `heartbeat_interval_ms` (`run_node`'s heartbeat task). With openraft's interval equal to
    /// the heartbeat, a round trip longer than one heartbeat (46 ms against 50 ms under test
    /// timings; 100 ms across regions in production) made every call time out and no write
    /// commit at all (`quorum chaos --faults latency` found it). The cost: openraft's timer
    /// ticks every 1.5 times this, so an election starts up to that much after its timeout.
    pub fn rpc_timeout_ms(&self) -> u64 {
        (self.election_timeout_min_ms / 2).max(self.heartbeat_interval_ms)
    }

    /// How long a freshly started node neither votes nor starts an election. A node forgets
    /// the leader's heartbeat (and so its promise not to vote) when it restarts; staying quiet
    /// for longer than any read lease keeps a restarted node from helping elect a new leader
    /// while the old one still serves reads under its lease.
    pub fn vote_quiet_period(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.election_timeout_max_ms)
    }
}

impl Default for RaftTuning {
    fn default() -> Self {
        RaftTuning {
            heartbeat_interval_ms: 100,
            election_timeout_min_ms: 300,
            election_timeout_max_ms: 600,
            snapshot_logs_since_last: 100_000,
            logs_to_keep_after_snapshot: 10_000,
            lease_reads: true,
        }
    }
}

fn default_databases() -> u32 {
    16
}
