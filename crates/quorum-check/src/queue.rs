//! The queue workload: producers push unique elements (`RPUSH`, some `LPUSH`), consumers pop
//! them (`BLPOP`, `BRPOP`, `LPOP`, or `LMOVE`/`BLMOVE` into their own processing list followed
//! by `LREM` of that element, as a reliable queue does), and the run ends with one atomic read
//! of every queue with its processing lists (`Range`). Each element must be delivered or still
//! be there at the end, exactly once.
//!
//! Elements are unique in the history, so their copies can be counted. A push that took effect
//! makes one copy. A copy leaves its queue at most once, by a pop (delivered) or by a move into
//! a processing list, which it leaves only by an `LREM` (delivered); otherwise it is still in
//! some list at the final read. With M(e) the pushes of `e` that may have taken effect
//! (acknowledged or unknown: at most one, since elements are unique), the rules are:
//! - **phantom_write**: an element popped, moved, removed or read at the end that no push that
//!   could have taken effect wrote, that was pushed to another queue, or that was seen by an
//!   operation that completed before its push was invoked;
//! - **duplicate_apply**: acknowledged pops and moves of `e` plus its copies in the queue at
//!   the end exceed M(e) (it left the queue twice, or left and is still there), or acknowledged
//!   pops and removals plus its copies anywhere at the end exceed M(e) (delivered twice);
//! - **lost_write**: an acknowledged push neither delivered by an acknowledged operation nor
//!   in a list at the end. Such an element may have been taken by a pop whose outcome is
//!   unknown (whose element nobody saw), so per queue only the missing elements beyond its
//!   unknown pops are reported, as a count with the first few; an unknown `LREM` of the element
//!   explains it exactly. An element an acknowledged move handed to a consumer is never
//!   excused by unknown pops (pops do not touch processing lists): it must be removed by the
//!   consumer or still be in its processing list. Unknown moves explain nothing: the element
//!   they took is in the processing list, or in the queue if they applied after the final read.
//!
//! Ordering rules (a non-blocking pop that found an element-holding queue empty, FIFO) are in
//! [`crate::queue_order`].
//!
//! The final read of a queue is its last acknowledged `Range`: atomic, and linearizable, so it
//! sees every acknowledged operation (all completed before it), and an unknown operation that
//! applies later only takes what it shows or adds what may be missing. It must cover every
//! processing list the queue's moves went to, and no list may be read with two queues, else the
//! queue is reported as malformed and its losses are not judged. Queues without an
//! acknowledged final read are not judged for losses either (counted in [`QueueStats`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::describe;
use crate::fasthash::FxHashMap;
use crate::findings::KeyFindings;
use crate::history::Call;
use crate::prepare::{KeyOps, Op};
use crate::queue_order;
use crate::report::{AnomalyClass, QueueStats};

/// Missing elements listed in a queue's `lost_write` anomaly.
const MISSING_LISTED_MAX: usize = 10;

/// Everything seen of one element.
#[derive(Default)]
pub(crate) struct Element<'h> {
    /// Its pushes, any outcome.
    pub pushes: Vec<Op<'h>>,
    /// Acknowledged pops and moves that returned it, each with whether it popped (not moved).
    pub taken: Vec<(Op<'h>, bool)>,
    /// Acknowledged LREMs that removed it, with how many copies.
    pub removed: Vec<(Op<'h>, u64)>,
    /// An LREM of it had an unknown outcome.
    pub remove_unknown: bool,
    /// Acknowledged LREMs of it that found nothing to remove.
    pub remove_found_nothing: Vec<Op<'h>>,
    /// One entry per copy in the final reads: the read and the list's key.
    pub held: Vec<(Op<'h>, &'h str)>,
}

impl<'h> Element<'h> {
    /// Pushes that may have taken effect.
    pub fn may_exist(&self) -> usize {
        self.pushes.iter().filter(|p| !p.is_failed()).count()
    }

    /// The queue it was pushed to.
    pub fn queue(&self) -> Option<&'h str> {
        self.pushes.first().map(|p| p.op.key.as_str())
    }

    /// Copies that left the queue by acknowledged operations or are in it at the end.
    fn left_or_in_queue(&self, queue: &str) -> usize {
        self.taken.len() + self.held.iter().filter(|(_, k)| *k == queue).count()
    }

    /// Copies delivered by acknowledged operations or in some list at the end.
    fn accounted(&self) -> usize {
        let popped = self.taken.iter().filter(|(_, popped)| *popped).count();
        let removed: u64 = self.removed.iter().map(|(_, n)| n).sum();
        popped + removed as usize + self.held.len()
    }

    /// One copy exactly, pushed once: the only elements the ordering rules reason about.
    pub fn clean(&self) -> bool {
        let Some(queue) = self.queue() else {
            return false;
        };
        self.may_exist() == 1 && self.left_or_in_queue(queue) <= 1 && self.accounted() <= 1
    }
}

