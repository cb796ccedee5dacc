//! Which operation comes next and on which key: a seeded generator shared by every protocol.
//!
//! Keys are `key:NNNNNN` (queues `queue:NNNNNN`), zero-padded to a fixed width so every request
//! of a run has the same size and the encoders can write them without allocating.

use crate::args::Workload;

/// One operation of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Set,
    Get,
    Incr,
    /// `LPUSH` then `BRPOP` on one queue.
    Task,
}

/// A small, fast, seeded random generator (SplitMix64): the same seed gives the same
/// operations on every platform and crate version.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` (`bound > 0`), without modulo bias worth measuring.
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The fixed-width decimal form of key indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFormat {
    /// Digits per key index: at least 6, more when `--keys` needs them.
    pub width: usize,
}

/// Longest key index, in digits (`KEYS_MAX` has 11 digits, its largest index 10).
pub const KEY_DIGITS_MAX: usize = 20;

impl KeyFormat {
    /// The format for a key space of `keys` keys.
    pub fn for_keys(keys: u64) -> KeyFormat {
        let largest = keys.saturating_sub(1);
        let digits = largest.checked_ilog10().map_or(1, |d| d as usize + 1);
        KeyFormat {
            width: digits.max(6),
        }
    }

    /// Writes `index` zero-padded into `out[..self.width]` and returns that slice.
    pub fn digits<'a>(&self, mut index: u64, out: &'a mut [u8; KEY_DIGITS_MAX]) -> &'a [u8] {
        let digits = &mut out[..self.width];
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (index % 10) as u8;
            index /= 10;
        }
        digits
    }

    /// The full key (`key:000042`), allocated: for protocols whose clients take owned keys.
    pub fn key(&self, prefix: &str, index: u64) -> String {
        format!("{prefix}{index:0width$}", width = self.width)
    }
}

/// The per-client stream of operations.
#[derive(Debug, Clone)]
pub struct OpStream {
    workload: Workload,
    read_ratio: f64,
    keys: u64,
    rng: SplitMix64,
}

impl OpStream {
    /// The operations of client `client` in a run with seed `seed`: every client gets its own
    /// reproducible sequence.
    pub fn new(
        workload: Workload,
        read_ratio: Option<f64>,
        keys: u64,
        seed: u64,
        client: usize,
    ) -> OpStream {
        let mut mix = SplitMix64::new(seed ^ (client as u64).wrapping_mul(0xA076_1D64_78BD_642F));
        mix.next_u64();
        OpStream {
            workload,
            read_ratio: read_ratio.unwrap_or(0.0),
            keys,
            rng: mix,
        }
    }

    /// The next operation and its key index.
    pub fn next_op(&mut self) -> (OpKind, u64) {
        let kind = match self.workload {
            Workload::Set => OpKind::Set,
            Workload::Get => OpKind::Get,
            Workload::Incr => OpKind::Incr,
            Workload::Task => OpKind::Task,
            Workload::Mixed => {
                if self.rng.unit() < self.read_ratio {
                    OpKind::Get
                } else {
                    OpKind::Set
                }
            }
        };
        (kind, self.rng.below(self.keys))
    }
}

/// The value written by every write: `value_size` bytes of `x`.
pub fn value_bytes(value_size: usize) -> Vec<u8> {
    vec![b'x'; value_size]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_zero_padded_to_a_width_that_fits_the_key_space() {
        let mut buf = [0u8; KEY_DIGITS_MAX];
        let six = KeyFormat::for_keys(100_000);
        assert_eq!(six.digits(42, &mut buf), b"000042");
        assert_eq!(KeyFormat::for_keys(1).width, 6);
        assert_eq!(KeyFormat::for_keys(1_000_000).width, 6);
        let seven = KeyFormat::for_keys(1_000_001);
        assert_eq!(seven.digits(1_000_000, &mut buf), b"1000000");
        assert_eq!(seven.key("key:", 5), "key:0000005");
        let largest = KeyFormat::for_keys(crate::args::KEYS_MAX);
        assert!(largest.width <= KEY_DIGITS_MAX);
    }

    #[test]
    fn keys_stay_in_range_and_cover_it() {
        let mut ops = OpStream::new(Workload::Set, None, 10, 7, 0);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            let (kind, key) = ops.next_op();
            assert_eq!(kind, OpKind::Set);
            seen[key as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
    }

    #[test]
    fn mixed_follows_the_read_ratio() {
        let mut ops = OpStream::new(Workload::Mixed, Some(0.9), 100, 1, 3);
        let reads = (0..10_000)
            .filter(|_| ops.next_op().0 == OpKind::Get)
            .count();
        assert!((8_800..9_200).contains(&reads), "{reads}");
    }

    #[test]
    fn the_same_seed_and_client_give_the_same_operations() {
        let take = |seed, client| {
            let mut ops = OpStream::new(Workload::Mixed, Some(0.5), 1000, seed, client);
            (0..100).map(|_| ops.next_op()).collect::<Vec<_>>()
        };
        assert_eq!(take(1, 0), take(1, 0));
        assert_ne!(take(1, 0), take(1, 1));
        assert_ne!(take(1, 0), take(2, 0));
    }
}
