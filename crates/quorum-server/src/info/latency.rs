//! [`LatencyHistogram`]: one command's latency distribution for `INFO latencystats`, recorded
//! with relaxed atomics so connections never take a lock to record a call.
//!
//! The layout is HdrHistogram's (log-linear buckets: every power of two split into
//! [`SUB_BUCKETS`] equal parts, so a value is known to within 1/32 of itself), but each bucket
//! is an `AtomicU64`: the `hdrhistogram` crate (in Cargo.lock through `quorum-bench`) records
//! through `&mut self`, which would put a lock on every command. Not here: which histogram a
//! command uses (`command_stats.rs`).

use std::sync::atomic::{AtomicU64, Ordering};

/// Sub-buckets per power of two: the relative precision of a recorded value (1/32, about 3 %;
/// Redis keeps two significant digits).
const SUB_BUCKETS: u64 = 32;
/// log2 of [`SUB_BUCKETS`].
const SUB_BUCKET_BITS: u32 = 5;
/// Values at or above this many nanoseconds (about 68 s) are recorded as this value: a bound
/// on the bucket count, and no command's latency is meaningfully measured beyond it.
const VALUE_NANOS_MAX: u64 = 1 << 36;
/// Buckets: the first `2 * SUB_BUCKETS` values exactly, then `SUB_BUCKETS` per power of two up
/// to [`VALUE_NANOS_MAX`]. 8 KiB per histogram.
const BUCKETS: usize = (2 * SUB_BUCKETS + (36 - SUB_BUCKET_BITS as u64 - 1) * SUB_BUCKETS) as usize;

/// A latency histogram in nanoseconds; Redis reports its percentiles in microseconds.
pub struct LatencyHistogram {
    counts: Box<[AtomicU64]>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl LatencyHistogram {
    /// Records one value.
    pub fn record(&self, nanos: u64) {
        self.counts[bucket_of(nanos)].fetch_add(1, Ordering::Relaxed);
    }

    /// Forgets every recorded value (CONFIG RESETSTAT).
    pub fn reset(&self) {
        for count in self.counts.iter() {
            count.store(0, Ordering::Relaxed);
        }
    }

    /// The highest value (in nanoseconds) of the bucket holding each percentile, as
    /// HdrHistogram's `value_at_percentile` answers; `None` when nothing was recorded.
    pub fn percentiles(&self, percentiles: &[f64]) -> Option<Vec<u64>> {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        Some(
            percentiles
                .iter()
                .map(|p| {
                    // HdrHistogram's rounding: the count at the percentile, at least one.
                    let wanted = ((p.clamp(0.0, 100.0) / 100.0) * total as f64 + 0.5) as u64;
                    let wanted = wanted.max(1);
                    let mut seen = 0;
                    let bucket = counts
                        .iter()
                        .position(|&c| {
                            seen += c;
                            seen >= wanted
                        })
                        .unwrap_or(BUCKETS - 1);
                    highest_in_bucket(bucket)
                })
                .collect(),
        )
    }
}

/// The bucket of `nanos`.
fn bucket_of(nanos: u64) -> usize {
    let v = nanos.min(VALUE_NANOS_MAX - 1);
    if v < 2 * SUB_BUCKETS {
        return v as usize;
    }
    let exponent = 63 - v.leading_zeros(); // >= SUB_BUCKET_BITS + 1
    let shift = exponent - SUB_BUCKET_BITS;
    let sub = (v >> shift) - SUB_BUCKETS; // 0..SUB_BUCKETS
    let row = u64::from(exponent - SUB_BUCKET_BITS - 1);
    (2 * SUB_BUCKETS + row * SUB_BUCKETS + sub) as usize
}

/// The highest value that falls into `bucket`.
fn highest_in_bucket(bucket: usize) -> u64 {
    let bucket = bucket as u64;
    if bucket < 2 * SUB_BUCKETS {
        return bucket;
    }
    let row = (bucket - 2 * SUB_BUCKETS) / SUB_BUCKETS;
    let sub = (bucket - 2 * SUB_BUCKETS) % SUB_BUCKETS;
    let shift = row + 1;
    ((SUB_BUCKETS + sub + 1) << shift) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_whose_range_holds_it() {
        let mut previous_high = None;
        for bucket in 0..BUCKETS {
            let high = highest_in_bucket(bucket);
            assert_eq!(bucket_of(high), bucket, "bucket {bucket}");
            if let Some(previous) = previous_high {
                assert_eq!(bucket_of(previous + 1), bucket, "bucket {bucket} starts");
            }
            previous_high = Some(high);
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(highest_in_bucket(BUCKETS - 1), VALUE_NANOS_MAX - 1);
    }

    #[test]
    fn precision_is_one_thirty_second_of_the_value() {
        for v in [100_u64, 1_000, 12_345, 1_000_000, 987_654_321] {
            let high = highest_in_bucket(bucket_of(v));
            assert!(
                high >= v && (high - v) as f64 <= v as f64 / 32.0,
                "{v} -> {high}"
            );
        }
    }

    #[test]
    fn percentiles_follow_hdrhistogram() {
        let h = LatencyHistogram::default();
        assert_eq!(h.percentiles(&[50.0]), None);
        for v in 1..=100 {
            h.record(v * 1000);
        }
        let p = h.percentiles(&[0.0, 50.0, 99.0, 100.0]).unwrap();
        let near = |got: u64, want: u64| got >= want && got - want <= want / 32;
        assert!(near(p[0], 1000), "{p:?}");
        assert!(near(p[1], 50_000), "{p:?}");
        assert!(near(p[2], 99_000), "{p:?}");
        assert!(near(p[3], 100_000), "{p:?}");
        h.reset();
        assert_eq!(h.percentiles(&[50.0]), None);
    }
}
