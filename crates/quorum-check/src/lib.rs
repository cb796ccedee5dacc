//! Histories of client operations and the checkers that judge them.
//!
//! [`history`] is the format recorders write. [`check`] reads a [`History`] and reports
//! anomalies, each with the operations that prove it. Keys are checked independently
//! (linearizability is compositional), each by the checker of its workload:
//! registers by a linearizability search, list-append and counters by direct rules that need no
//! search, and `READONLY` reads for staleness and per-session monotonicity.
//!
//! The checker judges only what the history shows: it cannot see a write nobody read, and it
//! says nothing about keys of the wrong shape beyond reporting them as malformed.

mod append;
mod counter;
mod describe;
mod fasthash;
mod findings;
pub mod history;
mod linearize;
mod prepare;
mod readonly;
mod register;
mod report;
mod suffix;

use std::time::Instant;

pub use history::{Call, Consistency, FaultEvent, History, OpId, Operation, Outcome, Reply};
pub use report::{
    Anomaly, AnomalyClass, CheckReport, CheckStats, OutcomeCounts, ReadOnlyStats,
    SessionMonotonicity, Workload,
};

use findings::KeyFindings;
use readonly::ReadOnlyCollector;

/// Limits of a check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Steps the linearizability search may take per register key (and per cut while it
    /// explains a failure) before it reports [`AnomalyClass::SearchLimitExceeded`]. A step
    /// visits one call or return; a valid key of n operations typically takes a few n steps.
    /// Default 5,000,000 (well under a second per key); counted in steps, not time, so a
    /// verdict never depends on the machine's load.
    pub search_steps_max: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            search_steps_max: 5_000_000,
        }
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
    let mut steps = 0;
    for key in &prepared.keys {
        let mut findings = KeyFindings::new(key.key);
        match key.workload {
            // A key nobody wrote is a register that must read nil throughout.
            Workload::Register | Workload::ReadOnly => {
                register::check(key, options, &mut findings, &mut readonly, &mut steps)
            }
            Workload::ListAppend => append::check(key, &mut findings, &mut readonly),
            Workload::Counter => counter::check(key, &mut findings, &mut readonly),
            Workload::Mixed => {} // reported as malformed by `prepare`
        }
        findings.finish(&mut report.anomalies);
    }
    report.readonly = readonly.finish();
    report.stats.search_steps = steps;
    report.stats.elapsed_us = started.elapsed().as_micros() as u64;
    report.valid = report.anomalies.is_empty();
    report
}