/// One queue and what its rules need.
pub(crate) struct Queue<'h> {
    pub key: &'h str,
    /// The last acknowledged `Range` on it.
    pub final_read: Option<Op<'h>>,
    /// Whether losses can be judged (a final read covering every processing list).
    pub judged: bool,
    /// Its operations, in id order.
    pub ops: Vec<Op<'h>>,
    unknown_pops: u64,
    /// Push ops of acknowledged elements neither delivered nor remaining.
    missing: Vec<Op<'h>>,
}

/// Checks every queue key together (elements move between a queue and its processing
/// lists), adding anomalies to `anomalies` and counts to `stats`.
pub(crate) fn check(keys: &[&KeyOps], anomalies: &mut Vec<crate::Anomaly>, stats: &mut QueueStats) {
    let mut findings: BTreeMap<&str, KeyFindings> = BTreeMap::new();
    let mut queues = collect_queues(keys, &mut findings);
    let elements = collect_elements(keys, &queues, stats);
    stats.queues = queues.len() as u64;
    stats.queues_without_final_read =
        queues.values().filter(|q| q.final_read.is_none()).count() as u64;

    let queue_of = processing_lists(keys);
    let mut by_element: Vec<(&str, &Element)> = elements.iter().map(|(e, el)| (*e, el)).collect();
    by_element.sort_unstable_by_key(|(e, el)| (el.pushes.first().map(|p| p.id()), *e));
    for (element, seen) in by_element {
        judge(element, seen, &queue_of, &mut queues, &mut findings, stats);
    }
    for queue in queues.values() {
        let out = findings
            .entry(queue.key)
            .or_insert_with(|| KeyFindings::new(queue.key));
        report_missing(queue, out, stats);
        queue_order::check(queue, &elements, out);
    }
    for (_, out) in findings {
        out.finish(anomalies);
    }
}

/// The queues (keys that are not processing lists) with their final reads, reporting final
/// reads that miss a processing list or share one with another queue.
fn collect_queues<'h>(
    keys: &[&KeyOps<'h>],
    findings: &mut BTreeMap<&'h str, KeyFindings>,
) -> BTreeMap<&'h str, Queue<'h>> {
    let processing: BTreeSet<&str> = processing_lists(keys).into_keys().collect();
    let mut queues = BTreeMap::new();
    let mut read_with: FxHashMap<&str, &str> = FxHashMap::default();
    for key in keys.iter().filter(|k| !processing.contains(k.key)) {
        let final_read = key
            .ops
            .iter()
            .filter(|op| matches!(op.op.call, Call::Range { .. }) && op.is_ok())
            .max_by_key(|op| op.invoke_ns())
            .copied();
        let mut problem = None;
        if let Some(read) = &final_read {
            let Call::Range { with } = &read.op.call else {
                unreachable!("filtered above")
            };
            let covered: BTreeSet<&str> = with.iter().map(String::as_str).collect();
            let moved_to = key.ops.iter().filter_map(|op| match &op.op.call {
                Call::Move { to, .. } => Some(to.as_str()),
                _ => None,
            });
            for to in moved_to {
                if !covered.contains(to) {
                    problem = Some(format!(
                        "its moves went to {to:?}, which {} does not read",
                        describe::op(read)
                    ));
                    break;
                }
            }
            for list in &covered {
                match read_with.insert(list, key.key) {
                    Some(other) if other != key.key => {
                        problem = Some(format!(
                            "{list:?} is read with queues {other:?} and {:?}",
                            key.key
                        ));
                    }
                    _ => {}
                }
            }
            if let Some(why) = &problem {
                let id = read.id();
                findings
                    .entry(key.key)
                    .or_insert_with(|| KeyFindings::new(key.key))
                    .push(AnomalyClass::MalformedHistory, vec![id], || {
                        format!("the final read cannot judge this queue's losses: {why}")
                    });
            }
        }
        let unknown_pops = key
            .ops
            .iter()
            .filter(|op| matches!(op.op.call, Call::Pop { .. }))
            .filter(|op| !op.is_ok() && !op.is_failed())
            .count() as u64;
        queues.insert(
            key.key,
            Queue {
                key: key.key,
                judged: final_read.is_some() && problem.is_none(),
                final_read,
                ops: key.ops.clone(),
                unknown_pops,
                missing: Vec::new(),
            },
        );
    }
    queues
}

