//! Histories of client operations and the checkers that judge them.
//!
//! [`history`] is the format recorders write. [`check`] reads a [`History`] and reports
//! anomalies, each with the operations that prove it. Keys are checked independently
//! (linearizability is compositional), each by the checker of its workload:
//! registers by a linearizability search, list-append and counters by direct rules that need no
//! search, and `READONLY` reads for staleness and per-session monotonicity. The queue workload's
//! keys are the exception: its elements move from queues to processing lists, so its keys are
//! checked together, by counting each element's copies.
//!
//! | workload (calls on the key) | what is checked | anomalies |
//! |---|---|---|
//! | register (GET, SET, SET GET) | phantom and future values, lost updates (two swaps replacing one write), stale reads, then a linearizability search with unknown outcomes at +infinity | `phantom_write`, `lost_write`, `stale_read`, `not_linearizable`, `search_limit_exceeded` |
//! | list-append (APPEND, GET) | reads are prefixes of one order, tokens unique, sent, not from the future, acknowledged appends present, APPEND lengths agree | `not_linearizable`, `duplicate_apply`, `phantom_write`, `stale_read`, `lost_write` |
//! | counter (INCR, GET) | INCR values distinct and within bounds, reads between acknowledged and possible counts, no going back in real time | `lost_write`, `duplicate_apply`, `counter_mismatch`, `stale_read`, `phantom_write` |
//! | expiry (SET PX, GET, PTTL) | no value or TTL outlives its write's deadline, no key vanishes before it, reads not older than a completed write, no phantom values (see [`expiry`](crate::expiry) for the rules and the tolerance) | `read_after_expiry`, `expired_early`, `stale_read`, `phantom_write` |
//! | queue (RPUSH/LPUSH, LPOP/RPOP/BLPOP/BRPOP, LMOVE/BLMOVE + LREM, final LRANGE) | every acknowledged element delivered or still queued exactly once, none from nowhere, losses counted beyond what unknown pops explain, empty non-blocking pops, FIFO per producer (see [`queue`](crate::queue)); checked across keys, as elements move to processing lists | `lost_write`, `duplicate_apply`, `phantom_write`, `stale_read`, `fifo_violation` |
//! | `READONLY` GETs (any workload) | staleness measured ([`ReadOnlyStats`]), monotonic per client, no phantom values | `non_monotonic_read`, `phantom_write` |
//!
//! The checker judges only what the history shows: it cannot see a write nobody read, and it
//! says nothing about keys of the wrong shape beyond reporting them as malformed
//! (`malformed_history`). Register rules that name an anomaly assume each value is written
//! once (the workloads write unique values); where one is written twice only the search
//! decides.

mod append;
mod counter;
mod describe;
pub mod expiry;
mod fasthash;
mod findings;
pub mod history;
mod linearize;
mod lost;
mod prepare;
mod queue;
mod queue_order;
mod readonly;
mod register;
mod report;
mod suffix;

use std::time::Instant;

pub use history::ListEnd;
pub use history::{Call, Consistency, FaultEvent, History, OpId, Operation, Outcome, Reply};
pub use lost::LostWrites;
pub use report::{
    Anomaly, AnomalyClass, CheckReport, CheckStats, OutcomeCounts, QueueStats, ReadOnlyStats,
    SessionMonotonicity, Workload,
};

use findings::KeyFindings;
use readonly::ReadOnlyCollector;

/// Limits of a check.
///
/// The register search is bounded in steps (a step visits one call or return entry), not in
/// time, so a verdict never depends on the machine's load. A valid key of n operations with
/// ten concurrent clients takes about 60 n steps; a key that is not linearizable can take
/// exponentially many, which is what the limits are for.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Steps every register key may take regardless of its size. Default 1,000,000.
    pub search_steps_min: u64,
    /// Further steps per operation of the key. Default 300 (five times what valid histories
    /// of ten clients were measured to need).
    pub search_steps_per_op: u64,
    /// Steps for the whole check, explanations included; keys reached after it is spent are
    /// reported as [`AnomalyClass::SearchLimitExceeded`] without being searched. Default
    /// 300,000,000 (about 30 s at the ~100 ns per step measured on the project's machines).
    pub search_steps_total_max: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            search_steps_min: 1_000_000,
            search_steps_per_op: 300,
            search_steps_total_max: 300_000_000,
        }
    }
}

/// The search steps a check may still spend.
pub(crate) struct SearchBudget<'o> {
    options: &'o CheckOptions,
    /// Steps spent so far, over all keys.
    pub spent: u64,
}

impl SearchBudget<'_> {
    /// The steps one search over `ops` operations may take now (0 when the total is spent).
    pub fn limit(&self, ops: usize) -> u64 {
        let per_key = self
            .options
            .search_steps_per_op
            .saturating_mul(ops as u64)
            .saturating_add(self.options.search_steps_min);
        per_key.min(
            self.options
                .search_steps_total_max
                .saturating_sub(self.spent),
        )
    }
}

/// Checks every key of `history` with the default limits and reports what it found; never
/// hangs (the register search is bounded and reports [`AnomalyClass::SearchLimitExceeded`]
/// when it gives up).
pub fn check(history: &History) -> CheckReport {
    check_with(history, &CheckOptions::default())
}

/// [`check`] with explicit limits.
pub fn check_with(history: &History, options: &CheckOptions) -> CheckReport {
    let started = Instant::now();
    let mut report = CheckReport::default();
    let prepared = prepare::prepare(history, &mut report.stats);
    report.anomalies = prepared.malformed;
    let mut readonly = ReadOnlyCollector::default();
    let mut budget = SearchBudget { options, spent: 0 };
    // Queue keys are checked together: elements move from a queue to processing lists.
    let mut queue_keys = Vec::new();
    for key in &prepared.keys {
        let mut findings = KeyFindings::new(key.key);
        match key.workload {
            // A key nobody wrote is a register that must read nil throughout.
            Workload::Register | Workload::Unwritten => {
                register::check(key, &mut budget, &mut findings, &mut readonly)
            }
            Workload::ListAppend => append::check(key, &mut findings, &mut readonly),
            Workload::Counter => counter::check(key, &mut findings, &mut readonly),
            Workload::Expiry => expiry::check(key, &mut findings),
            Workload::Queue => queue_keys.push(key),
            Workload::Mixed => {} // reported as malformed by `prepare`
        }
        lost::count(key, &mut report.lost);
        findings.finish(&mut report.anomalies);
    }
    if !queue_keys.is_empty() {
        queue::check(&queue_keys, &mut report.anomalies, &mut report.queue);
    }
    report.readonly = readonly.finish();
    report.stats.search_steps = budget.spent;
    report.stats.elapsed_us = started.elapsed().as_micros() as u64;
    report.valid = report.anomalies.is_empty();
    report
}
