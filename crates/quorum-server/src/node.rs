//! [`Node`]: the shared context every connection and background task of one node works with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use quorum_raft::SharedStateMachine;
use quorum_resp::{Frame, Protocol, Request};

use crate::bootstrap::Incarnations;
use crate::clients::ClientRegistry;
use crate::cluster::ClusterView;
use crate::config::NodeConfig;
use crate::info::{CommandStats, Tally, Traffic};
use crate::proposer::Proposer;
use crate::read_barrier::ReadBarrier;
use crate::seams::Seams;
use crate::server_commands::Settings;

/// Counters for INFO, and the CONFIG SET values INFO and counting read. Built with `Default`
/// when the node starts; CONFIG RESETSTAT zeroes the counters ([`Stats::reset`]).
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
    /// Protocol errors (connections closed).
    pub protocol_errors: AtomicU64,
    /// Per-command calls, times, outcomes and latencies; errors by code.
    pub commands: CommandStats,
    /// Client network bytes and the rate windows.
    pub traffic: Traffic,
    /// The largest `used_memory` INFO has seen since start or the last reset.
    pub used_memory_peak_bytes: AtomicU64,
    /// INFO's `run_id`: 40 hex digits drawn once from the node's entropy seam.
    pub run_id: OnceLock<String>,
    /// CONFIG SET's values on this node. They live here, next to the counters they tune,
    /// because `Stats` is the node's one `Default`-built home for per-node state of INFO
    /// and CONFIG.
    pub settings: Settings,
}

impl Stats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes a pipeline's requests before they run; see [`Stats::count_replies`].
    pub fn begin(&self, requests: &[Request]) -> Tally {
        self.commands.begin(requests)
    }

    /// Counts a pipeline's replies: per-command stats, error codes and the ops/sec window.
    pub fn count_replies(&self, tally: Tally, frames: &[(Frame, Protocol)]) {
        self.traffic.note_commands(frames.len());
        self.commands.finish(tally, frames);
    }

    /// CONFIG RESETSTAT: zeroes every counter INFO shows, as Redis's `resetServerStats`
    /// (the peak memory restarts from the next INFO).
    pub fn reset(&self, clients: &ClientRegistry) {
        for counter in [
            &self.commands_processed,
            &self.writes_proposed,
            &self.reads_linearizable,
            &self.reads_local,
            &self.protocol_errors,
            &self.used_memory_peak_bytes,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.commands.reset();
        self.traffic.reset();
        clients.reset_stats();
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
