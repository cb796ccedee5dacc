//! The run's shared clock, operation ids and live counters.
//!
//! Every client stamps its operations with the same `Instant` origin, so the history's
//! real-time order is comparable across clients. Ids are drawn together with the invocation
//! time under one lock, which keeps "sorted by id" and "sorted by invocation" the same order,
//! as the history format requires. Operations themselves stay in each client's own buffer and
//! are merged at the end: nothing is shared on the hot path but two counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quorum_check::{Call, Consistency, OpId, Operation, Outcome};

/// Shared by every client and the fault injector of one run.
#[derive(Debug)]
pub struct Recorder {
    origin: Instant,
    next_id: Mutex<OpId>,
    /// Acknowledged operations so far.
    pub ok: AtomicU64,
    /// Operations that certainly had no effect.
    pub failed: AtomicU64,
    /// Operations whose effect is unknown.
    pub unknown: AtomicU64,
}

impl Recorder {
    /// A recorder whose time zero is now.
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder {
            origin: Instant::now(),
            next_id: Mutex::new(0),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
        })
    }

    /// Nanoseconds since the run started.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Starts an operation: assigns its id and invocation time.
    pub fn invoke(
        &self,
        client: u32,
        node: u32,
        key: &str,
        call: Call,
        consistency: Consistency,
    ) -> Operation {
        // The lock spans the clock read so ids and invocation times sort the same way.
        let mut next = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
        let id = *next;
        *next += 1;
        let invoke_ns = self.now_ns();
        drop(next);
        Operation {
            id,
            client,
            node,
            key: key.to_string(),
            call,
            consistency,
            invoke_ns,
            complete_ns: None,
            outcome: Outcome::Unknown {
                error: "not completed".into(),
            },
        }
    }

    /// Finishes an operation with its outcome and counts it.
    pub fn complete(&self, op: &mut Operation, outcome: Outcome) {
        op.complete_ns = Some(self.now_ns());
        let counter = match outcome {
            Outcome::Ok { .. } => &self.ok,
            Outcome::Failed { .. } => &self.failed,
            Outcome::Unknown { .. } => &self.unknown,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        op.outcome = outcome;
    }

    /// (ok, failed, unknown) so far.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.unknown.load(Ordering::Relaxed),
        )
    }
}
