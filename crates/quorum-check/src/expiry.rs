//! The expiry workload (`SET k v PX ttl` with unique values, `GET`, `PTTL`): keys must live
//! exactly as long as their TTL says, as seen by linearizable reads.
//!
//! A write's deadline is fixed by the leader that proposes it: it stamps its wall clock into the
//! log entry and every replica sets `deadline = max(state machine clock, stamp) + ttl`. The
//! stamp is taken between the write's invocation and its completion, and the state machine
//! clock never runs ahead of a correct leader's wall clock, so with correct clocks
//! `invoke + ttl <= deadline <= complete + ttl`. A read hides a key once the serving node's
//! clock (its wall clock or the state machine clock, whichever is later) reaches the deadline,
//! and `PTTL` answers `deadline - that clock`. So what matters is the wall clock of the leader
//! that stamped the write and of the node that serves the read, not the monotonic clock; on one
//! machine (as under `quorum chaos`) they all share the recorder's real time.
//!
//! Rules, with `tol` = [`EXPIRY_TOLERANCE_MS`]:
//! - **(a) nothing outlives its deadline**: a read invoked after `w.complete + w.ttl + tol`
//!   never returns acknowledged write `w`'s value (values are unique, so no later write can
//!   have renewed it); `PTTL` never answers `-1` (every write sets a TTL).
//! - **(b) nothing expires early**: a read that starts after acknowledged write `w` completed
//!   and completes before `w.invoke + w.ttl - tol` returns `w`'s value or that of a write that
//!   may be ordered after `w`; it returns nil (or `PTTL -2`) only if such a later write may
//!   itself have expired by then. A value overwritten by `w` is a `stale_read`.
//! - **`PTTL` fits a write**: the deadline it implies (between `invoke + ttl` and
//!   `complete + ttl` of the read) lies within `tol` of the possible deadline of some write that
//!   may be current (invoked before the read completed, not failed).
//! - values read were written, by a write invoked before the read completed (`phantom_write`).
//!
//! Writes with an unknown outcome may take effect at any time after their invocation, so they
//! never trigger (a) and their deadline has no upper bound. `READONLY` reads are not judged:
//! the workload does not send them on expiry keys.
//!
//! **The tolerance**, 25 ms, covers what the recorder cannot see: the stamp and the read's
//! clock are wall-clock milliseconds (truncated: up to 2 ms), the recorder times operations
//! with the monotonic clock (wall and monotonic clocks drift apart by at most NTP's slew,
//! 0.05 %, under 2 ms over the workload's longest TTL), plus margin for the scheduling of the
//! server's expiry check. It is far below the workload's shortest TTL (300 ms) and far below
//! what a skewed clock does (seconds to hours), so real expiry bugs stand out.

use crate::describe;
use crate::fasthash::FxHashMap;
use crate::findings::KeyFindings;
use crate::history::Call;
use crate::prepare::{KeyOps, Op};
use crate::report::AnomalyClass;

/// How far (ms) a deadline may be from where the recorded times put it; see the module docs.
pub const EXPIRY_TOLERANCE_MS: u64 = 25;

const MS: u64 = 1_000_000;
const TOL_NS: u64 = EXPIRY_TOLERANCE_MS * MS;

/// One write that may have taken effect.
struct Write<'h> {
    op: Op<'h>,
    value: &'h str,
    ttl_ns: u64,
}

impl Write<'_> {
    /// The earliest possible deadline.
    fn deadline_min(&self) -> u64 {
        self.op.invoke_ns().saturating_add(self.ttl_ns)
    }

    /// The latest possible deadline (`u64::MAX` for an unknown outcome).
    fn deadline_max(&self) -> u64 {
        self.op.complete_ns.saturating_add(self.ttl_ns)
    }
}

/// What a read saw.
enum Seen<'h> {
    Absent,
    Value(&'h str),
    Ttl(u64),
    NoExpiry,
    Odd(i64),
}

