//! The counter workload (INCR + GET): no search is needed, because every acknowledged INCR
//! returns the counter's value right after it, which pins its place in the order.
//!
//! Rules, with n(t) = INCRs acknowledged before t and m(t) = INCRs that may have been applied
//! by t (invoked by t and not failed):
//! - acknowledged INCRs return distinct values (two equal values: one increment was lost);
//! - an INCR returns at most m(its completion) (more: some INCR was applied twice) and at least
//!   n(its invocation) + 1 (less: acknowledged increments are missing);
//! - any observation of v (INCR reply or read) completing at t needs v increments applied by
//!   then, one per value 1..=v: the acknowledged INCRs that returned a value up to v fill their
//!   own places, and only INCRs whose outcome is unknown, invoked by t, can fill the rest (an
//!   acknowledged INCR returning more than v came after). Tighter than m(t), which also counts
//!   acknowledged INCRs whose replies place them later (found by the porcupine cross-check: an
//!   INCR returned 6 where only 5 increments could have preceded it);
//! - a linearizable GET returns between n(its invocation) and m(its completion); the final read
//!   is one such read, so after a quiet end it must lie between acknowledged and
//!   acknowledged + unknown;
//! - values never go backwards in real time (a read or INCR that began after another finished
//!   sees at least its value);
//! - `READONLY` reads: never more than m(completion) (a value from the future), measured for
//!   staleness, and monotonic per client.

use crate::fasthash::FxHashMap as HashMap;

use crate::describe;
use crate::findings::KeyFindings;
use crate::history::Call;
use crate::prepare::{KeyOps, Op};
use crate::readonly::ReadOnlyCollector;
use crate::report::AnomalyClass;

/// Checks one counter key.
pub(crate) fn check(key: &KeyOps, out: &mut KeyFindings, readonly: &mut ReadOnlyCollector) {
    let ops = &key.ops;
    let mut acked_complete: Vec<u64> = Vec::new();
    let mut applied_invoke: Vec<u64> = Vec::new();
    for op in ops.iter().filter(|op| op.op.call == Call::Incr) {
        if op.is_ok() {
            acked_complete.push(op.complete_ns);
        }
        if !op.is_failed() {
            applied_invoke.push(op.invoke_ns());
        }
    }
    acked_complete.sort_unstable();
    applied_invoke.sort_unstable();
    // Distinct values returned by acknowledged INCRs (a repeated one is reported below), and
    // the invocations of INCRs whose outcome is unknown.
    let mut acked_values: Vec<i64> = ops
        .iter()
        .filter(|op| op.op.call == Call::Incr)
        .filter_map(|op| op.int_reply())
        .collect();
    acked_values.sort_unstable();
    acked_values.dedup();
    let mut unknown_invoke: Vec<u64> = ops
        .iter()
        .filter(|op| op.op.call == Call::Incr && !op.is_ok() && !op.is_failed())
        .map(|op| op.invoke_ns())
        .collect();
    unknown_invoke.sort_unstable();
    // Most increments that can precede an observation of `value` completing at `t`.
    let fillable = |value: i64, t: u64| {
        acked_values.partition_point(|&v| v <= value) as i64
            + unknown_invoke.partition_point(|&i| i <= t) as i64
    };
    let acked_before = |t: u64| acked_complete.partition_point(|&c| c < t) as i64;
    let applied_by = |t: u64| applied_invoke.partition_point(|&i| i <= t) as i64;

    // (op index, value) of every acknowledged observation.
    let mut seen: Vec<(usize, i64)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let value = match (&op.op.call, op.value_reply(), op.int_reply()) {
            (Call::Incr, _, Some(v)) => v,
            (Call::Get, Some(None), _) => 0,
            (Call::Get, Some(Some(text)), _) => match text.parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    out.push(AnomalyClass::PhantomWrite, vec![op.id()], || {
                        format!("{} read a value that is not a counter", describe::op(op))
                    });
                    continue;
                }
            },
            _ => continue,
        };
        seen.push((i, value));
    }
    let final_read = seen
        .iter()
        .filter(|(i, _)| ops[*i].op.call == Call::Get && !ops[*i].is_readonly_read())
        .max_by_key(|(i, _)| ops[*i].invoke_ns())
        .map(|(i, _)| *i);

    let mut flagged = vec![false; ops.len()];
    let mut by_value: HashMap<i64, usize> = HashMap::default();
    for &(i, value) in &seen {
        let op = &ops[i];
        let (low, invoked) = (acked_before(op.invoke_ns()), applied_by(op.complete_ns));
        let fillable = fillable(value, op.complete_ns);
        let high = invoked.min(fillable);
        // Why `high` is what it is, for the anomaly's text.
        let bound = if fillable < invoked {
            format!(
                "only {fillable} increments can precede it ({} acknowledged INCRs returned at \
                 most {value}; the others must be INCRs of unknown outcome invoked before it \
                 completed)",
                acked_values.partition_point(|&v| v <= value)
            )
        } else {
            format!("only {invoked} INCRs had been invoked when it completed")
        };
        let mut flag = |class: AnomalyClass, ids: Vec<u64>, text: String| {
            flagged[i] = true;
            out.push(class, ids, || text);
        };
        if op.op.call == Call::Incr {
            if let Some(&first) = by_value.get(&value) {
                flag(
                    AnomalyClass::LostWrite,
                    vec![ops[first].id(), op.id()],
                    format!(
                        "two INCRs returned {value}: {} and {}; one increment was lost",
                        describe::op(&ops[first]),
                        describe::op(op)
                    ),
                );
            } else {
                by_value.insert(value, i);
            }
            if value > high {
                flag(
                    AnomalyClass::DuplicateApply,
                    vec![op.id()],
                    format!(
                        "{} returned {value}, but {bound}: an increment was applied more than \
                         once",
                        describe::op(op)
                    ),
                );
            } else if value < low + 1 {
                flag(
                    AnomalyClass::LostWrite,
                    vec![op.id()],
                    format!(
                        "{} returned {value}, but {low} INCRs had been acknowledged before it \
                         was invoked: acknowledged increments are missing",
                        describe::op(op)
                    ),
                );
            }
        } else if op.is_readonly_read() {
            if value > high {
                flag(
                    AnomalyClass::PhantomWrite,
                    vec![op.id()],
                    format!("{} read {value}, but {bound}", describe::op(op)),
                );
            }
        } else if value < low || value > high {
            let which = if Some(i) == final_read {
                "the final read"
            } else {
                "a read"
            };
            flag(
                AnomalyClass::CounterMismatch,
                vec![op.id()],
                format!(
                    "{which}, {}, returned {value}; between {low} (INCRs acknowledged before it \
                     was invoked) and {high} were possible ({bound})",
                    describe::op(op)
                ),
            );
        }
    }
    check_real_time_order(ops, &seen, &flagged, out);
    check_readonly(ops, &seen, &acked_complete, out, readonly);
}

