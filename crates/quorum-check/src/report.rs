//! What a check concludes: the anomalies found, each with the operations that prove it, and
//! the counts and staleness figures a report draws.
//!
//! This module only describes results; the checks themselves live in the workload modules.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::history::OpId;

/// The result of [`crate::check`] on one history.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckReport {
    /// Every anomaly found, grouped by key in key order.
    pub anomalies: Vec<Anomaly>,
    /// Operation counts and checker cost.
    pub stats: CheckStats,
    /// How stale `READONLY` reads were and whether each session read monotonically.
    pub readonly: ReadOnlyStats,
    /// Acknowledged APPENDs and INCRs missing from the final state, counted (the anomalies
    /// list only the first few).
    #[serde(default)]
    pub lost: crate::LostWrites,
    /// The queue workload's pushes, pops and elements lost, doubled or phantom, counted.
    #[serde(default)]
    pub queue: QueueStats,
    /// True when no anomaly was found (`anomalies.is_empty()`).
    pub valid: bool,
}

/// One violation of the consistency the history promised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    /// What kind of violation.
    pub class: AnomalyClass,
    /// The key it was found on (empty for history-wide problems).
    pub key: String,
    /// A sentence a person can check against the listed operations.
    pub explanation: String,
    /// The operations that, together, prove the anomaly.
    pub ops: Vec<OpId>,
}

/// The kinds of anomaly the checkers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyClass {
    /// An acknowledged write is missing from later state.
    LostWrite,
    /// A linearizable read missed a write acknowledged before the read was invoked.
    StaleRead,
    /// No total order of the operations agrees with real time and the sequential model.
    NotLinearizable,
    /// One operation took effect more than once.
    DuplicateApply,
    /// A read saw a value nobody wrote, or a write before it was invoked.
    PhantomWrite,
    /// A `READONLY` session read a key going back in time.
    NonMonotonicRead,
    /// A counter read disagrees with the INCRs that could have taken effect.
    CounterMismatch,
    /// The history itself breaks the format's rules (mixed workloads on a key, bad times...).
    MalformedHistory,
    /// The linearizability search gave up before deciding; the key is neither proven valid
    /// nor invalid.
    SearchLimitExceeded,
    /// A read saw a write's value (or a time to live) after that write's TTL had run out.
    ReadAfterExpiry,
    /// A read missed a write whose TTL had not run out yet (the key expired early).
    ExpiredEarly,
    /// A pop from a queue's head returned an element while one pushed to the tail before it
    /// was still ahead of it.
    FifoViolation,
}

impl AnomalyClass {
    /// The snake_case name used in JSON reports.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyClass::LostWrite => "lost_write",
            AnomalyClass::StaleRead => "stale_read",
            AnomalyClass::NotLinearizable => "not_linearizable",
            AnomalyClass::DuplicateApply => "duplicate_apply",
            AnomalyClass::PhantomWrite => "phantom_write",
            AnomalyClass::NonMonotonicRead => "non_monotonic_read",
            AnomalyClass::CounterMismatch => "counter_mismatch",
            AnomalyClass::MalformedHistory => "malformed_history",
            AnomalyClass::SearchLimitExceeded => "search_limit_exceeded",
            AnomalyClass::ReadAfterExpiry => "read_after_expiry",
            AnomalyClass::ExpiredEarly => "expired_early",
            AnomalyClass::FifoViolation => "fifo_violation",
        }
    }
}

impl fmt::Display for AnomalyClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many operations ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// Acknowledged.
    pub ok: u64,
    /// Certainly not applied.
    pub failed: u64,
    /// Maybe applied.
    pub unknown: u64,
}

impl OutcomeCounts {
    /// All operations counted.
    pub fn total(&self) -> u64 {
        self.ok + self.failed + self.unknown
    }
}

/// The workload a key belongs to, decided by the calls made on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// GET / SET / SET GET: a read-write register.
    Register,
    /// APPEND + GET.
    ListAppend,
    /// INCR + GET.
    Counter,
    /// SET PX + GET / PTTL: values with a time to live.
    Expiry,
    /// Only GETs: nothing was written, so every read must be nil (checked as a register).
    Unwritten,
    /// RPUSH/LPUSH, pops, LMOVE, LREM and the final LRANGE: a queue or a processing list.
    Queue,
    /// Calls of several workloads on one key: reported as malformed, not checked further.
    Mixed,
}

impl Workload {
    /// The snake_case name used in JSON reports and stats maps.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::ListAppend => "list_append",
            Workload::Counter => "counter",
            Workload::Expiry => "expiry",
            Workload::Unwritten => "unwritten",
            Workload::Queue => "queue",
            Workload::Mixed => "mixed",
        }
    }
}

/// Counts and cost of a check.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckStats {
    /// Outcomes per call kind (`get`, `set`, `swap`, `append`, `incr`).
    pub by_call: BTreeMap<String, OutcomeCounts>,
    /// Outcomes per workload (`register`, `list_append`, `counter`, ...).
    pub by_workload: BTreeMap<String, OutcomeCounts>,
    /// Distinct keys checked.
    pub keys_checked: u64,
    /// Keys per workload.
    pub keys_by_workload: BTreeMap<String, u64>,
    /// States the register search visited, summed over keys (a measure of how hard it was).
    pub search_steps: u64,
    /// Wall time spent in [`crate::check`], in microseconds.
    pub elapsed_us: u64,
}

