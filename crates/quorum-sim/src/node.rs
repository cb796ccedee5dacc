//! One simulated quorum node: the real `run_node_with_seams` inside a turmoil host, with the
//! simulation's clock, seeded randomness, the power-loss file system for its log, and a
//! handle on its Raft metrics for the invariant checks.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorum_raft::RaftMetrics;
use quorum_server::seams::{Clock, Entropy, Seams};
use quorum_server::{NodeConfig, RaftTuning};
use quorum_storage::PowerLossFileSystem;
use quorum_types::{Limits, NodeId};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tokio::sync::watch;

/// RESP port of every simulated node.
pub const CLIENT_PORT: u16 = 6379;
/// Peer gRPC port of every simulated node.
pub const PEER_PORT: u16 = 7000;
/// The wall clock of the simulation starts here (2026-01-01T00:00:00Z).
const EPOCH_UNIX_MS: u64 = 1_767_225_600_000;

/// The turmoil host name of node `id`.
pub fn host_name(id: NodeId) -> String {
    format!("n{id}")
}

/// What the driver knows about one node's current incarnation.
#[derive(Default)]
pub struct NodeSlot {
    /// The log's file system of the running incarnation: its power is cut before a crash.
    pub file_system: Option<Arc<PowerLossFileSystem>>,
    /// Raft metrics of the running incarnation, once Raft started.
    pub metrics: Option<watch::Receiver<RaftMetrics>>,
    /// Starts so far (1 = first boot).
    pub incarnation: u32,
    /// A bit of the node's log was flipped while it was down, and no incarnation has started
    /// Raft since: an error from the next start is the node refusing its damaged log.
    pub flip_pending: bool,
    /// The error with which the node refused to start after the flip (set by its host, taken
    /// by the driver).
    pub refused: Option<String>,
}

/// Shared between the driver and the node's host closure.
pub type SharedSlot = Arc<Mutex<NodeSlot>>;

/// The configuration of node `id` of a `nodes`-node simulated cluster.
pub fn node_config(id: NodeId, nodes: u64, data_dir: PathBuf) -> NodeConfig {
    let any = |port| std::net::SocketAddr::from(([0, 0, 0, 0], port));
    NodeConfig {
        id,
        data_dir,
        listen: any(CLIENT_PORT),
        peer_listen: any(PEER_PORT),
        // Not served under simulation (see `quorum_server::run_node_with_seams`).
        http_listen: any(8080),
        initial_cluster: (1..=nodes)
            .map(|n| (n, format!("{}:{PEER_PORT}", host_name(n))))
            .collect(),
        limits: Limits::default(),
        raft: RaftTuning {
            // Snapshots every few dozen entries, so that taking, installing and purging them
            // races with everything else.
            snapshot_logs_since_last: 64,
            logs_to_keep_after_snapshot: 16,
            ..RaftTuning::default()
        },
        request_timeout_ms: 2_000,
        emulate_power_loss: true,
        databases: 16,
        maxmemory_bytes: 0,
    }
}

/// The seams of one incarnation of node `id`; registers the incarnation in `slot`.
pub fn incarnation_seams(id: NodeId, seed: u64, slot: &SharedSlot) -> Seams {
    let file_system = Arc::new(PowerLossFileSystem::new());
    let incarnation = {
        let mut slot = slot.lock().expect("node slot");
        slot.incarnation += 1;
        slot.file_system = Some(file_system.clone());
        slot.metrics = None;
        slot.incarnation
    };
    let observer_slot = slot.clone();
    Seams {
        clock: Arc::new(SimClock),
        entropy: Arc::new(SimEntropy(Mutex::new(StdRng::seed_from_u64(
            seed ^ (id << 32) ^ u64::from(incarnation),
        )))),
        log_file_system: Some(file_system),
        log_host: Some(Arc::new(crate::log_thread::ThreadLogHost {
            name: host_name(id),
        })),
        raft_observer: Some(Arc::new(move |raft: &quorum_raft::Raft| {
            observer_slot.lock().expect("node slot").metrics = Some(raft.metrics());
        })),
    }
}

/// The simulation's wall clock: its epoch plus simulated time elapsed.
struct SimClock;

impl Clock for SimClock {
    fn now_unix_ms(&self) -> u64 {
        let elapsed = turmoil::sim_elapsed().unwrap_or(Duration::ZERO);
        EPOCH_UNIX_MS + u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Seeded randomness, drawn in the (deterministic) order the node asks for it.
struct SimEntropy(Mutex<StdRng>);

impl Entropy for SimEntropy {
    fn next_u64(&self) -> u64 {
        self.0.lock().expect("entropy").next_u64()
    }
}
