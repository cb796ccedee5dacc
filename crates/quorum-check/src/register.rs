//! The register workload (GET / SET / SET ... GET): direct rules that name the anomaly when
//! they can (phantom values, lost updates, stale reads), then the linearizability search, then
//! `READONLY` staleness and session monotonicity.
//!
//! The direct rules assume what the workload promises: every write of a key writes a unique
//! value. Where a value was written more than once they say nothing (they would be unsound) and
//! the search alone decides.

use crate::fasthash::FxHashMap as HashMap;

use crate::describe;
use crate::findings::KeyFindings;
use crate::history::Call;
use crate::linearize::{self, RegOp, SearchOp, Verdict};
use crate::prepare::{KeyOps, Op};
use crate::readonly::ReadOnlyCollector;
use crate::report::AnomalyClass;
use crate::suffix::SuffixIndex;
use crate::SearchBudget;

/// Interned values (0 is nil) and who wrote each.
struct Values<'h> {
    ids: HashMap<&'h str, u32>,
    /// value id -> indices (into the key's ops) of writes not known to have failed.
    writers: HashMap<u32, Vec<usize>>,
}

impl<'h> Values<'h> {
    fn id(&self, value: Option<&str>) -> Option<u32> {
        match value {
            None => Some(0),
            Some(v) => self.ids.get(v).copied(),
        }
    }
}

/// Acknowledged writes sorted by invocation, for "was it overwritten before t" questions.
struct AckedWrites {
    /// (invoke_ns, complete_ns, op index), by invoke_ns.
    by_invoke: Vec<(u64, u64, usize)>,
    /// suffix_min[i]: earliest (complete_ns, op index) among by_invoke[i..].
    suffix_min: Vec<(u64, usize)>,
}

impl AckedWrites {
    fn new(ops: &[Op]) -> Self {
        let mut by_invoke: Vec<(u64, u64, usize)> = ops
            .iter()
            .enumerate()
            .filter(|(_, op)| op.is_ok() && written(op).is_some())
            .map(|(i, op)| (op.invoke_ns(), op.complete_ns, i))
            .collect();
        by_invoke.sort_unstable();
        let mut suffix_min = vec![(u64::MAX, usize::MAX); by_invoke.len() + 1];
        for i in (0..by_invoke.len()).rev() {
            suffix_min[i] = suffix_min[i + 1].min((by_invoke[i].1, by_invoke[i].2));
        }
        AckedWrites {
            by_invoke,
            suffix_min,
        }
    }

    /// The first index of writes invoked strictly after `ns`.
    fn invoked_after(&self, ns: u64) -> usize {
        self.by_invoke.partition_point(|w| w.0 <= ns)
    }

    /// The acknowledged write invoked after `ns` that completed first: the earliest certain
    /// overwrite of a value whose write completed at `ns`.
    fn first_overwrite_after(&self, ns: u64) -> Option<(u64, usize)> {
        let min = self.suffix_min[self.invoked_after(ns)];
        (min.0 != u64::MAX).then_some(min)
    }
}

fn written<'h>(op: &Op<'h>) -> Option<&'h str> {
    match &op.op.call {
        Call::Set { value } | Call::Swap { value } => Some(value),
        _ => None,
    }
}

/// A swap that returned the very value it wrote. Values are unique, so it saw its own write:
/// it was applied twice (a retried request applied again instead of answered from the
/// deduplication cache).
fn returned_own_value(op: &Op) -> bool {
    matches!(&op.op.call, Call::Swap { value } if op.value_reply() == Some(Some(value.as_str())))
}

/// What an acknowledged read or swap saw.
fn observed<'h>(op: &Op<'h>) -> Option<Option<&'h str>> {
    match op.op.call {
        Call::Get | Call::Swap { .. } => op.value_reply(),
        _ => None,
    }
}

