//! [`QuorumRuntime`]: quorum's openraft `AsyncRuntime`, openraft's `TokioRuntime` with two
//! process-wide hooks, and the clock API the rest of the node measures Raft time with.
//!
//! - **Deterministic randomness.** openraft draws its election timeouts from
//!   `RT::thread_rng()`. [`ThreadLocalRng`] draws from a seeded `StdRng` installed in the
//!   current thread by [`seed_thread_rng`] (a deterministic simulator runs every node on one
//!   thread and installs one), otherwise from `rand::thread_rng()`.
//! - **Clock rate skew.** [`set_clock_rate`] (once, at startup: `quorum node --clock-rate F`)
//!   makes this node's monotonic clock run `rate` times as fast as the real one: a
//!   [`QuorumInstant`] advances `rate` times as fast as the real monotonic clock from the moment
//!   the rate was set, and `sleep(d)` / `timeout(d)` wait `d / rate` of real time. Everything
//!   that measures Raft time must use this clock, or the node would disagree with itself:
//!   openraft (through this runtime), the read lease (`quorum-server`'s `read_barrier.rs`) and
//!   the vote quiet period (`quorum-server`'s `lib.rs` and `peer_handler.rs`) do.
//!
//! At rate 1.0 (the default) every call is the `tokio::time` call it wraps plus one relaxed
//! atomic load. Timers stay tokio timers, so tokio's paused time and simulators that drive
//! tokio's clock keep working.

use std::cell::RefCell;
use std::future::Future;
use std::ops::{Add, AddAssign, RangeInclusive, Sub, SubAssign};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use openraft::{AsyncRuntime, OptionalSend, TokioRuntime};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// The clock rates `--clock-rate` accepts. The read lease leaves 10 % of the election timeout
/// for drift between nodes (`RaftTuning::read_lease_duration`); rates outside about ±5 % can
/// break it and are only for showing that the chaos harness notices (with the default
/// timings, `election_timeout_max = 2 × election_timeout_min`, the lease breaks only beyond
/// a rate ratio of about 2.2 between the leader and its followers).
pub const CLOCK_RATES: RangeInclusive<f64> = 0.1..=10.0;

/// `f64::to_bits(1.0)`.
const RATE_ONE_BITS: u64 = 0x3FF0_0000_0000_0000;

/// The clock rate as `f64` bits.
static CLOCK_RATE: AtomicU64 = AtomicU64::new(RATE_ONE_BITS);

/// The real instant at which the skewed clock and the real clock agree.
static CLOCK_BASE: OnceLock<tokio::time::Instant> = OnceLock::new();

/// Sets how fast this node's monotonic clock runs relative to the real one (1.0 = real time,
/// 1.1 = 10 % fast). Call it once, at startup, before any Raft timer exists: instants taken
/// before the call are on a different time line. Errors when `rate` is outside
/// [`CLOCK_RATES`].
pub fn set_clock_rate(rate: f64) -> Result<(), String> {
    if !CLOCK_RATES.contains(&rate) {
        return Err(format!(
            "clock rate {rate} is outside {}..={}",
            CLOCK_RATES.start(),
            CLOCK_RATES.end()
        ));
    }
    base();
    CLOCK_RATE.store(rate.to_bits(), Ordering::Release);
    Ok(())
}

/// This node's clock rate (1.0 unless [`set_clock_rate`] said otherwise).
pub fn clock_rate() -> f64 {
    f64::from_bits(CLOCK_RATE.load(Ordering::Relaxed))
}

/// The rate, or `None` at 1.0 (the path that must cost nothing).
#[inline]
fn skew() -> Option<f64> {
    let bits = CLOCK_RATE.load(Ordering::Relaxed);
    (bits != RATE_ONE_BITS).then(|| f64::from_bits(bits))
}

fn base() -> tokio::time::Instant {
    *CLOCK_BASE.get_or_init(tokio::time::Instant::now)
}

/// `d * factor`, saturating instead of panicking.
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// Far enough to mean "never" without overflowing `Instant` (tokio uses ~30 years too).
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

fn add_saturating(at: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(FAR))
        .unwrap_or(at)
}

/// The reading of a clock running at `rate` that agrees with the real clock at `base`, when
/// the real clock reads `real`.
fn real_to_skewed(
    base: tokio::time::Instant,
    real: tokio::time::Instant,
    rate: f64,
) -> tokio::time::Instant {
    if real >= base {
        add_saturating(base, scale(real - base, rate))
    } else {
        base.checked_sub(scale(base - real, rate)).unwrap_or(real)
    }
}

