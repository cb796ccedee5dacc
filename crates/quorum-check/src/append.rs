//! The list-append workload (APPEND of unique tokens + GET): reads are lists, and every
//! list a correct store returns is a prefix of one order of tokens, so no search is needed.
//!
//! The longest read `L` stands for that order. A read is checked against `L` by one byte
//! comparison (a prefix of `L` that ends on a token boundary holds exactly `L`'s first tokens),
//! so only `L` and reads that diverge from it are split into tokens: checking stays
//! proportional to the bytes read, not to reads × tokens.
//!
//! Rules: reads are prefixes of `L` (else `NotLinearizable`, the split-brain signature); no token
//! twice in a read (`DuplicateApply`); no token that was never sent or certainly failed, and
//! none whose APPEND was invoked after the read completed (`PhantomWrite`); a linearizable read
//! holds every APPEND acknowledged before it was invoked (`StaleRead`; `LostWrite` for the
//! final read, the last linearizable read of the key) and everything a linearizable read that
//! ended before it began held (`StaleRead`); an acknowledged APPEND returned the byte
//! length of `L`'s prefix that ends with its token (`NotLinearizable` when it sits elsewhere,
//! `LostWrite` when `L` grew past that length without it).

use crate::fasthash::{FxHashMap as HashMap, FxHashSet};

use crate::describe;
use crate::findings::KeyFindings;
use crate::history::{Call, TOKEN_SEPARATOR};
use crate::prepare::{KeyOps, Op};
use crate::readonly::ReadOnlyCollector;
use crate::report::AnomalyClass;
use crate::suffix::SuffixIndex;

/// One acknowledged GET of the key.
struct Read<'h> {
    op: usize,
    value: &'h str,
    /// Tokens of `L` it holds, when it is a prefix of `L`.
    prefix_tokens: Option<usize>,
}

/// The longest read, split into tokens.
struct Order<'h> {
    read: usize,
    tokens: Vec<&'h str>,
    /// ends[i]: byte length of the prefix ending with token i.
    ends: Vec<usize>,
    /// First position of each token.
    position: HashMap<&'h str, usize>,
}

impl<'h> Order<'h> {
    fn new(read: usize, value: &'h str) -> Self {
        let tokens: Vec<&str> = split(value).collect();
        let mut ends = Vec::with_capacity(tokens.len());
        let mut end = 0;
        for token in &tokens {
            end += token.len();
            ends.push(end);
        }
        let mut position = HashMap::with_capacity_and_hasher(tokens.len(), Default::default());
        for (i, token) in tokens.iter().enumerate() {
            position.entry(*token).or_insert(i);
        }
        Order {
            read,
            tokens,
            ends,
            position,
        }
    }

    /// How many of this order's tokens `value` holds, if it is a prefix ending on a boundary.
    fn prefix_tokens(&self, whole: &str, value: &str) -> Option<usize> {
        if value.is_empty() {
            return Some(0);
        }
        if !whole.starts_with(value) {
            return None;
        }
        self.ends.binary_search(&value.len()).ok().map(|i| i + 1)
    }
}

fn split(value: &str) -> impl Iterator<Item = &str> {
    value.split_inclusive(TOKEN_SEPARATOR)
}

/// Checks one list-append key.
pub(crate) fn check(key: &KeyOps, out: &mut KeyFindings, readonly: &mut ReadOnlyCollector) {
    let ops = &key.ops;
    let mut appends: HashMap<&str, usize> = HashMap::default();
    for (i, op) in ops.iter().enumerate() {
        if let Call::Append { token } = &op.op.call {
            if let Some(&first) = appends.get(token.as_str()) {
                out.push(
                    AnomalyClass::MalformedHistory,
                    vec![ops[first].id(), op.id()],
                    || format!("token {token:?} was appended twice; tokens must be unique"),
                );
            } else {
                appends.insert(token, i);
            }
        }
    }
    let mut reads: Vec<Read> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match (&op.op.call, op.value_reply()) {
            (Call::Get, Some(value)) => Some(Read {
                op: i,
                value: value.unwrap_or(""),
                prefix_tokens: None,
            }),
            _ => None,
        })
        .collect();
    let Some(longest) = reads
        .iter()
        .max_by_key(|r| (r.value.len(), std::cmp::Reverse(r.op)))
    else {
        return;
    };
    let order = Order::new(longest.op, longest.value);
    let whole = longest.value;
    for read in &mut reads {
        read.prefix_tokens = order.prefix_tokens(whole, read.value);
    }
    check_order_tokens(ops, &appends, &order, &reads, out);
    let final_read = reads
        .iter()
        .filter(|r| !ops[r.op].is_readonly_read())
        .max_by_key(|r| ops[r.op].invoke_ns())
        .map(|r| r.op);
    let divergent = reads.iter().filter(|r| r.prefix_tokens.is_none());
    for (n, read) in divergent.enumerate() {
        check_divergent(ops, &appends, &order, read, out);
        // Each costs a pass over all APPENDs; a broken run can diverge on every read, and the
        // first ones prove the point.
        if n < DIVERGENT_MISSING_CHECKS_MAX && !ops[read.op].is_readonly_read() {
            check_divergent_missing(ops, read, Some(read.op) == final_read, out);
        }
    }
    check_future_tokens(ops, &appends, &order, &reads, out);
    check_lengths(ops, &order, whole.len(), out);
    let flagged = check_missing(ops, &order, &reads, final_read, out, readonly);
    check_reads_in_real_time(ops, &reads, &flagged, out);
}