/// What the queue workload did and what the checker found, counted over every queue (the
/// anomalies list only the first few of each kind).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Queues (keys pushed to, popped from or read at the end).
    pub queues: u64,
    /// Acknowledged pushes.
    pub pushes_acknowledged: u64,
    /// Pushes whose outcome is unknown.
    pub pushes_unknown: u64,
    /// Acknowledged pops and moves that returned an element.
    pub pops_acknowledged: u64,
    /// Acknowledged pops and moves that found nothing (a blocking one: before its timeout).
    pub pops_empty: u64,
    /// Pops whose outcome is unknown: each may have taken one element nobody saw.
    pub pops_unknown: u64,
    /// Moves whose outcome is unknown.
    pub moves_unknown: u64,
    /// Acknowledged LREMs that removed an element from a processing list.
    pub removes_acknowledged: u64,
    /// Elements in the lists at the final reads.
    pub remaining: u64,
    /// Acknowledged elements neither delivered nor remaining, an unknown LREM aside.
    pub missing: u64,
    /// Of those, the ones no unknown pop can explain: lost for certain.
    pub lost: u64,
    /// Elements seen more often than they were pushed.
    pub doubled: u64,
    /// Elements seen that no push that could have taken effect wrote.
    pub phantoms: u64,
    /// Queues with no acknowledged final read, so not judged for losses.
    pub queues_without_final_read: u64,
}

/// Staleness of `READONLY` reads and monotonicity of each session.
///
/// "Versions behind" counts acknowledged writes of the key that completed before the read was
/// invoked and are newer than the value read; "milliseconds behind" is the time from the
/// completion of the first such write (the oldest write the read missed) to the read's
/// invocation. Both are zero for a read that missed nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReadOnlyStats {
    /// Acknowledged `READONLY` reads measured.
    pub reads: u64,
    /// Reads that missed at least one acknowledged write.
    pub stale_reads: u64,
    /// The largest number of versions a read was behind.
    pub max_versions_behind: u64,
    /// The 99th percentile of versions behind.
    pub p99_versions_behind: u64,
    /// The largest lag in milliseconds.
    pub max_ms_behind: f64,
    /// The 99th percentile lag in milliseconds.
    pub p99_ms_behind: f64,
    /// One entry per client that read with `READONLY`.
    pub sessions: Vec<SessionMonotonicity>,
}

/// Whether one `READONLY` client's reads of every key went forward only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMonotonicity {
    /// The logical client.
    pub client: u32,
    /// Acknowledged `READONLY` reads it made.
    pub reads: u64,
    /// False when any of its reads of a key returned an older state than an earlier read.
    pub monotonic: bool,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on key {:?}: {}",
            self.class, self.key, self.explanation
        )?;
        if !self.ops.is_empty() {
            let ids: Vec<String> = self.ops.iter().map(|id| id.to_string()).collect();
            write!(f, " (ops {})", ids.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.valid { "VALID" } else { "INVALID" };
        writeln!(
            f,
            "{verdict}: {} anomalies, {} keys checked in {:.1} ms",
            self.anomalies.len(),
            self.stats.keys_checked,
            self.stats.elapsed_us as f64 / 1000.0
        )?;
        for anomaly in &self.anomalies {
            writeln!(f, "  - {anomaly}")?;
        }
        for (workload, counts) in &self.stats.by_workload {
            writeln!(
                f,
                "  {workload}: {} ok, {} failed, {} unknown",
                counts.ok, counts.failed, counts.unknown
            )?;
        }
        let q = &self.queue;
        if q.queues > 0 {
            writeln!(
                f,
                "  queues: {} pushes acknowledged ({} unknown), {} pops acknowledged ({} empty, {} \
                 unknown, {} unknown moves), {} removed from processing lists, {} remain; {} \
                 missing, {} lost beyond the unknown pops, {} doubled, {} phantom",
                q.pushes_acknowledged,
                q.pushes_unknown,
                q.pops_acknowledged,
                q.pops_empty,
                q.pops_unknown,
                q.moves_unknown,
                q.removes_acknowledged,
                q.remaining,
                q.missing,
                q.lost,
                q.doubled,
                q.phantoms
            )?;
        }
        let ro = &self.readonly;
        if ro.reads > 0 {
            let monotonic = ro.sessions.iter().filter(|s| s.monotonic).count();
            writeln!(
                f,
                "  READONLY: {} reads, {} stale; behind at most {} versions (p99 {}), \
                 {:.3} ms (p99 {:.3}); {monotonic}/{} sessions monotonic",
                ro.reads,
                ro.stale_reads,
                ro.max_versions_behind,
                ro.p99_versions_behind,
                ro.max_ms_behind,
                ro.p99_ms_behind,
                ro.sessions.len()
            )?;
        }
        Ok(())
    }
}

impl CheckReport {
    /// The report as readable text: the verdict, then one line per anomaly.
    pub fn explain(&self) -> String {
        self.to_string()
    }
}