/// Inverse of [`real_to_skewed`]: the real instant at which the skewed clock reads `skewed`.
fn skewed_to_real(
    base: tokio::time::Instant,
    skewed: tokio::time::Instant,
    rate: f64,
) -> tokio::time::Instant {
    if skewed >= base {
        add_saturating(base, scale(skewed - base, 1.0 / rate))
    } else {
        base.checked_sub(scale(base - skewed, 1.0 / rate))
            .unwrap_or(skewed)
    }
}

/// How much this node's clock advances while `real` passes (the identity at rate 1.0).
pub fn local_duration(real: Duration) -> Duration {
    match skew() {
        None => real,
        Some(rate) => scale(real, rate),
    }
}

/// How much real time passes while this node's clock advances by `local`.
pub fn real_duration(local: Duration) -> Duration {
    match skew() {
        None => local,
        Some(rate) => scale(local, 1.0 / rate),
    }
}

/// A reading of this node's monotonic clock (see the module docs). At rate 1.0 it is
/// `tokio::time::Instant::now()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuorumInstant(tokio::time::Instant);

impl QuorumInstant {
    /// Now, on this node's clock.
    #[inline]
    pub fn now() -> Self {
        let real = tokio::time::Instant::now();
        match skew() {
            None => QuorumInstant(real),
            Some(rate) => QuorumInstant(real_to_skewed(base(), real, rate)),
        }
    }

    /// The real (tokio) instant at which this node's clock reads `self`; for APIs that take a
    /// tokio deadline.
    #[inline]
    pub fn to_tokio(self) -> tokio::time::Instant {
        match skew() {
            None => self.0,
            Some(rate) => skewed_to_real(base(), self.0, rate),
        }
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: QuorumInstant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time on this node's clock since `self`.
    pub fn elapsed(self) -> Duration {
        QuorumInstant::now().saturating_duration_since(self)
    }
}

impl openraft::Instant for QuorumInstant {
    #[inline]
    fn now() -> Self {
        QuorumInstant::now()
    }
}

impl Add<Duration> for QuorumInstant {
    type Output = QuorumInstant;
    fn add(self, rhs: Duration) -> QuorumInstant {
        QuorumInstant(self.0 + rhs)
    }
}

impl AddAssign<Duration> for QuorumInstant {
    fn add_assign(&mut self, rhs: Duration) {
        self.0 += rhs;
    }
}

impl Sub<Duration> for QuorumInstant {
    type Output = QuorumInstant;
    fn sub(self, rhs: Duration) -> QuorumInstant {
        QuorumInstant(self.0 - rhs)
    }
}

impl SubAssign<Duration> for QuorumInstant {
    fn sub_assign(&mut self, rhs: Duration) {
        self.0 -= rhs;
    }
}

impl Sub<QuorumInstant> for QuorumInstant {
    type Output = Duration;
    fn sub(self, rhs: QuorumInstant) -> Duration {
        self.0.saturating_duration_since(rhs.0)
    }
}

/// Waits until `duration` has passed on this node's clock.
#[inline]
pub fn sleep(duration: Duration) -> tokio::time::Sleep {
    tokio::time::sleep(real_duration(duration))
}

/// Waits until this node's clock reads `deadline`.
#[inline]
pub fn sleep_until(deadline: QuorumInstant) -> tokio::time::Sleep {
    tokio::time::sleep_until(deadline.to_tokio())
}

/// Runs `future` until it completes or `duration` has passed on this node's clock.
#[inline]
pub fn timeout<F: Future>(duration: Duration, future: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(real_duration(duration), future)
}

/// Runs `future` until it completes or this node's clock reads `deadline`.
#[inline]
pub fn timeout_at<F: Future>(deadline: QuorumInstant, future: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout_at(deadline.to_tokio(), future)
}

thread_local! {
    static SEEDED_RNG: RefCell<Option<StdRng>> = const { RefCell::new(None) };
}

/// Makes [`ThreadLocalRng`] on this thread draw from a `StdRng` seeded with `seed` (replacing
/// any earlier one), so that openraft's election timeouts repeat from run to run.
pub fn seed_thread_rng(seed: u64) {
    SEEDED_RNG.with(|rng| *rng.borrow_mut() = Some(StdRng::seed_from_u64(seed)));
}

/// Removes the seeded generator of this thread: back to `rand::thread_rng()`.
pub fn unseed_thread_rng() {
    SEEDED_RNG.with(|rng| *rng.borrow_mut() = None);
}

/// openraft's random source: this thread's seeded generator if [`seed_thread_rng`] installed
/// one, otherwise `rand::thread_rng()`. The choice is made at every draw.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadLocalRng;

impl ThreadLocalRng {
    fn draw<T>(f: impl FnOnce(&mut dyn RngCore) -> T) -> T {
        SEEDED_RNG.with(|seeded| match seeded.borrow_mut().as_mut() {
            Some(rng) => f(rng),
            None => f(&mut rand::thread_rng()),
        })
    }
}

impl RngCore for ThreadLocalRng {
    fn next_u32(&mut self) -> u32 {
        Self::draw(|rng| rng.next_u32())
    }

