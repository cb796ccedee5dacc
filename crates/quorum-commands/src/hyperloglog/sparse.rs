//! The sparse encoding of an HLL: run-length opcodes after the 16-byte header. ZERO
//! `00xxxxxx` covers 1..64 zero registers, XZERO `01xxxxxx yyyyyyyy` 1..16384, VAL
//! `1vvvvvxx` 1..4 registers of value 1..32. A new HLL is sparse; PFADD edits the opcode
//! covering a register in place (`hllSparseSet`: split, then merge equal neighbours) and
//! promotes the value to dense when a register needs more than 32 or the value would grow
//! past `hll-sparse-max-bytes` (3000), exactly as Redis does, because the bytes are
//! observable (GET).
//!
//! Not here: the header, the dense encoding and the estimator (`sketch.rs`).

use super::sketch::{
    dense_put, dense_raise, invalidate_cache, is_dense, Corrupt, DENSE_BYTES, ENCODING_DENSE,
    ENCODING_SPARSE, HEADER_BYTES, REGISTERS,
};

/// Redis's default `hll-sparse-max-bytes`: a sparse value never grows past it. A constant,
/// not a setting, because every replica must produce the same bytes.
const SPARSE_BYTES_MAX: usize = 3000;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;

/// A new, empty HLL: sparse, one XZERO opcode covering every register, cache valid (0).
pub(crate) fn new() -> Vec<u8> {
    let mut hll = Vec::with_capacity(HEADER_BYTES + 2);
    hll.extend_from_slice(b"HYLL");
    hll.push(ENCODING_SPARSE);
    hll.extend_from_slice(&[0; 11]);
    let mut remaining = REGISTERS;
    while remaining > 0 {
        let len = remaining.min(SPARSE_XZERO_MAX_LEN);
        hll.extend_from_slice(&xzero(len));
        remaining -= len;
    }
    hll
}

/// The byte at `at`, or the zero that ends every Redis string when `at` is past the end.
fn byte_at(hll: &[u8], at: usize) -> u8 {
    hll.get(at).copied().unwrap_or(0)
}

/// One sparse opcode: how many registers it covers and what it occupies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    fn decode(hll: &[u8], at: usize) -> Op {
        let b = hll[at];
        match b & 0xc0 {
            0x00 => Op::Zero(usize::from(b & 0x3f) + 1),
            0x40 => {
                Op::XZero(((usize::from(b & 0x3f) << 8) | usize::from(byte_at(hll, at + 1))) + 1)
            }
            _ => Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 0x3) + 1),
        }
    }

    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }

    fn bytes(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }
}

fn val(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

fn zero(len: usize) -> u8 {
    (len - 1) as u8
}

fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [0x40 | (l >> 8) as u8, (l & 0xff) as u8]
}

/// A zero run of `len` registers as ZERO or XZERO, as `hllSparseSet` splits them.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        seq.extend_from_slice(&xzero(len));
    } else {
        seq.push(zero(len));
    }
}

/// `hllSparseSet`: raises register `index` to `count` in a sparse value, editing the
/// opcode that covers it in place, promoting to dense when needed.
pub(super) fn raise(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let mut at = HEADER_BYTES;
    let mut first = 0;
    let mut prev = None;
    let mut op = None;
    while at < hll.len() {
        let this = Op::decode(hll, at);
        if index < first + this.span() {
            op = Some(this);
            break;
        }
        prev = Some(at);
        at += this.bytes();
        first += this.span();
    }
    let Some(op) = op else {
        return Err(Corrupt);
    };
    let next = (at + op.bytes() < hll.len()).then_some(at + op.bytes());
    // Step 2: the trivial cases, then the general split into at most three opcodes.
    match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => hll[at] = val(count, 1),
        _ => {
            let last = first + op.span() - 1;
            let mut seq = Vec::with_capacity(5);
            match op {
                Op::Val(current, _) => {
                    if index != first {
                        seq.push(val(current, index - first));
                    }
                    seq.push(val(count, 1));
                    if index != last {
                        seq.push(val(current, last - index));
                    }
                }
                Op::Zero(_) | Op::XZero(_) => {
                    if index != first {
                        push_zeros(&mut seq, index - first);
                    }
                    seq.push(val(count, 1));
                    if index != last {
                        push_zeros(&mut seq, last - index);
                    }
                }
            }
            // Step 3: replace the old opcode by the sequence, or promote when it would
            // grow the value past the sparse limit.
            let old_bytes = op.bytes();
            if seq.len() > old_bytes && hll.len() + seq.len() - old_bytes > SPARSE_BYTES_MAX {
                return promote(hll, index, count);
            }
            match next {
                Some(next) => {
                    hll.splice(at..next, seq);
                }
                None => {
                    // The opcode ends the string. An XZERO cut after its first byte (a
                    // corrupted value) loses the sequence's last byte, as in Redis.
                    let len = hll.len() + seq.len() - old_bytes;
                    hll.truncate(at);
                    hll.extend_from_slice(&seq);
                    hll.truncate(len);
                }
            }
        }
    }
    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to five opcodes
    // from the one before the change.
    merge_neighbours(hll, prev.unwrap_or(HEADER_BYTES));
    invalidate_cache(hll);
    Ok(true)
}

