//! The linearizability search for one register: Wing & Gong's algorithm with Lowe's
//! just-in-time linearization and memoization, as in Porcupine.
//!
//! Calls and returns are entries of one doubly linked list in time order. The search walks the
//! list from its head: a call whose operation the register accepts in the current state is
//! *lifted* (its call and return leave the list) and the walk restarts; reaching a return means
//! that operation had to be linearized by now and was not, so the last lift is undone. A
//! configuration (set of linearized operations, register state) seen once is never explored
//! again. The set is represented by a 128-bit Zobrist hash (XOR of one random word pair per
//! operation), updated in O(1) per lift where a bitset costs O(n/64) per hash and copy; a
//! collision needs ~2^64 configurations, far beyond the step limit.
//!
//! Operations with an unknown outcome return at +infinity: they may be linearized anywhere after
//! their call, and since an unknown write has no result to check, placing it after everything
//! else is always possible, which is how "never applied" is expressed.
//!
//! This module knows nothing of histories: values arrive interned as `u32` (0 is nil).

use crate::fasthash::{FxHashMap, FxHashSet};

/// A register operation with interned values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegOp {
    /// A read that returned `value`.
    Get { value: u32 },
    /// A blind write.
    Set { value: u32 },
    /// A write returning the previous value; `prev` is `None` when the reply is unknown.
    Swap { value: u32, prev: Option<u32> },
}

impl RegOp {
    /// The value this operation shows was in the register, if any.
    pub fn observed(self) -> Option<u32> {
        match self {
            RegOp::Get { value } => Some(value),
            RegOp::Swap { prev, .. } => prev,
            RegOp::Set { .. } => None,
        }
    }

    /// The value this operation writes, if it writes.
    pub fn written(self) -> Option<u32> {
        match self {
            RegOp::Get { .. } => None,
            RegOp::Set { value } | RegOp::Swap { value, .. } => Some(value),
        }
    }

    /// The register's sequential specification.
    fn step(self, state: u32) -> Option<u32> {
        match self {
            RegOp::Get { value } => (value == state).then_some(state),
            RegOp::Set { value } => Some(value),
            RegOp::Swap { value, prev } => match prev {
                Some(prev) if prev != state => None,
                _ => Some(value),
            },
        }
    }
}

/// One operation to linearize.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchOp {
    pub call_ns: u64,
    /// `u64::MAX` when the outcome is unknown.
    pub return_ns: u64,
    pub op: RegOp,
    /// The caller's index for this operation (for explanations).
    pub origin: usize,
}

/// What the search concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Linearizable,
    /// `blocked_ns`: the latest return the search ever failed to get past. No partial
    /// linearization reached beyond it, so the earliest cut of the history that fails is
    /// usually there, which saves the explanation most of its bisection.
    NotLinearizable {
        blocked_ns: u64,
    },
    /// The step budget ran out first.
    LimitExceeded,
}

/// Simplifies the unknown-outcome writes before a search, without changing the verdict:
///
/// - A write whose value no operation observed is removed: it can always be linearized last
///   (it has no result to check), and in any linearization that places it earlier no read sees
///   its value, so dropping it changes nothing. Left in, it would be retried at every step
///   until the end of the history.
/// - A write that is the only writer of a value some operations observed must be linearized
///   before the first of those observations, so its return moves from +infinity to the
///   earliest observer's return. The search then stops carrying it as pending.
pub(crate) fn prepare_unknown_writes(ops: Vec<SearchOp>) -> Vec<SearchOp> {
    // value -> (writers, earliest return of an operation observing it)
    let mut values: FxHashMap<u32, (u32, u64)> = FxHashMap::default();
    for op in &ops {
        if let Some(v) = op.op.written() {
            values.entry(v).or_insert((0, u64::MAX)).0 += 1;
        }
    }
    for op in &ops {
        if let Some(v) = op.op.observed() {
            let entry = values.entry(v).or_insert((0, u64::MAX));
            entry.1 = entry.1.min(op.return_ns);
        }
    }
    ops.into_iter()
        .filter_map(|mut op| {
            let blind_unknown = op.return_ns == u64::MAX
                && matches!(op.op, RegOp::Set { .. } | RegOp::Swap { prev: None, .. });
            let Some(v) = op.op.written().filter(|_| blind_unknown) else {
                return Some(op);
            };
            let (writers, first_seen) = values[&v];
            if first_seen == u64::MAX {
                return None; // nobody observed it
            }
            if writers == 1 {
                op.return_ns = first_seen.max(op.call_ns);
            }
            Some(op)
        })
        .collect()
}

const NONE: u32 = u32::MAX;