/// Each processing list (a move's destination) with the queue it belongs to.
fn processing_lists<'h>(keys: &[&KeyOps<'h>]) -> BTreeMap<&'h str, &'h str> {
    let mut lists = BTreeMap::new();
    for key in keys {
        for op in &key.ops {
            if let Call::Move { to, .. } = &op.op.call {
                lists.insert(to.as_str(), key.key);
            }
        }
    }
    lists
}

/// Every element seen, with its pushes and observations; counts operations into `stats`.
fn collect_elements<'h>(
    keys: &[&KeyOps<'h>],
    queues: &BTreeMap<&'h str, Queue<'h>>,
    stats: &mut QueueStats,
) -> FxHashMap<&'h str, Element<'h>> {
    let mut elements: FxHashMap<&str, Element> = FxHashMap::default();
    for op in keys.iter().flat_map(|k| k.ops.iter()) {
        match &op.op.call {
            Call::Push { element, .. } => {
                stats.pushes_acknowledged += u64::from(op.is_ok());
                stats.pushes_unknown += u64::from(!op.is_ok() && !op.is_failed());
                elements.entry(element).or_default().pushes.push(*op);
            }
            Call::Pop { .. } | Call::Move { .. } => match op.value_reply() {
                Some(Some(element)) => {
                    stats.pops_acknowledged += 1;
                    let popped = matches!(op.op.call, Call::Pop { .. });
                    elements
                        .entry(element)
                        .or_default()
                        .taken
                        .push((*op, popped));
                }
                Some(None) => stats.pops_empty += 1,
                None if op.is_failed() => {}
                None if matches!(op.op.call, Call::Pop { .. }) => stats.pops_unknown += 1,
                None => stats.moves_unknown += 1,
            },
            Call::Remove { element } => match op.int_reply() {
                Some(n) if n > 0 => {
                    stats.removes_acknowledged += 1;
                    let removed = (*op, n as u64);
                    elements.entry(element).or_default().removed.push(removed);
                }
                Some(_) => elements
                    .entry(element)
                    .or_default()
                    .remove_found_nothing
                    .push(*op),
                None if op.is_failed() => {}
                None => elements.entry(element).or_default().remove_unknown = true,
            },
            _ => {}
        }
    }
    // Only final reads that cover the queue's lists alone count (see the module docs).
    for queue in queues.values().filter(|q| q.judged) {
        let Some(read) = &queue.final_read else {
            continue;
        };
        let (Some(lists), Call::Range { with }) = (read.lists_reply(), &read.op.call) else {
            continue;
        };
        let keys = std::iter::once(queue.key).chain(with.iter().map(String::as_str));
        for (key, list) in keys.zip(lists) {
            stats.remaining += list.len() as u64;
            for element in list {
                elements.entry(element).or_default().held.push((*read, key));
            }
        }
    }
    elements
}

/// The queue an operation acted on: its key, or for an LREM the queue of its processing list.
fn queue_of_op<'h>(op: &Op<'h>, queue_of: &BTreeMap<&'h str, &'h str>) -> &'h str {
    let key = op.op.key.as_str();
    match op.op.call {
        Call::Remove { .. } => queue_of.get(key).copied().unwrap_or(key),
        _ => key,
    }
}

