//! [`Traffic`]: client network counters and the sliding windows behind INFO's
//! `instantaneous_*` rates and `client_recent_max_*_buffer`.
//!
//! The window is a ring of [`TICKS`] buckets of [`TICK_MS`] each, claimed by whichever
//! connection first touches a bucket in a new tick: no background task and no lock, at the
//! price of a few counts lost when two connections claim the same bucket at once (these are
//! gauges for dashboards, not accounting). Not here: per-command counters (`command_stats.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Width of one bucket of the window (Redis samples its rates every 100 ms too).
const TICK_MS: u64 = 100;
/// Buckets in the ring: 8 s, the span of Redis's "recent" client buffer peaks.
const TICKS: usize = 80;
/// Complete buckets the rates average over: 1.6 s, as Redis's 16 samples of 100 ms.
const RATE_TICKS: u64 = 16;

/// One tick's counts.
#[derive(Default)]
struct Bucket {
    /// Which tick the counts belong to (ticks since [`Traffic`] started, plus one; 0 = never).
    tick: AtomicU64,
    commands: AtomicU64,
    input_bytes: AtomicU64,
    output_bytes: AtomicU64,
    input_buffer_max: AtomicU64,
    output_buffer_max: AtomicU64,
}

/// Client traffic of one node.
pub struct Traffic {
    started: Instant,
    ring: Box<[Bucket]>,
    net_input_bytes: AtomicU64,
    net_output_bytes: AtomicU64,
    reads_processed: AtomicU64,
    writes_processed: AtomicU64,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            started: Instant::now(),
            ring: (0..TICKS).map(|_| Bucket::default()).collect(),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            reads_processed: AtomicU64::new(0),
            writes_processed: AtomicU64::new(0),
        }
    }
}

/// What INFO shows of the window.
pub struct Rates {
    /// Commands per second over the last 1.6 s.
    pub ops_per_sec: u64,
    /// KiB per second read from clients.
    pub input_kbps: f64,
    /// KiB per second written to clients.
    pub output_kbps: f64,
    /// Largest unparsed input a connection held in the last 8 s.
    pub input_buffer_max: u64,
    /// Largest reply batch a connection wrote in the last 8 s.
    pub output_buffer_max: u64,
}

impl Traffic {
    /// Counts one socket read of `bytes`, after which the connection holds `buffered` bytes
    /// not yet executed.
    pub fn note_read(&self, bytes: usize, buffered: usize) {
        self.net_input_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        self.reads_processed.fetch_add(1, Ordering::Relaxed);
        let bucket = self.bucket_now();
        bucket
            .input_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        bucket
            .input_buffer_max
            .fetch_max(buffered as u64, Ordering::Relaxed);
    }

    /// Counts one socket write of `bytes`.
    pub fn note_write(&self, bytes: usize) {
        self.net_output_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        self.writes_processed.fetch_add(1, Ordering::Relaxed);
        let bucket = self.bucket_now();
        bucket
            .output_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        bucket
            .output_buffer_max
            .fetch_max(bytes as u64, Ordering::Relaxed);
    }

    /// Counts `commands` executed.
    pub fn note_commands(&self, commands: usize) {
        self.bucket_now()
            .commands
            .fetch_add(commands as u64, Ordering::Relaxed);
    }

    /// Totals since start or the last reset: input bytes, output bytes, reads, writes.
    pub fn totals(&self) -> [u64; 4] {
        [
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.reads_processed,
            &self.writes_processed,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }

    /// The window's rates and peaks as of now.
    pub fn rates(&self) -> Rates {
        let now = self.tick_now();
        let mut rates = Rates {
            ops_per_sec: 0,
            input_kbps: 0.0,
            output_kbps: 0.0,
            input_buffer_max: 0,
            output_buffer_max: 0,
        };
        let (mut commands, mut input, mut output) = (0, 0, 0);
        for bucket in self.ring.iter() {
            let tick = bucket.tick.load(Ordering::Relaxed);
            if tick == 0 || tick > now || now - tick >= TICKS as u64 {
                continue;
            }
            rates.input_buffer_max = rates
                .input_buffer_max
                .max(bucket.input_buffer_max.load(Ordering::Relaxed));
            rates.output_buffer_max = rates
                .output_buffer_max
                .max(bucket.output_buffer_max.load(Ordering::Relaxed));
            // Complete ticks only: the current one is still filling.
            if tick < now && now - tick <= RATE_TICKS {
                commands += bucket.commands.load(Ordering::Relaxed);
                input += bucket.input_bytes.load(Ordering::Relaxed);
                output += bucket.output_bytes.load(Ordering::Relaxed);
            }
        }
        let seconds = (RATE_TICKS * TICK_MS) as f64 / 1000.0;
        rates.ops_per_sec = (commands as f64 / seconds) as u64;
        rates.input_kbps = input as f64 / 1024.0 / seconds;
        rates.output_kbps = output as f64 / 1024.0 / seconds;
        rates
    }

    /// Forgets the totals and the window (CONFIG RESETSTAT).
    pub fn reset(&self) {
        for counter in [
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.reads_processed,
            &self.writes_processed,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        for bucket in self.ring.iter() {
            bucket.tick.store(0, Ordering::Relaxed);
        }
    }

    fn tick_now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 / TICK_MS + 1
    }

    /// The current tick's bucket, cleared first when it still holds an older tick's counts.
    fn bucket_now(&self) -> &Bucket {
        let tick = self.tick_now();
        let bucket = &self.ring[(tick % TICKS as u64) as usize];
        let seen = bucket.tick.load(Ordering::Relaxed);
        if seen != tick
            && bucket
                .tick
                .compare_exchange(seen, tick, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            for counter in [
                &bucket.commands,
                &bucket.input_bytes,
                &bucket.output_bytes,
                &bucket.input_buffer_max,
                &bucket.output_buffer_max,
            ] {
                counter.store(0, Ordering::Relaxed);
            }
        }
        bucket
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_peaks_count_and_reset() {
        let traffic = Traffic::default();
        traffic.note_read(100, 40);
        traffic.note_read(10, 5);
        traffic.note_write(70);
        traffic.note_commands(3);
        assert_eq!(traffic.totals(), [110, 70, 2, 1]);
        let rates = traffic.rates();
        assert_eq!(rates.input_buffer_max, 40);
        assert_eq!(rates.output_buffer_max, 70);
        traffic.reset();
        assert_eq!(traffic.totals(), [0; 4]);
        assert_eq!(traffic.rates().input_buffer_max, 0);
    }
}
