//! What a run measured: per-client tallies (latency histogram, acknowledged replies, errors by
//! kind) and the run-wide longest gap between acknowledged replies.
//!
//! Each client owns one [`Tally`] behind a mutex that it locks once per batch of replies; the
//! progress line and the final report merge them. Latencies are microseconds in an
//! auto-resizing HdrHistogram with 3 significant digits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Most distinct error kinds kept per client; further kinds are counted as `other`.
pub const ERROR_KINDS_MAX: usize = 64;
/// Significant digits of the latency histogram.
const LATENCY_SIGNIFICANT_DIGITS: u8 = 3;

/// Error kind of a connection that failed (refused, reset, closed, bad bytes).
pub const ERROR_IO: &str = "io";
/// Error kind of a wait that exceeded `--timeout-ms`.
pub const ERROR_TIMEOUT: &str = "timeout";
/// Error kind of a reply that is not RESP.
pub const ERROR_PROTOCOL: &str = "protocol";
/// Error kind of a BRPOP that came back empty.
pub const ERROR_NIL: &str = "nil";

/// What one client (or the whole run, after merging) measured.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency of acknowledged operations, µs.
    pub latency_us: Histogram<u64>,
    /// Operations acknowledged (a non-error reply).
    pub ok: u64,
    /// Acknowledged operations whose reply was nil (a GET miss).
    pub nil: u64,
    /// Failed operations by kind: the first word of the error reply, or `io`, `timeout`...
    pub errors: BTreeMap<String, u64>,
    /// Open loop: how late requests were sent after their intended time, µs.
    pub send_lag_us: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally::new()
    }
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Tally {
        Tally {
            latency_us: new_histogram(),
            ok: 0,
            nil: 0,
            errors: BTreeMap::new(),
            send_lag_us: new_histogram(),
        }
    }

    /// Counts one acknowledged operation that took `latency`.
    pub fn record_ok(&mut self, latency: Duration) {
        self.ok += 1;
        record_micros(&mut self.latency_us, latency);
    }

    /// Counts `count` failed operations of `kind`. Allocates only the first time a kind is seen.
    pub fn record_error(&mut self, kind: &str, count: u64) {
        if count == 0 {
            return;
        }
        if let Some(n) = self.errors.get_mut(kind) {
            *n += count;
        } else if self.errors.len() < ERROR_KINDS_MAX {
            self.errors.insert(kind.to_owned(), count);
        } else {
            *self.errors.entry("other".to_owned()).or_default() += count;
        }
    }

    /// Counts a failed operation whose kind is the first word of an error reply.
    pub fn record_error_reply(&mut self, first_word: &[u8]) {
        let kind = std::str::from_utf8(first_word).unwrap_or("non-utf8");
        self.record_error(if kind.is_empty() { "empty" } else { kind }, 1);
    }

    /// Open loop: records that a request went out `lag` after its intended time.
    pub fn record_send_lag(&mut self, lag: Duration) {
        record_micros(&mut self.send_lag_us, lag);
    }

    /// Failed operations of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Adds `other` into this tally.
    pub fn merge(&mut self, other: &Tally) {
        self.ok += other.ok;
        self.nil += other.nil;
        for (kind, count) in &other.errors {
            self.record_error(kind, *count);
        }
        // Both histograms auto-resize, so adding cannot fail on range.
        let _ = self.latency_us.add(&other.latency_us);
        let _ = self.send_lag_us.add(&other.send_lag_us);
    }
}

fn new_histogram() -> Histogram<u64> {
    // `new` auto-resizes: memory grows with the largest latency seen, not with a fixed bound.
    Histogram::new(LATENCY_SIGNIFICANT_DIGITS).expect("3 significant digits is a valid precision")
}

/// Records `duration` in µs, growing the histogram as needed. (`saturating_record` would clamp
/// to the current range instead of growing it.)
fn record_micros(histogram: &mut Histogram<u64>, duration: Duration) {
    let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
    if histogram.record(micros).is_err() {
        // Only a value beyond what a usize-indexed histogram can hold: keep the largest.
        histogram.saturating_record(micros);
    }
}

/// The longest interval with no acknowledged reply from any client, measured from the first
/// acknowledged reply: what a failover costs a client.
#[derive(Debug)]
pub struct GapTracker {
    origin: Instant,
    /// Nanoseconds after `origin` (+1, so 0 means "none yet") of the latest acknowledged reply.
    last_ns: AtomicU64,
    max_gap_ns: AtomicU64,
}