/// Checks one register key.
pub(crate) fn check(
    key: &KeyOps,
    budget: &mut SearchBudget,
    out: &mut KeyFindings,
    readonly: &mut ReadOnlyCollector,
) {
    let ops = &key.ops;
    let mut values = Values {
        ids: HashMap::default(),
        writers: HashMap::default(),
    };
    for (i, op) in ops.iter().enumerate() {
        if let Some(v) = written(op) {
            let next = values.ids.len() as u32 + 1;
            let id = *values.ids.entry(v).or_insert(next);
            if !op.is_failed() {
                values.writers.entry(id).or_default().push(i);
            }
        }
    }
    let acked = AckedWrites::new(ops);
    check_observations(ops, &values, &acked, out);
    check_lost_updates(ops, &values, out);
    check_readonly(ops, &values, &acked, out, readonly);
    if out.any() {
        // A named anomaly already proves the key invalid; the search would only repeat it.
        return;
    }
    let search_ops = search_ops(ops, &values);
    let limit = budget.limit(search_ops.len());
    match linearize::search(&search_ops, limit, &mut budget.spent) {
        Verdict::Linearizable => {}
        Verdict::LimitExceeded => out.push(AnomalyClass::SearchLimitExceeded, Vec::new(), || {
            if limit == 0 {
                "not searched: the check's total search budget was spent on earlier keys; \
                 this key is neither proven valid nor invalid"
                    .to_string()
            } else {
                format!(
                    "the linearizability search of {} operations gave up after {limit} steps; \
                     this key is neither proven valid nor invalid",
                    search_ops.len()
                )
            }
        }),
        Verdict::NotLinearizable { blocked_ns } => {
            let (ids, text) = explain(ops, &search_ops, blocked_ns, budget);
            out.push(AnomalyClass::NotLinearizable, ids, || text);
        }
    }
}

/// Phantom and future values in any read; stale values in linearizable reads.
fn check_observations(ops: &[Op], values: &Values, acked: &AckedWrites, out: &mut KeyFindings) {
    for (i, op) in ops.iter().enumerate() {
        let Some(seen) = observed(op) else { continue };
        if returned_own_value(op) {
            out.push(AnomalyClass::DuplicateApply, vec![op.id()], || {
                format!(
                    "{} returned the value it wrote itself: it was applied twice",
                    describe::op(op)
                )
            });
            continue;
        }
        let id = values.id(seen);
        let writers: Vec<usize> = id
            .and_then(|id| values.writers.get(&id))
            .map(|w| w.iter().copied().filter(|&w| w != i).collect())
            .unwrap_or_default();
        if seen.is_some() && writers.is_empty() {
            out.push(AnomalyClass::PhantomWrite, vec![op.id()], || {
                format!(
                    "{} returned a value no operation that could have succeeded wrote",
                    describe::op(op)
                )
            });
            continue;
        }
        if seen.is_some() && writers.iter().all(|&w| ops[w].invoke_ns() > op.complete_ns) {
            let w = writers[0];
            out.push(
                AnomalyClass::PhantomWrite,
                vec![op.id(), ops[w].id()],
                || {
                    format!(
                        "{} returned a value before it was written: {} was invoked after the read \
                     completed",
                        describe::op(op),
                        describe::op(&ops[w])
                    )
                },
            );
            continue;
        }
        if op.is_readonly_read() {
            continue;
        }
        // Stale: the value's only write was certainly overwritten before this op began.
        let overwrite = match (seen, writers.as_slice()) {
            (None, _) => acked.suffix_min[0],
            (Some(_), [w]) => acked
                .first_overwrite_after(ops[*w].complete_ns)
                .unwrap_or((u64::MAX, usize::MAX)),
            _ => continue,
        };
        if overwrite.0 < op.invoke_ns() {
            let newer = &ops[overwrite.1];
            let mut ids = vec![op.id(), newer.id()];
            ids.extend(writers.first().map(|&w| ops[w].id()));
            out.push(AnomalyClass::StaleRead, ids, || {
                let source = match writers.first() {
                    Some(&w) => format!("written by {}", describe::op(&ops[w])),
                    None => "the initial nil".to_string(),
                };
                format!(
                    "{} returned {} ({source}), but {} had overwritten it before the read \
                     was invoked",
                    describe::op(op),
                    describe::value(seen),
                    describe::op(newer)
                )
            });
        }
    }
}

