//! The HyperLogLog value itself, byte for byte as Redis 7.0 stores it (`hyperloglog.c`), so
//! a value copied from Redis (GET there, SET here) counts the same, and PFADD here produces
//! the bytes PFADD produces there.
//!
//! Layout: a 16-byte header (`HYLL`, encoding byte 0 = dense / 1 = sparse, three unused
//! bytes, the cached cardinality as 8 little-endian bytes whose top bit set means "stale"),
//! then 16384 registers of 6 bits: dense, 12288 bytes with register `i` at bit `6 * i`
//! (least significant bits first); or sparse, run-length opcodes (`sparse.rs`). An element
//! is hashed with MurmurHash64A (seed `0xadc83b19`): 14 bits pick the register, the run of
//! zeros after them is the value.
//!
//! This file: the header, hashing, dense registers, merging and the estimator (Ertl's, as
//! `hllCount` with `hllTau` / `hllSigma`, in Redis's order of floating-point operations).
//! The code follows Redis's functions one for one because the bytes are observable; where
//! Redis would read past the end of a corrupted value (its strings end in an implicit zero
//! byte), this reads a zero instead.
//!
//! Not here: the sparse opcodes (`sparse.rs`), the commands (`mod.rs`), any I/O.

use super::sparse;

/// Header bytes before the registers.
pub(crate) const HEADER_BYTES: usize = 16;
/// Number of registers (`HLL_REGISTERS`, 2^14).
pub(crate) const REGISTERS: usize = 1 << P;
/// Length of a dense value: header plus 16384 six-bit registers.
pub(crate) const DENSE_BYTES: usize = HEADER_BYTES + REGISTERS * 6 / 8;

/// Bits of the hash that pick the register (`HLL_P`).
const P: u32 = 14;
/// Bits of the hash left for the run of zeros (`HLL_Q`).
const Q: usize = 64 - P as usize;
const REGISTER_MAX: u8 = 63;
pub(super) const ENCODING_DENSE: u8 = 0;
pub(super) const ENCODING_SPARSE: u8 = 1;
/// 0.5 / ln(2), the estimator's constant (`HLL_ALPHA_INF`).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
/// The hash seed Redis uses for elements.
const HASH_SEED: u64 = 0xadc8_3b19;

/// The value is an HLL whose sparse opcodes do not add up (`-INVALIDOBJ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Corrupt;

/// Whether a string is an HLL Redis accepts (`isHLLObjectOrReply`): long enough for the
/// header, the magic, a known encoding, and the exact length when dense.
pub(crate) fn is_hll(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_BYTES
        && &bytes[..4] == b"HYLL"
        && bytes[4] <= ENCODING_SPARSE
        && (bytes[4] != ENCODING_DENSE || bytes.len() == DENSE_BYTES)
}

/// Whether a value checked by [`is_hll`] is dense.
pub(crate) fn is_dense(hll: &[u8]) -> bool {
    hll[4] == ENCODING_DENSE
}

/// The cached cardinality, when the header says it is valid.
pub(crate) fn cached_cardinality(hll: &[u8]) -> Option<u64> {
    let mut card = [0; 8];
    card.copy_from_slice(&hll[8..16]);
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

/// Marks the cached cardinality stale (`HLL_INVALIDATE_CACHE`): only the top bit changes,
/// the other cache bytes keep their old value, as in Redis.
pub(crate) fn invalidate_cache(hll: &mut [u8]) {
    hll[15] |= 0x80;
}

/// MurmurHash64A as Redis has it (endian-neutral, the length mixed in as a 64-bit value).
fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let mut k = u64::from_le_bytes(word).wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u64::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in and the length of its `000..1` pattern (1..=51)
/// (`hllPatLen`).
fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, HASH_SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Register `i` of dense register bytes (`HLL_DENSE_GET_REGISTER`).
pub(super) fn dense_get(registers: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let shift = (i * 6) & 7;
    let b0 = u16::from(registers[byte]);
    let b1 = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> shift) | (b1 << (8 - shift))) & u16::from(REGISTER_MAX)) as u8
}

/// Sets register `i` of dense register bytes (`HLL_DENSE_SET_REGISTER`). The second byte
/// is absent only for the last register, whose bits all sit in the first.
pub(super) fn dense_put(registers: &mut [u8], i: usize, value: u8) {
    let byte = i * 6 / 8;
    let shift = (i * 6) & 7;
    let (value, max) = (u16::from(value), u16::from(REGISTER_MAX));
    registers[byte] &= !((max << shift) as u8);
    registers[byte] |= (value << shift) as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next &= !((max >> (8 - shift)) as u8);
        *next |= (value >> (8 - shift)) as u8;
    }
}

/// Raises register `i` to `count` when it is lower (`hllDenseSet`); whether it changed.
pub(super) fn dense_raise(registers: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(registers, i) {
        dense_put(registers, i, count);
        true
    } else {
        false
    }
}

/// Adds one element (`hllAdd`): whether a register changed.
pub(crate) fn add(hll: &mut Vec<u8>, element: &[u8]) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    raise(hll, index, count)
}