/// A linearizable observation that began after another finished must see at least its value
/// (strictly more for an INCR, which adds one).
fn check_real_time_order(
    ops: &[Op],
    seen: &[(usize, i64)],
    flagged: &[bool],
    out: &mut KeyFindings,
) {
    let linearizable: Vec<(usize, i64)> = seen
        .iter()
        .copied()
        .filter(|(i, _)| !ops[*i].is_readonly_read())
        .collect();
    let mut by_complete = linearizable.clone();
    by_complete.sort_by_key(|(i, _)| ops[*i].complete_ns);
    let mut by_invoke = linearizable;
    by_invoke.sort_by_key(|(i, _)| ops[*i].invoke_ns());
    let mut done = 0;
    let mut max: Option<(i64, usize)> = None;
    for &(i, value) in &by_invoke {
        let op = &ops[i];
        while done < by_complete.len() && ops[by_complete[done].0].complete_ns < op.invoke_ns() {
            let (j, v) = by_complete[done];
            if max.is_none_or(|(m, _)| v > m) {
                max = Some((v, j));
            }
            done += 1;
        }
        let Some((before, j)) = max else { continue };
        let incr = op.op.call == Call::Incr;
        let backwards = value < before || (incr && value == before);
        if !backwards || flagged[i] {
            continue;
        }
        let class = if incr {
            AnomalyClass::LostWrite
        } else {
            AnomalyClass::StaleRead
        };
        out.push(class, vec![ops[j].id(), op.id()], || {
            format!(
                "{} saw {value} after {} had already seen {before}",
                describe::op(op),
                describe::op(&ops[j])
            )
        });
    }
}

/// Staleness (INCRs acknowledged before the read that it does not count) and per-client
/// monotonicity of `READONLY` reads.
fn check_readonly(
    ops: &[Op],
    seen: &[(usize, i64)],
    acked_complete: &[u64],
    out: &mut KeyFindings,
    readonly: &mut ReadOnlyCollector,
) {
    // Acknowledged INCRs by returned value, so "acknowledged INCRs above v" is a suffix.
    let mut incrs: Vec<(i64, u64)> = seen
        .iter()
        .filter(|(i, _)| ops[*i].op.call == Call::Incr)
        .map(|&(i, v)| (v, ops[i].complete_ns))
        .collect();
    incrs.sort_unstable();
    // suffix_done[k]: the earliest completion among incrs[k..]; if it is before the read, it is
    // the first INCR the read missed, and if not, the read missed none.
    let mut suffix_done = vec![u64::MAX; incrs.len() + 1];
    for k in (0..incrs.len()).rev() {
        suffix_done[k] = suffix_done[k + 1].min(incrs[k].1);
    }
    // Monotonicity per READONLY session (client and node).
    let mut last: HashMap<(u32, u32), (i64, usize)> = HashMap::default();
    for &(i, value) in seen.iter().filter(|(i, _)| ops[*i].is_readonly_read()) {
        let op = &ops[i];
        let acked = acked_complete.partition_point(|&c| c < op.invoke_ns()) as i64;
        let versions = (acked - value).max(0) as u64;
        // The first acknowledged INCR the read missed: above its value, done before it.
        let above = incrs.partition_point(|&(v, _)| v <= value);
        let first_missed = suffix_done[above];
        let lag = if first_missed < op.invoke_ns() {
            op.invoke_ns() - first_missed
        } else {
            0
        };
        readonly.sample(op.op.client, versions, if versions > 0 { lag } else { 0 });
        let client = op.op.client;
        let session = (client, op.op.node);
        if let Some(&(before, j)) = last.get(&session) {
            if value < before {
                readonly.non_monotonic(client);
                out.push(
                    AnomalyClass::NonMonotonicRead,
                    vec![ops[j].id(), op.id()],
                    || {
                        format!(
                            "client {client} read {before} ({}) and then {value} ({})",
                            describe::op(&ops[j]),
                            describe::op(op)
                        )
                    },
                );
            }
        }
        if last
            .get(&session)
            .is_none_or(|&(before, _)| value >= before)
        {
            last.insert(session, (value, i));
        }
    }
}