/// Each write of a value can be replaced by at most one swap that returns it: two acknowledged
/// swaps returning the same once-written value means one overwrote a write it never saw.
fn check_lost_updates(ops: &[Op], values: &Values, out: &mut KeyFindings) {
    let mut swaps_by_value: HashMap<u32, Vec<usize>> = HashMap::default();
    for (i, op) in ops.iter().enumerate() {
        // A swap applied twice is reported as such; its second application overwrote its
        // own first one, which replaced no one else's write.
        if returned_own_value(op) {
            continue;
        }
        if let (Call::Swap { .. }, Some(seen)) = (&op.op.call, op.value_reply()) {
            if let Some(id) = values.id(seen) {
                swaps_by_value.entry(id).or_default().push(i);
            }
        }
    }
    let mut lost: Vec<(u32, Vec<usize>)> = swaps_by_value.into_iter().collect();
    lost.sort_unstable();
    for (id, swaps) in lost {
        let instances = values.writers.get(&id).map_or(0, Vec::len) + usize::from(id == 0);
        if swaps.len() <= instances {
            continue;
        }
        let ids = swaps.iter().map(|&s| ops[s].id()).collect();
        out.push(AnomalyClass::LostWrite, ids, || {
            let listed: Vec<String> = swaps.iter().map(|&s| describe::op(&ops[s])).collect();
            format!(
                "lost update: {} swaps returned the same previous value, which was written \
                 {instances} time(s): {}",
                swaps.len(),
                listed.join("; ")
            )
        });
    }
}

/// Staleness and per-session monotonicity of `READONLY` reads.
fn check_readonly(
    ops: &[Op],
    values: &Values,
    acked: &AckedWrites,
    out: &mut KeyFindings,
    readonly: &mut ReadOnlyCollector,
) {
    // The write each read saw; None for nil or when the value has no single writer.
    let source = |op: &Op| -> Option<Option<usize>> {
        let seen = op.value_reply()?;
        if seen.is_none() {
            return Some(None);
        }
        match values
            .id(seen)
            .and_then(|id| values.writers.get(&id))?
            .as_slice()
        {
            [w] => Some(Some(*w)),
            _ => None,
        }
    };
    let mut reads: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].is_readonly_read() && ops[i].is_ok())
        .collect();
    // Monotonicity per READONLY session (client and node), in invocation order (ops are
    // already in id order): session -> (invoke of the newest writer seen, that read).
    let mut newest_seen: HashMap<(u32, u32), (u64, usize)> = HashMap::default();
    for &r in &reads {
        let op = &ops[r];
        let client = op.op.client;
        let session = (client, op.op.node);
        let Some(src) = source(op) else { continue };
        if let Some(&(newest_invoke, earlier)) = newest_seen.get(&session) {
            let older = match src {
                None => true,
                Some(w) => ops[w].complete_ns < newest_invoke,
            };
            if older {
                readonly.non_monotonic(client);
                out.push(
                    AnomalyClass::NonMonotonicRead,
                    vec![ops[earlier].id(), op.id()],
                    || {
                        format!(
                            "client {client} read {} and then {}, an older value",
                            describe::op(&ops[earlier]),
                            describe::op(op)
                        )
                    },
                );
            }
        }
        if let Some(w) = src {
            let entry = newest_seen.entry(session).or_insert((0, r));
            if ops[w].invoke_ns() >= entry.0 {
                *entry = (ops[w].invoke_ns(), r);
            }
        }
    }
    // Staleness: sweep reads by invocation, adding writes as they complete before it.
    reads.sort_by_key(|&r| ops[r].invoke_ns());
    let mut by_complete: Vec<usize> = (0..acked.by_invoke.len()).collect();
    by_complete.sort_by_key(|&k| acked.by_invoke[k].1);
    let mut index = SuffixIndex::new(acked.by_invoke.len());
    let mut added = 0;
    for &r in &reads {
        let op = &ops[r];
        while added < by_complete.len() && acked.by_invoke[by_complete[added]].1 < op.invoke_ns() {
            let k = by_complete[added];
            index.insert(k, acked.by_invoke[k].1, k);
            added += 1;
        }
        let from = match source(op) {
            None => continue,
            Some(None) => 0,
            Some(Some(w)) => acked.invoked_after(ops[w].complete_ns),
        };
        let (versions, first) = index.query(from);
        let lag = first.map_or(0, |(done, _)| op.invoke_ns() - done);
        readonly.sample(op.op.client, versions, lag);
    }
}