/// A linearizable read that began after another ended holds at least as much of the list.
/// Reads in `flagged` were already reported as missing acknowledged APPENDs.
fn check_reads_in_real_time(
    ops: &[Op],
    reads: &[Read],
    flagged: &FxHashSet<usize>,
    out: &mut KeyFindings,
) {
    let linearizable: Vec<(usize, usize)> = reads
        .iter()
        .filter(|r| !ops[r.op].is_readonly_read() && !flagged.contains(&r.op))
        .filter_map(|r| r.prefix_tokens.map(|n| (r.op, n)))
        .collect();
    let mut by_complete = linearizable.clone();
    by_complete.sort_by_key(|&(i, _)| ops[i].complete_ns);
    let mut by_invoke = linearizable;
    by_invoke.sort_by_key(|&(i, _)| ops[i].invoke_ns());
    let mut done = 0;
    let mut longest: Option<(usize, usize)> = None; // (tokens, read)
    for (i, n) in by_invoke {
        let op = &ops[i];
        while done < by_complete.len() && ops[by_complete[done].0].complete_ns < op.invoke_ns() {
            let (j, m) = by_complete[done];
            if longest.is_none_or(|(most, _)| m > most) {
                longest = Some((m, j));
            }
            done += 1;
        }
        let Some((most, j)) = longest.filter(|&(most, _)| n < most) else {
            continue;
        };
        out.push(AnomalyClass::StaleRead, vec![ops[j].id(), op.id()], || {
            format!(
                "{} holds {n} tokens, but {} had already read {most} before it began",
                describe::op(op),
                describe::op(&ops[j])
            )
        });
    }
}

/// Divergent reads checked for missing APPENDs.
const DIVERGENT_MISSING_CHECKS_MAX: usize = 64;

/// Duplicates and phantoms in `L`, each shown in the shortest read that holds it.
fn check_order_tokens(
    ops: &[Op],
    appends: &HashMap<&str, usize>,
    order: &Order,
    reads: &[Read],
    out: &mut KeyFindings,
) {
    // Prefix reads by size, so "the shortest read holding position p" is a binary search.
    let mut by_size: Vec<(usize, usize)> = reads
        .iter()
        .filter_map(|r| r.prefix_tokens.map(|n| (n, r.op)))
        .collect();
    by_size.sort_unstable();
    let shortest_holding = |position: usize| -> &Op {
        let k = by_size.partition_point(|&(n, _)| n <= position);
        by_size.get(k).map_or(&ops[order.read], |&(_, r)| &ops[r])
    };
    for (position, token) in order.tokens.iter().enumerate() {
        if order.position[token] != position {
            let read = shortest_holding(position);
            out.push(AnomalyClass::DuplicateApply, vec![read.id()], || {
                format!(
                    "{} holds token {token:?} twice (positions {} and {position})",
                    describe::op(read),
                    order.position[token]
                )
            });
        }
        if let Some(why) = phantom(ops, appends, token) {
            let read = shortest_holding(position);
            out.push(AnomalyClass::PhantomWrite, vec![read.id()], || {
                format!("{} holds token {token:?}, {why}", describe::op(read))
            });
        }
    }
}

/// Why a token in a read cannot be there, if it cannot.
fn phantom(ops: &[Op], appends: &HashMap<&str, usize>, token: &str) -> Option<String> {
    match appends.get(token) {
        None => Some("which no APPEND sent".to_string()),
        Some(&a) if ops[a].is_failed() => Some(format!("whose {} failed", describe::op(&ops[a]))),
        Some(_) => None,
    }
}

