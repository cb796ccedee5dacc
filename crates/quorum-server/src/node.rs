//! [`Node`]: the shared context every connection and background task of one node works with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quorum_raft::SharedStateMachine;

use crate::bootstrap::Incarnations;
use crate::clients::ClientRegistry;
use crate::cluster::ClusterView;
use crate::config::NodeConfig;
use crate::proposer::Proposer;
use crate::read_barrier::ReadBarrier;
use crate::seams::Seams;

/// Counters for INFO stats.
#[derive(Default)]
pub struct Stats {
    /// Commands executed (all kinds).
    pub commands_processed: AtomicU64,
    /// Writes proposed to Raft.
    pub writes_proposed: AtomicU64,
    /// Reads served after a linearizable read barrier.
    pub reads_linearizable: AtomicU64,
    /// Reads served from local state (READONLY).
    pub reads_local: AtomicU64,
    /// Error replies sent.
    pub error_replies: AtomicU64,
    /// Protocol errors (connections closed).
    pub protocol_errors: AtomicU64,
}

impl Stats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One node's shared context.
pub struct Node {
    /// The node's configuration.
    pub config: NodeConfig,
    /// Raft group view and peer clients.
    pub cluster: Arc<ClusterView>,
    /// The replicated state machine (read side).
    pub state: SharedStateMachine,
    /// Batched write path.
    pub proposer: Proposer,
    /// Batched linearizable read path.
    pub barrier: ReadBarrier,
    /// Connected clients.
    pub clients: ClientRegistry,
    /// Clients parked on blocking commands.
    pub blocked: crate::blocking::BlockedClients,
    /// Counters.
    pub stats: Stats,
    /// Clock and randomness.
    pub seams: Seams,
    /// When the node started (tokio's clock, so a simulator controls it: the vote quiet
    /// period is measured from here).
    pub started: tokio::time::Instant,
    /// This node's incarnation and its peers' (`bootstrap.rs`).
    pub incarnations: Arc<Incarnations>,
}

impl Node {
    /// The bound on any client-visible wait.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.config.request_timeout_ms)
    }

    /// The time used to decide whether a key has expired for a read on this node: the later of
    /// the local wall clock and the state machine's (leader-stamped) clock, so a read never sees
    /// a key that a write at the same moment would already treat as expired.
    /// `sm_clock_ms` is read by the caller under the same state-machine lock it reads data with,
    /// so one read takes the lock once.
    pub fn read_now_ms(&self, sm_clock_ms: u64) -> u64 {
        self.seams.clock.now_unix_ms().max(sm_clock_ms)
    }
}