/// The operations the search linearizes: failed operations and reads that did not succeed are
/// left out (they constrain nothing); `READONLY` reads are not required to be linearizable.
fn search_ops(ops: &[Op], values: &Values) -> Vec<SearchOp> {
    let mut out = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        if op.is_failed() || op.is_readonly_read() {
            continue;
        }
        let reg = match (&op.op.call, op.value_reply()) {
            (Call::Get, Some(seen)) => RegOp::Get {
                value: values.id(seen).unwrap_or(u32::MAX),
            },
            (Call::Get, None) => continue,
            (Call::Set { value }, _) => RegOp::Set {
                value: values.ids[value.as_str()],
            },
            (Call::Swap { value }, seen) => RegOp::Swap {
                value: values.ids[value.as_str()],
                prev: seen.map(|s| values.id(s).unwrap_or(u32::MAX)),
            },
            _ => continue,
        };
        out.push(SearchOp {
            call_ns: op.invoke_ns(),
            return_ns: op.complete_ns,
            op: reg,
            origin: i,
        });
    }
    linearize::prepare_unknown_writes(out)
}

/// The history cut at `cut_ns`: what had been invoked by then, with the results that had
/// arrived by then. An operation still running at the cut keeps only what it may have done
/// (a write may have happened; a read's result is not known yet), so any linearization of the
/// whole history restricted to the cut linearizes it: failures are monotone in the cut.
fn cut_at(ops: &[SearchOp], cut_ns: u64) -> Vec<SearchOp> {
    let cut = ops
        .iter()
        .filter(|op| op.call_ns <= cut_ns)
        .filter_map(|op| {
            if op.return_ns <= cut_ns {
                return Some(*op);
            }
            let op_then = match op.op {
                RegOp::Get { .. } => return None,
                RegOp::Set { value } => RegOp::Set { value },
                RegOp::Swap { value, .. } => RegOp::Swap { value, prev: None },
            };
            Some(SearchOp {
                return_ns: u64::MAX,
                op: op_then,
                ..*op
            })
        })
        .collect();
    linearize::prepare_unknown_writes(cut)
}