/// A read that is not a prefix of `L`: two histories of the list exist (split brain or lost
/// suffix). Its own tokens are checked too, since the rules on `L` do not cover them.
fn check_divergent(
    ops: &[Op],
    appends: &HashMap<&str, usize>,
    order: &Order,
    read: &Read,
    out: &mut KeyFindings,
) {
    let op = &ops[read.op];
    let tokens: Vec<&str> = split(read.value).collect();
    let at = tokens
        .iter()
        .zip(&order.tokens)
        .position(|(a, b)| a != b)
        .unwrap_or(tokens.len().min(order.tokens.len()));
    out.push(
        AnomalyClass::NotLinearizable,
        vec![op.id(), ops[order.read].id()],
        || {
            format!(
                "{} is not a prefix of {}: at position {at} one has {} and the other {}",
                describe::op(op),
                describe::op(&ops[order.read]),
                describe::value(tokens.get(at).copied()),
                describe::value(order.tokens.get(at).copied())
            )
        },
    );
    let mut seen = HashMap::default();
    for token in tokens {
        if seen.insert(token, ()).is_some() {
            out.push(AnomalyClass::DuplicateApply, vec![op.id()], || {
                format!("{} holds token {token:?} twice", describe::op(op))
            });
        }
        if let Some(why) = phantom(ops, appends, token) {
            out.push(AnomalyClass::PhantomWrite, vec![op.id()], || {
                format!("{} holds token {token:?}, {why}", describe::op(op))
            });
        }
        if let Some(&a) = appends.get(token) {
            if ops[a].invoke_ns() > op.complete_ns {
                out.push(
                    AnomalyClass::PhantomWrite,
                    vec![op.id(), ops[a].id()],
                    || future_text(op, &ops[a]),
                );
            }
        }
    }
}

/// The missing-APPEND rule for a read that is not a prefix of `L`, by direct comparison.
fn check_divergent_missing(ops: &[Op], read: &Read, is_final: bool, out: &mut KeyFindings) {
    let op = &ops[read.op];
    let held: FxHashSet<&str> = split(read.value).collect();
    let missed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, a)| a.is_ok() && a.complete_ns < op.invoke_ns())
        .filter(
            |(_, a)| matches!(&a.op.call, Call::Append { token } if !held.contains(token.as_str())),
        )
        .map(|(i, _)| i)
        .collect();
    if let Some(&first) = missed.iter().min_by_key(|&&a| ops[a].complete_ns) {
        report_missing(ops, read.op, first, missed.len() as u64, is_final, out);
    }
}

/// A linearizable read misses `missing` acknowledged APPENDs, `first` the earliest.
fn report_missing(
    ops: &[Op],
    read: usize,
    first: usize,
    missing: u64,
    is_final: bool,
    out: &mut KeyFindings,
) {
    let (class, which) = if is_final {
        (AnomalyClass::LostWrite, "the final read")
    } else {
        (AnomalyClass::StaleRead, "a read")
    };
    let op = &ops[read];
    out.push(class, vec![ops[first].id(), op.id()], || {
        format!(
            "{which}, {}, misses {missing} APPEND(s) acknowledged before it was invoked, the \
             first being {}",
            describe::op(op),
            describe::op(&ops[first])
        )
    });
}

fn future_text(read: &Op, append: &Op) -> String {
    format!(
        "{} holds the token of {}, which was invoked after the read completed",
        describe::op(read),
        describe::op(append)
    )
}

/// A prefix read holds `L`'s first n tokens; none of their APPENDs may start after it ended.
fn check_future_tokens(
    ops: &[Op],
    appends: &HashMap<&str, usize>,
    order: &Order,
    reads: &[Read],
    out: &mut KeyFindings,
) {
    // latest[n]: the latest-invoked APPEND among the first n tokens (op index).
    let mut latest: Vec<Option<usize>> = Vec::with_capacity(order.tokens.len() + 1);
    latest.push(None);
    for token in &order.tokens {
        let current = *latest.last().unwrap_or(&None);
        let candidate = appends.get(token).copied();
        latest.push(match (current, candidate) {
            (Some(c), Some(a)) if ops[a].invoke_ns() > ops[c].invoke_ns() => Some(a),
            (None, a) => a,
            (c, _) => c,
        });
    }
    for read in reads {
        let Some(n) = read.prefix_tokens else {
            continue;
        };
        let op = &ops[read.op];
        if let Some(a) = latest[n] {
            if ops[a].invoke_ns() > op.complete_ns {
                out.push(
                    AnomalyClass::PhantomWrite,
                    vec![op.id(), ops[a].id()],
                    || future_text(op, &ops[a]),
                );
            }
        }
    }
}