    fn next_u64(&mut self) -> u64 {
        Self::draw(|rng| rng.next_u64())
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        Self::draw(|rng| rng.fill_bytes(dest))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        Self::draw(|rng| rng.try_fill_bytes(dest))
    }
}

/// quorum's openraft runtime: [`TokioRuntime`] on this node's clock, with [`ThreadLocalRng`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QuorumRuntime;

impl AsyncRuntime for QuorumRuntime {
    type JoinError = <TokioRuntime as AsyncRuntime>::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = <TokioRuntime as AsyncRuntime>::JoinHandle<T>;
    type Sleep = tokio::time::Sleep;
    type Instant = QuorumInstant;
    type TimeoutError = tokio::time::error::Elapsed;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = tokio::time::Timeout<T>;
    type ThreadLocalRng = ThreadLocalRng;
    type OneshotSender<T: OptionalSend> = <TokioRuntime as AsyncRuntime>::OneshotSender<T>;
    type OneshotReceiverError = <TokioRuntime as AsyncRuntime>::OneshotReceiverError;
    type OneshotReceiver<T: OptionalSend> = <TokioRuntime as AsyncRuntime>::OneshotReceiver<T>;

    #[inline]
    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        TokioRuntime::spawn(future)
    }

    #[inline]
    fn sleep(duration: Duration) -> Self::Sleep {
        sleep(duration)
    }

    #[inline]
    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        sleep_until(deadline)
    }

    #[inline]
    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        timeout(duration, future)
    }

    #[inline]
    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        timeout_at(deadline, future)
    }

    #[inline]
    fn is_panic(join_error: &Self::JoinError) -> bool {
        TokioRuntime::is_panic(join_error)
    }

    #[inline]
    fn thread_rng() -> Self::ThreadLocalRng {
        ThreadLocalRng
    }

    #[inline]
    fn oneshot<T>() -> (Self::OneshotSender<T>, Self::OneshotReceiver<T>)
    where
        T: OptionalSend,
    {
        TokioRuntime::oneshot()
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    fn draws(n: usize) -> Vec<u64> {
        let mut rng = QuorumRuntime::thread_rng();
        (0..n).map(|_| rng.gen_range(150..300)).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        seed_thread_rng(7);
        let first = draws(32);
        seed_thread_rng(7);
        let second = draws(32);
        seed_thread_rng(8);
        let other = draws(32);
        unseed_thread_rng();
        assert_eq!(first, second);
        assert_ne!(first, other);
        // The seed is per thread: another thread draws from its own unseeded generator.
        seed_thread_rng(7);
        let elsewhere = std::thread::spawn(|| draws(32)).join().unwrap();
        unseed_thread_rng();
        assert_ne!(first, elsewhere);
    }

    #[test]
    fn a_skewed_clock_runs_rate_times_as_fast_and_converts_back() {
        let base = tokio::time::Instant::now();
        let later = base + Duration::from_millis(1_000);
        for rate in [0.1, 0.5, 0.95, 1.0, 1.05, 2.0, 10.0] {
            let skewed = real_to_skewed(base, later, rate);
            let advanced = (skewed - base).as_secs_f64();
            assert!((advanced - rate).abs() < 1e-6, "rate {rate}: {advanced}");
            let back = skewed_to_real(base, skewed, rate);
            let error = back.max(later) - back.min(later);
            assert!(error < Duration::from_micros(1), "rate {rate}: {error:?}");
            // Instants before the base map the same way.
            let earlier = base - Duration::from_millis(10);
            let back = skewed_to_real(base, real_to_skewed(base, earlier, rate), rate);
            assert!(back.max(earlier) - back.min(earlier) < Duration::from_micros(1));
        }
    }

    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        assert_eq!(scale(Duration::MAX, 2.0), Duration::MAX);
        let base = tokio::time::Instant::now();
        let far = add_saturating(base, Duration::MAX);
        assert!(far > base);
        let _ = skewed_to_real(base, far, 0.5);
    }

    #[test]
    fn rate_one_is_the_tokio_clock() {
        // No test in this crate sets a rate: the default is the identity.
        assert_eq!(clock_rate(), 1.0);
        assert_eq!(
            local_duration(Duration::from_millis(3)),
            Duration::from_millis(3)
        );
        let before = tokio::time::Instant::now();
        let now = QuorumInstant::now();
        assert!(now.to_tokio() >= before);
        assert!(now.to_tokio() <= tokio::time::Instant::now());
        assert!(set_clock_rate(11.0).is_err());
        assert!(set_clock_rate(0.05).is_err());
        assert!(set_clock_rate(f64::NAN).is_err());
    }
}