/// Raises register `index` to `count` in either encoding; a sparse value may be promoted.
pub(crate) fn raise(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if is_dense(hll) {
        Ok(dense_raise(&mut hll[HEADER_BYTES..], index, count))
    } else {
        sparse::raise(hll, index, count)
    }
}

/// `hllMerge`: raises each of `max`'s registers to the value's.
pub(crate) fn merge_into(max: &mut [u8; REGISTERS], hll: &[u8]) -> Result<(), Corrupt> {
    if is_dense(hll) {
        let registers = &hll[HEADER_BYTES..];
        for (i, slot) in max.iter_mut().enumerate() {
            *slot = (*slot).max(dense_get(registers, i));
        }
        return Ok(());
    }
    let covered = sparse::for_each_run(hll, |start, value, len| {
        for slot in &mut max[start..start + len] {
            *slot = (*slot).max(value);
        }
    });
    (covered == Some(REGISTERS)).then_some(()).ok_or(Corrupt)
}

/// Writes merged registers into a value (the end of `pfmergeCommand`): each non-zero
/// register is raised in turn, so a sparse destination may be promoted on the way.
pub(crate) fn raise_all(hll: &mut Vec<u8>, max: &[u8; REGISTERS]) {
    for (index, &count) in max.iter().enumerate() {
        if count != 0 {
            // The destination was validated by merging it; Redis ignores the result too.
            let _ = raise(hll, index, count);
        }
    }
    invalidate_cache(hll);
}

/// How many registers hold each value, for a value checked by [`is_hll`]. `Err` for a
/// sparse value whose opcodes do not cover exactly the 16384 registers.
pub(crate) fn histogram(hll: &[u8]) -> Result<[u64; 64], Corrupt> {
    if !is_dense(hll) {
        return sparse::histogram(hll);
    }
    let mut histogram = [0u64; 64];
    let registers = &hll[HEADER_BYTES..];
    for i in 0..REGISTERS {
        histogram[usize::from(dense_get(registers, i))] += 1;
    }
    Ok(histogram)
}

/// The histogram of plain one-byte registers (PFCOUNT of several keys).
pub(crate) fn raw_histogram(max: &[u8; REGISTERS]) -> [u64; 64] {
    let mut histogram = [0u64; 64];
    for &register in max {
        histogram[usize::from(register & REGISTER_MAX)] += 1;
    }
    histogram
}

/// The cardinality estimate from a register histogram (`hllCount`): Ertl's estimator from
/// "New cardinality estimation algorithms for HyperLogLog sketches" (arXiv:1702.01284),
/// with Redis's exact order of floating-point operations.
pub(crate) fn estimate(histogram: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histogram[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histogram[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histogram[0] as f64 / m);
    // llroundl: to nearest, halves away from zero, as f64::round.
    (ALPHA_INF * m * m / z).round() as u64
}

/// `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// `hllTau`. Redis writes `pow(1 - x, 2)`, which compilers turn into one multiplication.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_round_trip_without_touching_neighbours() {
        let mut registers = vec![0u8; DENSE_BYTES - HEADER_BYTES];
        for i in 0..REGISTERS {
            dense_put(&mut registers, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&registers, i), (i % 64) as u8, "register {i}");
        }
    }

    #[test]
    fn a_new_value_is_one_xzero_and_counts_zero() {
        let hll = sparse::new();
        assert_eq!(hll.len(), 18);
        assert_eq!(&hll[16..], &[0x7f, 0xff]);
        assert!(is_hll(&hll));
        assert_eq!(estimate(&histogram(&hll).unwrap()), 0);
    }

    #[test]
    fn the_estimator_constant_is_redis_literal() {
        assert_eq!("0.721347520444481703680".parse::<f64>(), Ok(ALPHA_INF));
    }

    /// Below ~100 elements the estimate is exact but for elements that share a register:
    /// it is the number of registers in use.
    #[test]
    fn small_sets_count_their_registers() {
        let mut state = 7u64;
        for n in 1..100u64 {
            for _ in 0..20 {
                let mut hll = sparse::new();
                let mut used = std::collections::BTreeSet::new();
                for _ in 0..n {
                    state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let element = state.to_le_bytes();
                    used.insert(pattern(&element).0);
                    add(&mut hll, &element).unwrap();
                }
                let estimate = estimate(&histogram(&hll).unwrap());
                assert_eq!(estimate, used.len() as u64, "{n} elements");
            }
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = sparse::new();
        let mut dense = sparse::new();
        sparse::to_dense(&mut dense).unwrap();
        for i in 0..2000u32 {
            let element = i.to_le_bytes();
            assert_eq!(add(&mut sparse, &element), add(&mut dense, &element));
            if i % 97 == 0 {
                let a = estimate(&histogram(&sparse).unwrap());
                let b = estimate(&histogram(&dense).unwrap());
                assert_eq!(a, b, "after {i}");
            }
        }
        let mut promoted = sparse.clone();
        sparse::to_dense(&mut promoted).unwrap();
        assert_eq!(promoted[HEADER_BYTES..], dense[HEADER_BYTES..]);
    }
}
