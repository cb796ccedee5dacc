//! The queue workload's ordering rules, stated over the elements whose whole life the history
//! shows: pushed once with an acknowledgement, seen once (one copy: see
//! [`Element::clean`](crate::queue::Element)), and either taken from the queue by one
//! acknowledged pop or move or still in the queue at the final read. Such an element was in its
//! queue at least from its push's completion until its taker's invocation (or the final read's).
//!
//! - **stale_read**: an acknowledged `LPOP`, `RPOP` or `LMOVE` that found the queue empty
//!   although some element was certainly in it throughout the call (its push completed before
//!   the call began and it left only after the call ended). Pops and moves go through the log,
//!   so an empty reply means an empty queue at one point of the call. Blocking pops are not
//!   judged: a node serves them from its own applied state, and a node behind the leader may
//!   let one time out while the queue holds data, which is a late wake-up, not a wrong reply.
//! - **fifo_violation**: elements pushed to the tail (`RPUSH`) keep their order in the list
//!   (pushes and pops at either end never reorder the elements between), so if `a`'s `RPUSH`
//!   completed before `b`'s was invoked, `a` is nearer the head than `b` while both are there.
//!   A pop or move from the head that returned `b` and completed before `a` certainly left is
//!   then out of order. Checked for pairs pushed by one client (its pushes are sequential),
//!   which is where the workload's producers make the rule bite; `LPUSH`ed elements and pops
//!   from the tail (`BRPOP`, `RPOP`) take no part beyond leaving `a`.

use crate::describe;
use crate::fasthash::FxHashMap;
use crate::findings::KeyFindings;
use crate::history::{Call, ListEnd};
use crate::prepare::Op;
use crate::queue::{Element, Queue};
use crate::report::AnomalyClass;

/// How long a clean element certainly stayed in its queue.
#[derive(Clone, Copy)]
struct Stay<'h> {
    /// Its acknowledged push: in the queue from `push.complete_ns`.
    push: Op<'h>,
    /// Still in the queue until at least then.
    until_ns: u64,
    /// The operation that shows it: its taker, or the final read that holds it.
    proof: Op<'h>,
    /// The acknowledged pop or move from the head that took it, if one did.
    head_taker: Option<Op<'h>>,
}

fn stay<'h>(queue: &str, element: &Element<'h>) -> Option<Stay<'h>> {
    if !element.clean() {
        return None;
    }
    let push = *element.pushes.iter().find(|p| p.is_ok())?;
    let (until_ns, proof, head_taker) = match element.taken.as_slice() {
        [(taker, _)] => {
            let from_head = match &taker.op.call {
                Call::Pop { end, .. } => *end == ListEnd::Head,
                Call::Move { .. } => true,
                _ => false,
            };
            (taker.invoke_ns(), *taker, from_head.then_some(*taker))
        }
        [] => {
            let (read, _) = element.held.iter().find(|(_, key)| *key == queue)?;
            (read.invoke_ns(), *read, None)
        }
        _ => return None,
    };
    Some(Stay {
        push,
        until_ns,
        proof,
        head_taker,
    })
}

/// Checks one queue's ordering rules.
pub(crate) fn check(queue: &Queue, elements: &FxHashMap<&str, Element>, out: &mut KeyFindings) {
    let mut stays: Vec<Stay> = Vec::new();
    // Tail pushes per client, in invocation order: (push, the element's stay if known).
    let mut by_client: FxHashMap<u32, Vec<(Op, Option<Stay>)>> = FxHashMap::default();
    for op in &queue.ops {
        let Call::Push { element, end } = &op.op.call else {
            continue;
        };
        let Some(seen) = elements.get(element.as_str()) else {
            continue;
        };
        let known = stay(queue.key, seen);
        stays.extend(known);
        if *end == ListEnd::Tail {
            by_client
                .entry(op.op.client)
                .or_default()
                .push((*op, known));
        }
    }
    empty_while_held(queue, stays, out);
    let mut clients: Vec<_> = by_client.into_iter().collect();
    clients.sort_unstable_by_key(|(client, _)| *client);
    for (_, pushes) in clients {
        fifo(&pushes, out);
    }
}

/// stale_read: non-blocking pops and moves that found the queue empty while an element
/// certainly stayed in it.
fn empty_while_held(queue: &Queue, mut stays: Vec<Stay>, out: &mut KeyFindings) {
    stays.sort_unstable_by_key(|s| s.push.complete_ns);
    // longest[i]: the stay among stays[..=i] that lasts longest.
    let mut longest: Vec<usize> = Vec::with_capacity(stays.len());
    for (i, s) in stays.iter().enumerate() {
        let best = match longest.last() {
            Some(&b) if stays[b].until_ns >= s.until_ns => b,
            _ => i,
        };
        longest.push(best);
    }
    let empty = queue.ops.iter().filter(|op| {
        let non_blocking = matches!(
            op.op.call,
            Call::Pop { block_ms: None, .. } | Call::Move { block_ms: None, .. }
        );
        non_blocking && op.value_reply() == Some(None)
    });
    for pop in empty {
        let before = stays.partition_point(|s| s.push.complete_ns < pop.invoke_ns());
        let Some(&i) = before.checked_sub(1).and_then(|last| longest.get(last)) else {
            continue;
        };
        let held = stays[i];
        if held.until_ns <= pop.complete_ns {
            continue;
        }
        let ids = vec![held.push.id(), pop.id(), held.proof.id()];
        out.push(AnomalyClass::StaleRead, ids, || {
            format!(
                "{} found the queue empty, but the element of {} was in it from before the pop \
                 began until after it ended (it left no earlier than {}: {})",
                describe::op(pop),
                describe::op(&held.push),
                describe::time(held.until_ns),
                describe::op(&held.proof)
            )
        });
    }
}

/// fifo_violation among one client's tail pushes, in push order.
fn fifo(pushes: &[(Op, Option<Stay>)], out: &mut KeyFindings) {
    // The earlier element that stayed longest.
    let mut ahead: Option<Stay> = None;
    for (push, known) in pushes {
        let Some(later) = known else {
            continue;
        };
        if let (Some(earlier), Some(taker)) = (ahead, later.head_taker) {
            if earlier.until_ns > taker.complete_ns && earlier.push.complete_ns < push.invoke_ns() {
                let ids = vec![earlier.push.id(), push.id(), taker.id(), earlier.proof.id()];
                out.push(AnomalyClass::FifoViolation, ids, || {
                    format!(
                        "{} took the element of {} from the head while the element of {}, \
                         pushed to the tail before it by the same client, was still ahead of it \
                         (it left no earlier than {}: {})",
                        describe::op(&taker),
                        describe::op(push),
                        describe::op(&earlier.push),
                        describe::time(earlier.until_ns),
                        describe::op(&earlier.proof)
                    )
                });
            }
        }
        if ahead.is_none_or(|a| later.until_ns > a.until_ns) {
            ahead = Some(*later);
        }
    }
}