/// Finds the earliest completion after which the history cannot be linearized, and names the
/// operations around it.
///
/// Failing searches are the expensive ones (each explores everything reachable before the
/// failure), so instead of bisecting blindly the search starts at `blocked_ns`, where the
/// whole-history search got stuck, and gallops backwards to a linearizable cut: usually two
/// searches, one failing and one not.
fn explain(
    ops: &[Op],
    search_ops: &[SearchOp],
    blocked_ns: u64,
    budget: &mut SearchBudget,
) -> (Vec<u64>, String) {
    let mut cuts: Vec<u64> = search_ops
        .iter()
        .map(|op| op.return_ns)
        .filter(|&t| t != u64::MAX)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    // Invariants: the cut at cuts[hi] fails (the last cut is the whole history); lo is 0 or the
    // cut at cuts[lo - 1] is linearizable.
    let (mut lo, mut hi) = (0, cuts.len().saturating_sub(1));
    let fails = |at: usize, budget: &mut SearchBudget| -> Option<bool> {
        let cut = cut_at(search_ops, cuts[at]);
        let limit = budget.limit(cut.len());
        if limit == 0 {
            return None;
        }
        // A cut the search cannot decide is taken as failing, keeping the explanation short.
        Some(linearize::search(&cut, limit, &mut budget.spent) != Verdict::Linearizable)
    };
    let blocked = cuts.partition_point(|&t| t < blocked_ns).min(hi);
    let blocked_fails = if blocked == hi {
        Some(true) // the whole history, already searched
    } else {
        fails(blocked, budget)
    };
    match blocked_fails {
        Some(true) => {
            hi = blocked;
            // Gallop backwards for a linearizable cut.
            let mut step = 1;
            while lo < hi {
                let probe = hi.saturating_sub(step).max(lo);
                match fails(probe, budget) {
                    Some(true) => hi = probe,
                    Some(false) => {
                        lo = probe + 1;
                        break;
                    }
                    None => break,
                }
                step *= 2;
            }
        }
        Some(false) => {
            lo = blocked + 1;
            // Gallop forwards for a failing cut.
            let mut step = 1;
            while lo < hi {
                let probe = (blocked + step).min(hi);
                match fails(probe, budget) {
                    Some(true) => {
                        hi = probe;
                        break;
                    }
                    Some(false) => lo = probe + 1,
                    None => break,
                }
                step *= 2;
            }
        }
        None => lo = hi,
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        match fails(mid, budget) {
            Some(true) => hi = mid,
            Some(false) => lo = mid + 1,
            None => break, // explain with the earliest failing cut found so far
        }
    }
    let cut_ns = cuts.get(hi).copied().unwrap_or(u64::MAX);
    let prefix = cut_at(search_ops, cut_ns);
    let culprits: Vec<&SearchOp> = search_ops
        .iter()
        .filter(|op| op.return_ns == cut_ns)
        .collect();
    let involved = involved(search_ops, &prefix, &culprits);
    let listed: Vec<String> = involved.iter().map(|&i| describe::op(&ops[i])).collect();
    let culprit_text: Vec<String> = culprits
        .iter()
        .map(|op| describe::op(&ops[op.origin]))
        .collect();
    let text = format!(
        "no order of the {} operations up to {} agrees with real time and a register: {} \
         cannot be placed. Operations involved: {}",
        prefix.len(),
        describe::time(cut_ns),
        culprit_text.join(" and "),
        listed.join("; ")
    );
    (involved.iter().map(|&i| ops[i].id()).collect(), text)
}

/// The operations that explain why `culprits` cannot be placed, most telling first: the
/// culprits, the writers of what they saw, acknowledged operations overlapping them, writes
/// with unknown outcome sent while they ran, then what completed just before them. Returns
/// indices into the key's operations, in id order.
fn involved(search_ops: &[SearchOp], prefix: &[SearchOp], culprits: &[&SearchOp]) -> Vec<usize> {
    let first_call = culprits.iter().map(|op| op.call_ns).min().unwrap_or(0);
    let last_return = culprits.iter().map(|op| op.return_ns).max().unwrap_or(0);
    let mut involved: Vec<usize> = culprits.iter().map(|op| op.origin).collect();
    for culprit in culprits {
        if let Some(seen) = culprit.op.observed() {
            let writers = search_ops.iter().filter(|op| op.op.written() == Some(seen));
            involved.extend(writers.map(|op| op.origin).take(2));
        }
    }
    // Judged on the whole history: an operation still running at the cut is concurrent with
    // the culprits even though the cut treats its outcome as unknown.
    let overlapping = search_ops.iter().filter(|op| op.call_ns <= last_return);
    involved.extend(
        overlapping
            .clone()
            .filter(|op| op.return_ns != u64::MAX && op.return_ns >= first_call)
            .map(|op| op.origin),
    );
    involved.extend(
        overlapping
            .filter(|op| op.return_ns == u64::MAX && op.call_ns >= first_call)
            .map(|op| op.origin),
    );
    let mut before: Vec<&SearchOp> = prefix
        .iter()
        .filter(|op| op.return_ns < first_call)
        .collect();
    before.sort_by_key(|op| op.return_ns);
    involved.extend(before.iter().rev().take(3).map(|op| op.origin));
    let writes_before = before.iter().rev().filter(|op| op.op.written().is_some());
    involved.extend(writes_before.take(2).map(|op| op.origin));
    let mut seen = std::collections::HashSet::new();
    involved.retain(|i| seen.insert(*i));
    involved.truncate(EXPLAINED_OPS_MAX);
    involved.sort_unstable();
    involved
}

/// Operations named in one linearizability explanation.
const EXPLAINED_OPS_MAX: usize = 12;
