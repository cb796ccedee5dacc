//! The seams through which a node touches the outside world's time and randomness, so that a
//! deterministic simulation can substitute its own.
//!
//! Other seams live where the resource is used: the network is `quorum_rpc::net` (peer
//! channels, the peer server and the client listener), blocking disk work is
//! `quorum_raft::blocking`, the log's file system is raft-engine's `FileSystem`
//! ([`Seams::log_file_system`]). Timers and sleeps use `tokio::time`, which simulators already
//! control. `quorum-sim` runs whole nodes under turmoil through these seams.
//! Raft time (openraft's timers, the read lease, the vote quiet period) runs on
//! `quorum_raft::runtime`'s monotonic clock, `tokio::time` at `--clock-rate` (rate skew for
//! `quorum chaos`), and openraft's randomness can be seeded per thread there.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use quorum_storage::{MultiGroupLog, PowerLossFileSystem, StorageError};

/// Wall-clock time, read only where the result is written into the Raft log by the leader (or
/// used for a local read's expiry check), never during apply.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> u64;
}

/// The operating system's clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// Sources of randomness a node uses outside the state machine (proposer ids, RANDOMKEY seeds).
pub trait Entropy: Send + Sync + 'static {
    /// A random 64-bit value.
    fn next_u64(&self) -> u64;
}

/// The operating system's randomness.
#[derive(Debug, Default)]
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn next_u64(&self) -> u64 {
        rand::random()
    }
}

/// Called once with a node's Raft handle when it has started (a simulator watches its
/// metrics to check Raft's invariants after every step).
pub type RaftObserver = Arc<dyn Fn(&quorum_raft::Raft) + Send + Sync>;

/// Opens a node's Raft log and decides where its calls run. raft-engine keeps a block cache
/// per thread (keyed by file, offset and length, not by engine), which is right for one engine
/// per process; a simulator running several nodes on one thread gives each node's engine a
/// thread of its own through this.
pub trait LogHost: Send + Sync {
    /// Runs `open` where the engine will live and returns the engine to use.
    fn open(&self, open: LogOpener) -> Result<Arc<dyn MultiGroupLog>, StorageError>;
}

/// What [`LogHost::open`] runs.
pub type LogOpener =
    Box<dyn FnOnce() -> Result<Arc<dyn MultiGroupLog>, StorageError> + Send + 'static>;

/// The seams one node runs with.
#[derive(Clone)]
pub struct Seams {
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub entropy: Arc<dyn Entropy>,
    /// The Raft log's file system when the caller wants a hand on it: a simulator keeps the
    /// [`PowerLossFileSystem`] to cut its power right before it crashes the node. `None`: the
    /// real disk, or a fresh `PowerLossFileSystem` with `NodeConfig::emulate_power_loss`.
    pub log_file_system: Option<Arc<PowerLossFileSystem>>,
    /// See [`RaftObserver`].
    pub raft_observer: Option<RaftObserver>,
    /// See [`LogHost`]. `None`: the engine is opened on tokio's blocking pool and called from
    /// the async threads.
    pub log_host: Option<Arc<dyn LogHost>>,
}

impl Default for Seams {
    fn default() -> Self {
        Seams {
            clock: Arc::new(SystemClock),
            entropy: Arc::new(SystemEntropy),
            log_file_system: None,
            raft_observer: None,
            log_host: None,
        }
    }
}
