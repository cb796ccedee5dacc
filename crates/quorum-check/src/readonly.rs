//! Staleness figures for `READONLY` reads and the monotonicity of each `READONLY` session,
//! gathered across workloads. The workload checkers measure each read (they know what "newer"
//! means for their data type); this module only aggregates.

use std::collections::BTreeMap;

use crate::report::{ReadOnlyStats, SessionMonotonicity};

/// Accumulates per-read samples while keys are checked.
#[derive(Default)]
pub(crate) struct ReadOnlyCollector {
    versions_behind: Vec<u64>,
    ns_behind: Vec<u64>,
    /// client -> (reads, monotonic so far)
    sessions: BTreeMap<u32, (u64, bool)>,
}

impl ReadOnlyCollector {
    /// Records one acknowledged `READONLY` read that missed `versions` acknowledged writes, the
    /// first of which completed `ns_behind` before the read was invoked.
    pub fn sample(&mut self, client: u32, versions: u64, ns_behind: u64) {
        self.versions_behind.push(versions);
        self.ns_behind.push(ns_behind);
        self.sessions.entry(client).or_insert((0, true)).0 += 1;
    }

    /// Marks `client`'s session as having gone back in time.
    pub fn non_monotonic(&mut self, client: u32) {
        self.sessions.entry(client).or_insert((0, true)).1 = false;
    }

    pub fn finish(mut self) -> ReadOnlyStats {
        let stale_reads = self.versions_behind.iter().filter(|&&v| v > 0).count() as u64;
        ReadOnlyStats {
            reads: self.versions_behind.len() as u64,
            stale_reads,
            max_versions_behind: self.versions_behind.iter().copied().max().unwrap_or(0),
            p99_versions_behind: p99(&mut self.versions_behind),
            max_ms_behind: self.ns_behind.iter().copied().max().unwrap_or(0) as f64 / 1e6,
            p99_ms_behind: p99(&mut self.ns_behind) as f64 / 1e6,
            sessions: self
                .sessions
                .into_iter()
                .map(|(client, (reads, monotonic))| SessionMonotonicity {
                    client,
                    reads,
                    monotonic,
                })
                .collect(),
        }
    }
}

/// The nearest-rank 99th percentile (0 for no samples).
fn p99(samples: &mut [u64]) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    samples.sort_unstable();
    let rank = (samples.len() * 99).div_ceil(100).max(1);
    samples[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_and_sessions() {
        let mut collector = ReadOnlyCollector::default();
        for i in 0..100 {
            collector.sample(1, i, i * 1_000_000);
        }
        collector.sample(2, 0, 0);
        collector.non_monotonic(2);
        let stats = collector.finish();
        assert_eq!(stats.reads, 101);
        assert_eq!(stats.max_versions_behind, 99);
        assert_eq!(stats.p99_versions_behind, 98);
        assert_eq!(stats.max_ms_behind, 99.0);
        assert_eq!(stats.sessions.len(), 2);
        assert!(stats.sessions[0].monotonic && !stats.sessions[1].monotonic);
    }
}