/// Decides whether `ops` (one register, initially nil) are linearizable, spending at most
/// `steps_max` steps; adds the steps spent to `steps`.
pub(crate) fn search(ops: &[SearchOp], steps_max: u64, steps: &mut u64) -> Verdict {
    let n = ops.len();
    if n == 0 {
        return Verdict::Linearizable;
    }
    assert!(n < (NONE as usize) / 2, "too many operations for one key");
    // Entries 0..n are calls, n..2n returns; entry 2n is the list head.
    let head = 2 * n;
    let mut order: Vec<u32> = (0..2 * n as u32).collect();
    let time = |e: u32| -> (u64, bool) {
        let e = e as usize;
        if e < n {
            (ops[e].call_ns, false)
        } else {
            (ops[e - n].return_ns, true)
        }
    };
    // At equal times calls come first: operations that touch are concurrent.
    order.sort_by_key(|&e| time(e));
    let mut next = vec![NONE; 2 * n + 1];
    let mut prev = vec![NONE; 2 * n + 1];
    let mut last = head as u32;
    for &e in &order {
        next[last as usize] = e;
        prev[e as usize] = last;
        last = e;
    }

    let zobrist = zobrist_keys(n);
    let mut cache: FxHashSet<(u128, u32)> = FxHashSet::default();
    let mut stack: Vec<(u32, u32)> = Vec::new(); // (call entry, state before it)
    let mut state = 0u32;
    let mut hash = 0u128;
    let mut entry = next[head];
    let mut spent = 0u64;
    let mut blocked_ns = 0;
    let verdict = loop {
        if next[head] == NONE {
            break Verdict::Linearizable;
        }
        spent += 1;
        if spent > steps_max {
            break Verdict::LimitExceeded;
        }
        let e = entry as usize;
        if e < n {
            if let Some(after) = ops[e].op.step(state) {
                let lifted = hash ^ zobrist[e];
                if cache.insert((lifted, after)) {
                    stack.push((entry, state));
                    state = after;
                    hash = lifted;
                    lift(&mut next, &mut prev, e, e + n);
                    entry = next[head];
                    continue;
                }
            }
            entry = next[e];
        } else {
            // A return: its operation should have been linearized already.
            blocked_ns = blocked_ns.max(ops[e - n].return_ns);
            let Some((call, before)) = stack.pop() else {
                break Verdict::NotLinearizable { blocked_ns };
            };
            let c = call as usize;
            state = before;
            hash ^= zobrist[c];
            unlift(&mut next, &mut prev, c, c + n);
            entry = next[c];
        }
    };
    *steps += spent;
    verdict
}

fn lift(next: &mut [u32], prev: &mut [u32], call: usize, ret: usize) {
    let (p, nx) = (prev[call], next[call]);
    next[p as usize] = nx;
    if nx != NONE {
        prev[nx as usize] = p;
    }
    let (p, nx) = (prev[ret], next[ret]);
    next[p as usize] = nx;
    if nx != NONE {
        prev[nx as usize] = p;
    }
}

/// Exactly undoes [`lift`] (return first, since the call was unlinked first).
fn unlift(next: &mut [u32], prev: &mut [u32], call: usize, ret: usize) {
    for e in [ret, call] {
        let (p, nx) = (prev[e], next[e]);
        next[p as usize] = e as u32;
        if nx != NONE {
            prev[nx as usize] = e as u32;
        }
    }
}

/// Deterministic random keys (splitmix64), so a verdict never depends on the run.
fn zobrist_keys(n: usize) -> Vec<u128> {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| (u128::from(next()) << 64) | u128::from(next()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(call_ns: u64, return_ns: u64, op: RegOp) -> SearchOp {
        SearchOp {
            call_ns,
            return_ns,
            op,
            origin: 0,
        }
    }

    fn run(ops: &[SearchOp]) -> Verdict {
        search(ops, 1_000_000, &mut 0)
    }

    #[test]
    fn concurrent_write_and_reads_order_only_one_way() {
        // Porcupine's own example: a read may see the write or the initial value, not both in
        // the wrong order.
        let ops = [
            op(0, 100, RegOp::Set { value: 1 }),
            op(25, 75, RegOp::Get { value: 1 }),
            op(30, 60, RegOp::Get { value: 0 }),
        ];
        assert_eq!(run(&ops), Verdict::Linearizable);
        let ops = [
            op(0, 100, RegOp::Set { value: 1 }),
            op(10, 30, RegOp::Get { value: 1 }),
            op(40, 90, RegOp::Get { value: 0 }),
        ];
        assert_eq!(run(&ops), Verdict::NotLinearizable { blocked_ns: 90 });
    }

    #[test]
    fn operations_that_touch_are_concurrent() {
        let ops = [
            op(0, 10, RegOp::Get { value: 1 }),
            op(10, 20, RegOp::Set { value: 1 }),
        ];
        assert_eq!(run(&ops), Verdict::Linearizable);
    }

    #[test]
    fn step_limit_is_reported() {
        let ops: Vec<SearchOp> = (0..50)
            .map(|i| op(0, 1000, RegOp::Set { value: i }))
            .collect();
        assert_eq!(search(&ops, 10, &mut 0), Verdict::LimitExceeded);
    }

    #[test]
    fn unknown_writes_are_pruned_or_bounded() {
        let ops = vec![
            op(0, u64::MAX, RegOp::Set { value: 1 }),
            op(0, u64::MAX, RegOp::Set { value: 2 }),
            op(5, 6, RegOp::Get { value: 2 }),
        ];
        let kept = prepare_unknown_writes(ops);
        assert_eq!(kept.len(), 2);
        // The observed write must now precede its observer's return.
        assert_eq!(kept[0].return_ns, 6);
        assert_eq!(run(&kept), Verdict::Linearizable);
    }
}