/// An acknowledged APPEND's reply is the list's length right after it.
fn check_lengths(ops: &[Op], order: &Order, whole_bytes: usize, out: &mut KeyFindings) {
    for op in ops {
        let (Call::Append { token }, Some(length)) = (&op.op.call, op.int_reply()) else {
            continue;
        };
        match order.position.get(token.as_str()) {
            Some(&p) if order.ends[p] as i64 != length => {
                if order.tokens[p + 1..].contains(&token.as_str()) {
                    continue; // a duplicate, already reported
                }
                out.push(
                    AnomalyClass::NotLinearizable,
                    vec![op.id(), ops[order.read].id()],
                    || {
                        format!(
                            "{} returned length {length}, but in the order every read agrees on \
                             ({}) its token ends at byte {}: it was applied elsewhere (reordered \
                             or applied twice)",
                            describe::op(op),
                            describe::op(&ops[order.read]),
                            order.ends[p]
                        )
                    },
                );
            }
            None if length > 0 && length as usize <= whole_bytes => out.push(
                AnomalyClass::LostWrite,
                vec![op.id(), ops[order.read].id()],
                || {
                    format!(
                        "{} was acknowledged at length {length}, but {} is {whole_bytes} bytes \
                         long and does not hold its token",
                        describe::op(op),
                        describe::op(&ops[order.read])
                    )
                },
            ),
            _ => {}
        }
    }
}

/// Acknowledged APPENDs missing from later reads: anomalies for linearizable reads, staleness
/// for `READONLY` ones; and per-client monotonicity of `READONLY` reads. Returns the reads
/// reported.
fn check_missing(
    ops: &[Op],
    order: &Order,
    reads: &[Read],
    final_read: Option<usize>,
    out: &mut KeyFindings,
    readonly: &mut ReadOnlyCollector,
) -> FxHashSet<usize> {
    let mut flagged = FxHashSet::default();
    // Acknowledged APPENDs with their position in L (L's length when absent), by completion.
    let absent = order.tokens.len();
    let mut acked: Vec<(u64, usize, usize)> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match &op.op.call {
            Call::Append { token } if op.is_ok() => {
                let position = order
                    .position
                    .get(token.as_str())
                    .copied()
                    .unwrap_or(absent);
                Some((op.complete_ns, position, i))
            }
            _ => None,
        })
        .collect();
    acked.sort_unstable();
    let mut by_invoke: Vec<&Read> = reads.iter().filter(|r| r.prefix_tokens.is_some()).collect();
    by_invoke.sort_by_key(|r| ops[r.op].invoke_ns());
    let mut index = SuffixIndex::new(absent + 1);
    let mut added = 0;
    for read in by_invoke {
        let op = &ops[read.op];
        while added < acked.len() && acked[added].0 < op.invoke_ns() {
            let (done, position, i) = acked[added];
            index.insert(position, done, i);
            added += 1;
        }
        let n = read.prefix_tokens.unwrap_or(0);
        let (missing, first) = index.query(n);
        if op.is_readonly_read() {
            let lag = first.map_or(0, |(done, _)| op.invoke_ns() - done);
            readonly.sample(op.op.client, missing, lag);
            continue;
        }
        if let Some((_, a)) = first {
            report_missing(ops, read.op, a, missing, Some(read.op) == final_read, out);
            flagged.insert(read.op);
        }
    }
    // Monotonicity per READONLY session (client and node), in invocation order.
    let mut last: HashMap<(u32, u32), (usize, usize)> = HashMap::default();
    for read in reads.iter().filter(|r| ops[r.op].is_readonly_read()) {
        let Some(n) = read.prefix_tokens else {
            continue;
        };
        let client = ops[read.op].op.client;
        let session = (client, ops[read.op].op.node);
        if let Some(&(before, j)) = last.get(&session) {
            if n < before {
                readonly.non_monotonic(client);
                out.push(
                    AnomalyClass::NonMonotonicRead,
                    vec![ops[j].id(), ops[read.op].id()],
                    || {
                        format!(
                            "client {client} read {before} tokens ({}) and then {n} ({})",
                            describe::op(&ops[j]),
                            describe::op(&ops[read.op])
                        )
                    },
                );
                continue;
            }
        }
        last.insert(session, (n, read.op));
    }
    flagged
}