/// Checks one expiry key.
pub(crate) fn check(key: &KeyOps, out: &mut KeyFindings) {
    let mut writes: Vec<Write> = Vec::new();
    let mut failed: FxHashMap<&str, Op> = FxHashMap::default();
    for op in &key.ops {
        let Call::SetPx { value, ttl_ms } = &op.op.call else {
            continue;
        };
        if op.is_failed() {
            failed.insert(value.as_str(), *op);
            continue;
        }
        writes.push(Write {
            op: *op,
            value,
            ttl_ns: ttl_ms.saturating_mul(MS),
        });
    }
    // Invocation order (ids are, but the search below relies on it).
    writes.sort_by_key(|w| w.op.invoke_ns());
    let by_value: FxHashMap<&str, usize> = writes
        .iter()
        .enumerate()
        .map(|(i, w)| (w.value, i))
        .collect();
    let ttl_max = writes.iter().map(|w| w.ttl_ns).max().unwrap_or(0);

    for read in key.ops.iter().filter(|op| op.is_ok()) {
        let seen = match (&read.op.call, read.value_reply(), read.int_reply()) {
            (Call::Get, Some(None), _) if !read.is_readonly_read() => Seen::Absent,
            (Call::Get, Some(Some(v)), _) if !read.is_readonly_read() => Seen::Value(v),
            (Call::Pttl, _, Some(-2)) => Seen::Absent,
            (Call::Pttl, _, Some(-1)) => Seen::NoExpiry,
            (Call::Pttl, _, Some(ms)) if ms >= 0 => Seen::Ttl(ms as u64),
            (Call::Pttl, _, Some(ms)) => Seen::Odd(ms),
            _ => continue,
        };
        let source = match seen {
            Seen::Value(v) => match by_value.get(v) {
                Some(&i) if writes[i].op.invoke_ns() < read.complete_ns => Some(&writes[i]),
                Some(&i) => {
                    let w = &writes[i];
                    out.push(AnomalyClass::PhantomWrite, vec![w.op.id(), read.id()], || {
                        format!(
                            "{} returned the value of {}, which was invoked after the read completed",
                            describe::op(read),
                            describe::op(&w.op)
                        )
                    });
                    continue;
                }
                None => {
                    let ids = failed
                        .get(v)
                        .map_or(vec![read.id()], |w| vec![w.id(), read.id()]);
                    out.push(AnomalyClass::PhantomWrite, ids, || {
                        format!(
                            "{} returned {}, which no write that could have taken effect wrote",
                            describe::op(read),
                            describe::value(Some(v))
                        )
                    });
                    continue;
                }
            },
            _ => None,
        };

        // (a) nothing outlives its deadline.
        match seen {
            Seen::Value(_) => {
                let w = source.expect("a value read has its write");
                if w.op.is_ok() && read.invoke_ns() > w.deadline_max().saturating_add(TOL_NS) {
                    out.push(
                        AnomalyClass::ReadAfterExpiry,
                        vec![w.op.id(), read.id()],
                        || {
                            format!(
                                "{} returned the value of {} although its TTL ran out by {} \
                                 (completion + TTL + {EXPIRY_TOLERANCE_MS} ms tolerance)",
                                describe::op(read),
                                describe::op(&w.op),
                                describe::time(w.deadline_max() + TOL_NS)
                            )
                        },
                    );
                    continue;
                }
            }
            Seen::NoExpiry => {
                out.push(AnomalyClass::ReadAfterExpiry, vec![read.id()], || {
                    format!(
                        "{} says the key never expires, but every write set a TTL",
                        describe::op(read)
                    )
                });
                continue;
            }
            Seen::Odd(ms) => {
                out.push(AnomalyClass::PhantomWrite, vec![read.id()], || {
                    format!(
                        "{} answered {ms}, which PTTL never does",
                        describe::op(read)
                    )
                });
                continue;
            }
            Seen::Ttl(ms) => {
                if let Some(anomaly) = ttl_fits_no_write(&writes, read, ms) {
                    let ids = vec![read.id()];
                    out.push(anomaly, ids, || {
                        format!(
                            "{} implies a deadline between {} and {}, which fits no write that \
                             could be current (±{EXPIRY_TOLERANCE_MS} ms)",
                            describe::op(read),
                            describe::time(read.invoke_ns().saturating_add(ms * MS)),
                            describe::time(read.complete_ns.saturating_add(ms * MS))
                        )
                    });
                    continue;
                }
            }
            Seen::Absent => {}
        }

        // (b) nothing expires early: acknowledged writes that completed before the read began
        // and certainly had not expired when it completed.
        let earliest_invoke = read
            .complete_ns
            .saturating_add(TOL_NS)
            .saturating_sub(ttl_max);
        let first = writes.partition_point(|w| w.op.invoke_ns() < earliest_invoke);
        for w in writes[first..]
            .iter()
            .take_while(|w| w.op.invoke_ns() < read.invoke_ns())
        {
            if !w.op.is_ok()
                || w.op.complete_ns >= read.invoke_ns()
                || w.deadline_min().saturating_sub(TOL_NS) <= read.complete_ns
            {
                continue;
            }
            match seen {
                Seen::Absent if !expired_successor(&writes, w, read) => {
                    out.push(
                        AnomalyClass::ExpiredEarly,
                        vec![w.op.id(), read.id()],
                        || {
                            format!(
                            "{} found no key, but {} completed before it and cannot have expired \
                             before {} (invocation + TTL - {EXPIRY_TOLERANCE_MS} ms), and no \
                             later write can have expired in between",
                            describe::op(read),
                            describe::op(&w.op),
                            describe::time(w.deadline_min() - TOL_NS)
                        )
                        },
                    );
                    break;
                }
                Seen::Value(_) => {
                    let v = source.expect("a value read has its write");
                    if v.value != w.value && v.op.complete_ns < w.op.invoke_ns() {
                        out.push(
                            AnomalyClass::StaleRead,
                            vec![v.op.id(), w.op.id(), read.id()],
                            || {
                                format!(
                                    "{} returned the value of {}, which {} had overwritten \
                                     before the read began (and had not expired)",
                                    describe::op(read),
                                    describe::op(&v.op),
                                    describe::op(&w.op)
                                )
                            },
                        );
                        break;
                    }
                }
                _ => {}
            }
        }
    }
}