impl GapTracker {
    /// A tracker measuring from `origin` (the start of measurement).
    pub fn new(origin: Instant) -> GapTracker {
        GapTracker {
            origin,
            last_ns: AtomicU64::new(0),
            max_gap_ns: AtomicU64::new(0),
        }
    }

    /// Notes that a reply was acknowledged at `at`.
    pub fn acknowledged(&self, at: Instant) {
        let now_ns = self.ns_since_origin(at) + 1;
        let previous = self.last_ns.fetch_max(now_ns, Ordering::Relaxed);
        if previous != 0 && now_ns > previous {
            self.max_gap_ns
                .fetch_max(now_ns - previous, Ordering::Relaxed);
        }
    }

    /// The longest gap, counting the time from the last acknowledged reply to `end`; the whole
    /// span from `origin` to `end` when nothing was acknowledged.
    pub fn max_gap(&self, end: Instant) -> Duration {
        let end_ns = self.ns_since_origin(end) + 1;
        let last = self.last_ns.load(Ordering::Relaxed);
        if last == 0 {
            return Duration::from_nanos(end_ns - 1);
        }
        let tail = end_ns.saturating_sub(last);
        Duration::from_nanos(self.max_gap_ns.load(Ordering::Relaxed).max(tail))
    }

    fn ns_since_origin(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX - 1)
    }
}

/// What a client task records into: its own tally and the run's gap tracker.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub tally: Arc<Mutex<Tally>>,
    pub gaps: Arc<GapTracker>,
}

/// Merges every client's tally into one.
pub fn merge_all(tallies: &[Arc<Mutex<Tally>>]) -> Tally {
    let mut total = Tally::new();
    for tally in tallies {
        total.merge(&tally.lock());
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let mut tally = Tally::new();
        for us in 1..=1000u64 {
            tally.record_ok(Duration::from_micros(us));
        }
        let h = &tally.latency_us;
        assert_eq!(tally.ok, 1000);
        assert_eq!(h.value_at_quantile(0.5), 500);
        assert_eq!(h.value_at_quantile(0.99), 990);
        assert_eq!(h.max(), 1000);
        assert!((h.mean() - 500.5).abs() < 1.0);
    }

    #[test]
    fn merging_adds_counts_histograms_and_error_kinds() {
        let mut a = Tally::new();
        a.record_ok(Duration::from_micros(100));
        a.record_error("ERR", 2);
        let mut b = Tally::new();
        b.record_ok(Duration::from_millis(20));
        b.record_error_reply(b"CLUSTERDOWN");
        b.record_error("ERR", 1);
        a.merge(&b);
        assert_eq!(a.ok, 2);
        assert_eq!(a.latency_us.len(), 2);
        assert!(a.latency_us.max() >= 19_990);
        assert_eq!(a.errors.get("ERR"), Some(&3));
        assert_eq!(a.errors.get("CLUSTERDOWN"), Some(&1));
        assert_eq!(a.error_count(), 4);
    }

    #[test]
    fn error_kinds_are_capped() {
        let mut tally = Tally::new();
        for i in 0..ERROR_KINDS_MAX + 10 {
            tally.record_error(&format!("K{i}"), 1);
        }
        assert_eq!(tally.errors.len(), ERROR_KINDS_MAX + 1);
        assert_eq!(tally.errors.get("other"), Some(&10));
    }

    #[test]
    fn the_gap_is_the_longest_silence_between_acknowledgements() {
        let origin = Instant::now();
        let gaps = GapTracker::new(origin);
        let at = |ms| origin + Duration::from_millis(ms);
        // Nothing acknowledged: the whole run is one gap.
        assert_eq!(gaps.max_gap(at(500)), Duration::from_millis(500));
        gaps.acknowledged(at(100));
        gaps.acknowledged(at(110));
        gaps.acknowledged(at(900)); // 790 ms of silence
        gaps.acknowledged(at(905));
        gaps.acknowledged(at(300)); // late report from another client: not a gap
        assert_eq!(gaps.max_gap(at(1000)), Duration::from_millis(790));
        // A silence at the end counts too.
        assert_eq!(gaps.max_gap(at(2000)), Duration::from_millis(1095));
    }
}
