//! [`DeterministicRng`]: the random choices of a write (SPOP, SRANDMEMBER, HRANDFIELD, ...),
//! drawn from a seed the leader chose and logged, so every replica draws the same.
//!
//! SplitMix64: tiny, fast, and good enough to pick elements; nothing here needs a
//! cryptographic generator. Not here: where seeds come from (the server's entropy seam).

/// A seeded generator; the same seed gives the same sequence on every replica.
#[derive(Debug, Clone)]
pub struct DeterministicRng {
    state: u64,
}

impl DeterministicRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        DeterministicRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`), without modulo bias worth caring about for
    /// collection sizes far below 2^64.
    pub fn below(&mut self, bound: usize) -> usize {
        debug_assert!(bound > 0);
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::DeterministicRng;

    #[test]
    fn same_seed_same_sequence_and_bounded() {
        let mut a = DeterministicRng::new(7);
        let mut b = DeterministicRng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
            assert!(a.below(3) < 3);
            b.below(3);
        }
        assert_ne!(
            DeterministicRng::new(1).next_u64(),
            DeterministicRng::new(2).next_u64()
        );
    }
}