/// Whether a write other than `w` may have been ordered after it and expired by the time
/// `read` completed (which explains a read that found no key).
fn expired_successor(writes: &[Write], w: &Write, read: &Op) -> bool {
    // Nearest writes first: in a valid history the explanation is usually the last write.
    writes.iter().rev().any(|w2| {
        !std::ptr::eq(w2, w)
            && w2.op.invoke_ns() < read.complete_ns
            && w2.op.complete_ns > w.op.invoke_ns()
            // Applied after `w`, so its effective stamp is at least `w`'s (the state machine
            // clock only grows), which is at least `w.invoke`.
            && w2
                .op
                .invoke_ns()
                .max(w.op.invoke_ns())
                .saturating_add(w2.ttl_ns)
                <= read.complete_ns.saturating_add(TOL_NS)
    })
}

/// `None` when the deadline `PTTL` answered (`ms` at some point of `read`) fits a write that may
/// be current; otherwise the anomaly: later than any write allows (`read_after_expiry`) or
/// earlier (`expired_early`).
fn ttl_fits_no_write(writes: &[Write], read: &Op, ms: u64) -> Option<AnomalyClass> {
    let seen_min = read.invoke_ns().saturating_add(ms * MS);
    let seen_max = read.complete_ns.saturating_add(ms * MS);
    let mut too_late_for_all = true;
    for w in writes
        .iter()
        .filter(|w| w.op.invoke_ns() < read.complete_ns)
    {
        let low = w.deadline_min().saturating_sub(TOL_NS);
        let high = w.deadline_max().saturating_add(TOL_NS);
        if seen_max >= low && seen_min <= high {
            return None;
        }
        if seen_min <= high {
            too_late_for_all = false;
        }
    }
    Some(if too_late_for_all {
        AnomalyClass::ReadAfterExpiry
    } else {
        AnomalyClass::ExpiredEarly
    })
}
