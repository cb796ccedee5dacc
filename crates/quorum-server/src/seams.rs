//! The seams through which a node touches the outside world's time and randomness, so that a
//! deterministic simulation can substitute its own.
//!
//! Other seams live where the resource is used: the peer network is built in
//! `quorum_rpc::connect`, the disk is `quorum_storage` (raft-engine's `FileSystem` and the
//! snapshot store). Timers and sleeps use `tokio::time`, which simulators already control.
//! Raft time (openraft's timers, the read lease, the vote quiet period) runs on
//! `quorum_raft::runtime`'s monotonic clock, `tokio::time` at `--clock-rate` (rate skew for
//! `quorum chaos`), and openraft's randomness can be seeded per thread there.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// The seams one node runs with.
#[derive(Clone)]
pub struct Seams {
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub entropy: Arc<dyn Entropy>,
}

impl Default for Seams {
    fn default() -> Self {
        Seams {
            clock: Arc::new(SystemClock),
            entropy: Arc::new(SystemEntropy),
        }
    }
}