/// Applies the phantom, duplicate and loss rules to one element.
fn judge<'h>(
    element: &'h str,
    seen: &Element<'h>,
    queue_of: &BTreeMap<&'h str, &'h str>,
    queues: &mut BTreeMap<&'h str, Queue<'h>>,
    findings: &mut BTreeMap<&'h str, KeyFindings>,
    stats: &mut QueueStats,
) {
    let observers: Vec<Op> = (seen.taken.iter().map(|(op, _)| *op))
        .chain(seen.removed.iter().map(|(op, _)| *op))
        .chain(seen.held.iter().map(|(op, _)| *op))
        .collect();
    let Some(first_observer) = observers.first() else {
        return note_missing(element, seen, queues, findings, stats);
    };
    let queue = seen
        .queue()
        .unwrap_or_else(|| queue_of_op(first_observer, queue_of));
    let out = findings
        .entry(queue)
        .or_insert_with(|| KeyFindings::new(queue));
    let shown = describe::value(Some(element));
    if seen.may_exist() == 0 {
        stats.phantoms += 1;
        let mut ids: Vec<u64> = seen.pushes.iter().map(|p| p.id()).collect();
        ids.push(first_observer.id());
        return out.push(AnomalyClass::PhantomWrite, ids, || {
            format!(
                "{} returned {shown}, which no push that could have taken effect pushed",
                describe::op(first_observer)
            )
        });
    }
    let pushed_at = seen
        .pushes
        .iter()
        .filter(|p| !p.is_failed())
        .map(|p| p.invoke_ns())
        .min()
        .unwrap_or(0);
    let push = seen.pushes[0];
    for observer in &observers {
        let elsewhere = queue_of_op(observer, queue_of) != queue;
        if elsewhere || observer.complete_ns < pushed_at {
            stats.phantoms += 1;
            let why = if elsewhere {
                "which was pushed to another queue"
            } else {
                "which was pushed only after it completed"
            };
            return out.push(
                AnomalyClass::PhantomWrite,
                vec![push.id(), observer.id()],
                || {
                    format!(
                        "{} returned {shown} {why}: {}",
                        describe::op(observer),
                        describe::op(&push)
                    )
                },
            );
        }
    }
    let (from_queue, accounted) = (seen.left_or_in_queue(queue), seen.accounted());
    if from_queue > seen.may_exist() || accounted > seen.may_exist() {
        stats.doubled += 1;
        let mut ids = vec![push.id()];
        ids.extend(observers.iter().map(|op| op.id()));
        ids.dedup();
        // One line per observer; a final read holding several copies says how many.
        let observed: Vec<String> = ids[1..]
            .iter()
            .filter_map(|id| {
                let copies = observers.iter().filter(|op| op.id() == *id).count();
                let op = observers.iter().find(|op| op.id() == *id)?;
                let times = if copies > 1 {
                    format!(" ({copies} copies)")
                } else {
                    String::new()
                };
                Some(format!("{}{times}", describe::op(op)))
            })
            .collect();
        return out.push(AnomalyClass::DuplicateApply, ids, || {
            format!(
                "{shown} was pushed {} ({}) but left the queue or stayed in it {from_queue} times, \
                 and was delivered or left in a list {accounted} times: {}",
                match seen.may_exist() {
                    1 => "once".to_string(),
                    n => format!("{n} times"),
                },
                describe::op(&push),
                observed.join("; ")
            )
        });
    }
    if accounted == 0 {
        note_missing(element, seen, queues, findings, stats);
    }
}

/// An element nothing delivered and no final read holds: explained by an unknown LREM of it,
/// lost for certain when an acknowledged move handed it to a consumer, otherwise missing from
/// its queue (judged against the queue's unknown pops in [`report_missing`]).
fn note_missing<'h>(
    element: &'h str,
    seen: &Element<'h>,
    queues: &mut BTreeMap<&'h str, Queue<'h>>,
    findings: &mut BTreeMap<&'h str, KeyFindings>,
    stats: &mut QueueStats,
) {
    let Some(push) = seen.pushes.iter().find(|p| p.is_ok()) else {
        return;
    };
    let Some(queue) = queues.get_mut(push.op.key.as_str()).filter(|q| q.judged) else {
        return;
    };
    if seen.remove_unknown {
        return;
    }
    let Some((moved, _)) = seen.taken.iter().find(|(_, popped)| !popped) else {
        queue.missing.push(*push);
        return;
    };
    stats.missing += 1;
    stats.lost += 1;
    let Some(read) = queue.final_read else {
        return;
    };
    let shown = describe::value(Some(element));
    let mut ids = vec![push.id(), moved.id()];
    ids.extend(seen.remove_found_nothing.iter().map(|op| op.id()));
    ids.push(read.id());
    let removes: Vec<String> = seen
        .remove_found_nothing
        .iter()
        .map(|op| format!("; {} found nothing to remove", describe::op(op)))
        .collect();
    findings
        .entry(queue.key)
        .or_insert_with(|| KeyFindings::new(queue.key))
        .push(AnomalyClass::LostWrite, ids, || {
            format!(
                "{shown} was handed to a consumer by {}, no acknowledged or unknown LREM removed \
                 it{}, and it is not in the processing list at {}",
                describe::op(moved),
                removes.concat(),
                describe::op(&read)
            )
        });
}

/// Reports a queue's missing elements beyond what its unknown pops can explain: which ones
/// those pops took cannot be known, so the anomaly gives the count and the first few.
fn report_missing(queue: &Queue, out: &mut KeyFindings, stats: &mut QueueStats) {
    let missing = queue.missing.len() as u64;
    stats.missing += missing;
    if missing <= queue.unknown_pops {
        return;
    }
    let lost = missing - queue.unknown_pops;
    stats.lost += lost;
    let listed: Vec<&Op> = queue.missing.iter().take(MISSING_LISTED_MAX).collect();
    let mut ids: Vec<u64> = listed.iter().map(|op| op.id()).collect();
    ids.extend(queue.final_read.map(|read| read.id()));
    out.push(AnomalyClass::LostWrite, ids, || {
        let first: Vec<String> = listed.iter().map(|op| describe::op(op)).collect();
        format!(
            "{missing} acknowledged elements were neither popped by an acknowledged pop nor in \
             the final read, and only {} pops had an unknown outcome: at least {lost} lost; the \
             first: {}",
            queue.unknown_pops,
            first.join("; ")
        )
    });
}
