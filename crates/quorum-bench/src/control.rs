//! When requests are sent and when the run stops: the run's clock ([`RunControl`]), the
//! open-loop schedule ([`Schedule`]) and the reconnect back-off ([`Backoff`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::args::Plan;

/// The run's clock and stop conditions, shared by every client.
#[derive(Debug)]
pub struct RunControl {
    /// When load started (warmup included).
    pub origin: Instant,
    /// When measuring starts: operations stamped earlier are not counted.
    pub measure_start: Instant,
    /// No new request is sent at or after this.
    pub send_deadline: Instant,
    /// Bound on every wait.
    pub timeout: Duration,
    /// Counted requests not yet handed out (`--requests`).
    requests_left: Option<AtomicU64>,
    stopped: AtomicBool,
}

impl RunControl {
    /// A run starting now.
    pub fn start(plan: &Plan, origin: Instant) -> RunControl {
        let measure_start = origin + plan.warmup;
        RunControl {
            origin,
            measure_start,
            send_deadline: measure_start + Duration::from_secs_f64(plan.stop.duration_s),
            timeout: plan.timeout,
            requests_left: plan.stop.requests.map(AtomicU64::new),
            stopped: AtomicBool::new(false),
        }
    }

    /// Whether new requests must no longer be sent.
    pub fn should_stop(&self, now: Instant) -> bool {
        now >= self.send_deadline || self.stopped.load(Ordering::Relaxed)
    }

    /// Ends the run early (Ctrl-C, or the request budget is spent).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// Whether an operation stamped `at` is measured (not warmup).
    pub fn is_counted(&self, at: Instant) -> bool {
        at >= self.measure_start
    }

    /// Takes up to `want` counted requests from the `--requests` budget and returns how many
    /// were granted (all of them without a budget); 0 means the budget is spent.
    pub fn claim(&self, want: u64) -> u64 {
        let Some(left) = &self.requests_left else {
            return want;
        };
        let taken = left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n > 0).then(|| n.saturating_sub(want))
        });
        match taken {
            Ok(before) => before.min(want),
            Err(_) => {
                self.stop();
                0
            }
        }
    }
}

/// The open-loop schedule of one sender: `senders` senders share `rate` requests per second,
/// each taking every `senders`-th slot of the global schedule, so together they send at an even
/// pace from `origin` on.
#[derive(Debug, Clone)]
pub struct Schedule {
    origin: Instant,
    first_slot: u64,
    stride: u64,
    rate: f64,
    /// Index of this sender's next request.
    next: u64,
}

impl Schedule {
    /// The schedule of sender `sender` out of `senders`.
    pub fn new(origin: Instant, rate: f64, sender: usize, senders: usize) -> Schedule {
        debug_assert!(rate > 0.0 && sender < senders);
        Schedule {
            origin,
            first_slot: sender as u64,
            stride: senders as u64,
            rate,
            next: 0,
        }
    }

    /// When the next request is due. Computed from the origin each time, so rounding never
    /// accumulates into drift.
    pub fn next_due(&self) -> Instant {
        let slot = self.first_slot + self.next * self.stride;
        self.origin + Duration::from_secs_f64(slot as f64 / self.rate)
    }

    /// Moves past the next request.
    pub fn advance(&mut self) {
        self.next += 1;
    }
}

/// Exponential back-off with jitter for reconnecting: 5 ms doubling to 100 ms. Short, so the
/// longest gap measured during a failover is the server's, not the generator's back-off.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    jitter_state: u64,
}

/// First reconnect delay.
const BACKOFF_INITIAL: Duration = Duration::from_millis(5);
/// Longest reconnect delay.
const BACKOFF_MAX: Duration = Duration::from_millis(100);

impl Backoff {
    /// A back-off whose jitter is seeded by `seed` (the client number).
    pub fn new(seed: u64) -> Backoff {
        Backoff {
            next: BACKOFF_INITIAL,
            jitter_state: seed,
        }
    }

    /// The delay before the next attempt: the current step plus up to 50 % jitter.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        let mut rng = crate::workload::SplitMix64::new(self.jitter_state);
        self.jitter_state = rng.next_u64();
        step + step.mul_f64(rng.unit() * 0.5)
    }

    /// Starts over after a success.
    pub fn reset(&mut self) {
        self.next = BACKOFF_INITIAL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_interleave_into_an_even_global_schedule() {
        let origin = Instant::now();
        let rate = 1000.0; // one request per ms in total
        let mut all = Vec::new();
        for sender in 0..4 {
            let mut schedule = Schedule::new(origin, rate, sender, 4);
            for _ in 0..250 {
                all.push(schedule.next_due().duration_since(origin));
                schedule.advance();
            }
        }
        all.sort();
        for (i, due) in all.iter().enumerate() {
            let expected = Duration::from_millis(i as u64);
            let error = due.abs_diff(expected);
            assert!(error < Duration::from_micros(1), "slot {i}: {due:?}");
        }
    }

    #[test]
    fn a_late_schedule_does_not_drift() {
        let origin = Instant::now();
        let mut schedule = Schedule::new(origin, 3.0, 0, 1);
        for _ in 0..3_000_000 {
            schedule.advance();
        }
        let due = schedule.next_due().duration_since(origin);
        assert!(due.abs_diff(Duration::from_secs(1_000_000)) < Duration::from_micros(1));
    }

    #[test]
    fn backoff_doubles_up_to_a_second_with_bounded_jitter() {
        let mut backoff = Backoff::new(3);
        let delays: Vec<_> = (0..10).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= BACKOFF_INITIAL && delays[0] <= BACKOFF_INITIAL.mul_f64(1.5));
        for delay in &delays {
            assert!(*delay <= BACKOFF_MAX.mul_f64(1.5), "{delay:?}");
        }
        assert!(delays[9] >= BACKOFF_MAX);
        backoff.reset();
        assert!(backoff.next_delay() <= BACKOFF_INITIAL.mul_f64(1.5));
    }
}