/// Step 4 of `hllSparseSet`.
fn merge_neighbours(hll: &mut Vec<u8>, from: usize) {
    let mut at = from;
    let mut scans = 5;
    while at < hll.len() && scans > 0 {
        scans -= 1;
        match Op::decode(hll, at) {
            Op::XZero(_) => at += 2,
            Op::Zero(_) => at += 1,
            Op::Val(v1, len1) => {
                if at + 1 < hll.len() {
                    if let Op::Val(v2, len2) = Op::decode(hll, at + 1) {
                        if v1 == v2 && len1 + len2 <= SPARSE_VAL_MAX_LEN {
                            hll[at + 1] = val(v1, len1 + len2);
                            hll.remove(at);
                            // Try again from here: the merged opcode may merge rightwards.
                            continue;
                        }
                    }
                }
                at += 1;
            }
        }
    }
}

/// The promotion branch of `hllSparseSet`: to dense, then set the register there.
fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(hll)?;
    let changed = dense_raise(&mut hll[HEADER_BYTES..], index, count);
    debug_assert!(changed, "a promotion always raises the register");
    Ok(changed)
}

/// `hllSparseToDense`: rewrites a sparse value as dense, keeping the header's magic,
/// unused bytes and cache bytes. Unchanged and `Err` when the opcodes do not cover exactly
/// the 16384 registers. A dense value is left as it is.
pub(crate) fn to_dense(hll: &mut Vec<u8>) -> Result<(), Corrupt> {
    if is_dense(hll) {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_BYTES];
    dense[..HEADER_BYTES].copy_from_slice(&hll[..HEADER_BYTES]);
    dense[4] = ENCODING_DENSE;
    let covered = for_each_run(hll, |start, value, len| {
        for i in start..start + len {
            dense_put(&mut dense[HEADER_BYTES..], i, value);
        }
    });
    if covered != Some(REGISTERS) {
        return Err(Corrupt);
    }
    *hll = dense;
    Ok(())
}

/// Walks a sparse value's opcodes, calling `visit(first register, value, len)` for each
/// VAL run. Returns how many registers the opcodes cover, or `None` when a VAL run would
/// pass the last register (where Redis's decoders stop).
pub(super) fn for_each_run(hll: &[u8], mut visit: impl FnMut(usize, u8, usize)) -> Option<usize> {
    let mut at = HEADER_BYTES;
    let mut index = 0usize;
    while at < hll.len() {
        let op = Op::decode(hll, at);
        if let Op::Val(value, len) = op {
            if index + len > REGISTERS {
                return None;
            }
            visit(index, value, len);
        }
        index = index.saturating_add(op.span());
        at += op.bytes();
    }
    Some(index)
}

/// `hllSparseRegHisto`: how many registers hold each value; every opcode counts, and the
/// total must be exactly the 16384 registers.
pub(super) fn histogram(hll: &[u8]) -> Result<[u64; 64], Corrupt> {
    let mut histogram = [0u64; 64];
    // As `hllSparseRegHisto`: every opcode counts, and the total must be exact.
    let mut at = HEADER_BYTES;
    let mut index = 0u64;
    while at < hll.len() {
        let op = Op::decode(hll, at);
        let value = match op {
            Op::Val(value, _) => usize::from(value),
            Op::Zero(_) | Op::XZero(_) => 0,
        };
        histogram[value] += op.span() as u64;
        index += op.span() as u64;
        at += op.bytes();
    }
    (index == REGISTERS as u64)
        .then_some(histogram)
        .ok_or(Corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyperloglog::sketch::{self, add, dense_get};

    #[test]
    fn a_register_above_32_promotes_a_sparse_value() {
        let mut hll = new();
        add(&mut hll, b"a").unwrap();
        assert_eq!(sketch::raise(&mut hll, 5, 40), Ok(true));
        assert!(is_dense(&hll) && hll.len() == DENSE_BYTES);
        assert_eq!(dense_get(&hll[HEADER_BYTES..], 5), 40);
        assert_eq!(sketch::raise(&mut hll, 5, 39), Ok(false));
    }
}
