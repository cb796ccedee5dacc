//! Turns a [`History`] into per-key views the workload checkers read: the workload of each key,
//! each operation's effective outcome, and the history's own format errors.
//!
//! An operation that breaks the format (an acknowledged operation without a completion time, or
//! with a reply of the wrong type) is reported as malformed and then treated as `Unknown`,
//! which is the weakest claim it can still support; it is never dropped silently.

use std::collections::BTreeMap;

use crate::fasthash::{FxHashMap, FxHashSet};

use crate::history::{Call, Consistency, History, ListEnd, OpId, Operation, Outcome, Reply};
use crate::report::{AnomalyClass, CheckStats, OutcomeCounts, Workload};
use crate::Anomaly;

/// An operation's outcome after the format checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Failed,
    Unknown,
}

/// One operation as the checkers see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op<'h> {
    pub op: &'h Operation,
    pub status: Status,
    /// The completion time; `u64::MAX` unless the status is `Ok`, since an unknown operation
    /// may take effect at any time after its invocation.
    pub complete_ns: u64,
}

impl<'h> Op<'h> {
    pub fn id(&self) -> OpId {
        self.op.id
    }

    pub fn invoke_ns(&self) -> u64 {
        self.op.invoke_ns
    }

    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    pub fn is_failed(&self) -> bool {
        self.status == Status::Failed
    }

    /// A `GET` on a `READONLY` connection: measured for staleness, not linearized.
    pub fn is_readonly_read(&self) -> bool {
        self.op.call == Call::Get && self.op.consistency == Consistency::ReadOnly
    }

    /// The bulk string an acknowledged `GET` or `SET ... GET` returned.
    pub fn value_reply(&self) -> Option<Option<&'h str>> {
        match (self.status, self.op.reply()) {
            (Status::Ok, Some(Reply::Value { value })) => Some(value.as_deref()),
            _ => None,
        }
    }

    /// The lists an acknowledged `Range` returned.
    pub fn lists_reply(&self) -> Option<&'h [Vec<String>]> {
        match (self.status, self.op.reply()) {
            (Status::Ok, Some(Reply::Lists { lists })) => Some(lists),
            _ => None,
        }
    }

    /// The integer an acknowledged `APPEND` or `INCR` returned.
    pub fn int_reply(&self) -> Option<i64> {
        match (self.status, self.op.reply()) {
            (Status::Ok, Some(Reply::Int { value })) => Some(*value),
            _ => None,
        }
    }
}

/// The operations of one key, in invocation order.
pub(crate) struct KeyOps<'h> {
    pub key: &'h str,
    pub workload: Workload,
    pub ops: Vec<Op<'h>>,
}

/// Everything [`prepare`] derives from a history.
pub(crate) struct Prepared<'h> {
    pub keys: Vec<KeyOps<'h>>,
    pub malformed: Vec<Anomaly>,
}

/// The call kind's name in stats and explanations.
pub(crate) fn call_name(call: &Call) -> &'static str {
    match call {
        Call::Get => "get",
        Call::Set { .. } => "set",
        Call::Swap { .. } => "swap",
        Call::Append { .. } => "append",
        Call::Incr => "incr",
        Call::SetPx { .. } => "set_px",
        Call::Pttl => "pttl",
        Call::Push {
            end: ListEnd::Head, ..
        } => "lpush",
        Call::Push {
            end: ListEnd::Tail, ..
        } => "rpush",
        Call::Pop { end, block_ms } => match (end, block_ms) {
            (ListEnd::Head, None) => "lpop",
            (ListEnd::Tail, None) => "rpop",
            (ListEnd::Head, Some(_)) => "blpop",
            (ListEnd::Tail, Some(_)) => "brpop",
        },
        Call::Move { block_ms: None, .. } => "lmove",
        Call::Move {
            block_ms: Some(_), ..
        } => "blmove",
        Call::Remove { .. } => "lrem",
        Call::Range { .. } => "lrange",
    }
}

/// Splits the history by key, classifies each key's workload and counts outcomes into `stats`.
pub(crate) fn prepare<'h>(history: &'h History, stats: &mut CheckStats) -> Prepared<'h> {
    let mut malformed = Vec::new();
    let mut by_key: FxHashMap<&str, Vec<Op<'h>>> = FxHashMap::default();
    let mut ids = FxHashSet::with_capacity_and_hasher(history.ops.len(), Default::default());
    for op in &history.ops {
        if !ids.insert(op.id) {
            malformed.push(malformed_anomaly(op, "its id is used by another operation"));
        }
        let (status, complete_ns) = effective_outcome(op, &mut malformed);
        by_key.entry(op.key.as_str()).or_default().push(Op {
            op,
            status,
            complete_ns,
        });
    }
    // Key order makes reports stable from run to run.
    let mut by_key: Vec<(&str, Vec<Op<'h>>)> = by_key.into_iter().collect();
    by_key.sort_unstable_by_key(|(key, _)| *key);
    let mut keys = Vec::with_capacity(by_key.len());
    for (key, mut ops) in by_key {
        // Recorders write in id order, but the checkers rely on it, so make it true.
        ops.sort_by_key(|op| op.id());
        let workload = classify(&ops);
        if workload == Workload::Mixed {
            let kinds: std::collections::BTreeSet<&str> =
                ops.iter().map(|op| call_name(&op.op.call)).collect();
            malformed.push(Anomaly {
                class: AnomalyClass::MalformedHistory,
                key: key.to_string(),
                explanation: format!(
                    "calls of several workloads on one key ({}); the key is not checked",
                    kinds.into_iter().collect::<Vec<_>>().join(", ")
                ),
                ops: ops.iter().take(10).map(|op| op.id()).collect(),
            });
        }
        count(stats, workload, &ops);
        keys.push(KeyOps { key, workload, ops });
    }
    stats.keys_checked = keys.len() as u64;
    Prepared { keys, malformed }
}

/// The outcome the checkers use and the completion bound that goes with it.
fn effective_outcome(op: &Operation, malformed: &mut Vec<Anomaly>) -> (Status, u64) {
    match &op.outcome {
        Outcome::Failed { .. } => (Status::Failed, u64::MAX),
        Outcome::Unknown { .. } => (Status::Unknown, u64::MAX),
        Outcome::Ok { reply } => {
            let problem = match op.complete_ns {
                None => Some("it is acknowledged but has no completion time".to_string()),
                Some(done) if done < op.invoke_ns => {
                    Some(format!("it completed ({done} ns) before it was invoked"))
                }
                Some(_) if !reply_fits(&op.call, reply) => Some(format!(
                    "{} cannot reply {}",
                    call_name(&op.call).to_uppercase(),
                    crate::describe::reply(reply)
                )),
                Some(_) => None,
            };
            match problem {
                None => (Status::Ok, op.complete_ns.unwrap_or(u64::MAX)),
                Some(why) => {
                    malformed.push(malformed_anomaly(op, &format!("{why}; treated as unknown")));
                    (Status::Unknown, u64::MAX)
                }
            }
        }
    }
}

fn malformed_anomaly(op: &Operation, why: &str) -> Anomaly {
    Anomaly {
        class: AnomalyClass::MalformedHistory,
        key: op.key.clone(),
        explanation: format!("op {}: {why}", op.id),
        ops: vec![op.id],
    }
}

fn reply_fits(call: &Call, reply: &Reply) -> bool {
    match (call, reply) {
        (Call::Range { with }, Reply::Lists { lists }) => lists.len() == with.len() + 1,
        _ => matches!(
            (call, reply),
            (
                Call::Get | Call::Swap { .. } | Call::Pop { .. } | Call::Move { .. },
                Reply::Value { .. }
            ) | (Call::Set { .. } | Call::SetPx { .. }, Reply::Ok)
                | (
                    Call::Append { .. }
                        | Call::Incr
                        | Call::Pttl
                        | Call::Push { .. }
                        | Call::Remove { .. },
                    Reply::Int { .. }
                )
        ),
    }
}

/// The workload is decided by the writes: reads alone fit any workload.
fn classify(ops: &[Op]) -> Workload {
    let mut found = None;
    for op in ops {
        let workload = match op.op.call {
            Call::Get => continue,
            Call::Set { .. } | Call::Swap { .. } => Workload::Register,
            Call::Append { .. } => Workload::ListAppend,
            Call::Incr => Workload::Counter,
            // PTTL is a read, but only the expiry workload sends it.
            Call::SetPx { .. } | Call::Pttl => Workload::Expiry,
            // LRANGE is a read, but only the queue workload sends it (on a queue, and LREM on
            // a processing list).
            Call::Push { .. }
            | Call::Pop { .. }
            | Call::Move { .. }
            | Call::Remove { .. }
            | Call::Range { .. } => Workload::Queue,
        };
        match found {
            None => found = Some(workload),
            Some(seen) if seen != workload => return Workload::Mixed,
            Some(_) => {}
        }
    }
    found.unwrap_or(Workload::Unwritten)
}

fn count(stats: &mut CheckStats, workload: Workload, ops: &[Op]) {
    *stats
        .keys_by_workload
        .entry(workload.name().to_string())
        .or_default() += 1;
    let mut by_call: BTreeMap<&'static str, OutcomeCounts> = BTreeMap::new();
    let mut total = OutcomeCounts::default();
    for op in ops {
        let counts = by_call.entry(call_name(&op.op.call)).or_default();
        for c in [counts, &mut total] {
            match op.status {
                Status::Ok => c.ok += 1,
                Status::Failed => c.failed += 1,
                Status::Unknown => c.unknown += 1,
            }
        }
    }
    for (name, counts) in by_call {
        add(stats.by_call.entry(name.to_string()).or_default(), counts);
    }
    add(
        stats
            .by_workload
            .entry(workload.name().to_string())
            .or_default(),
        total,
    );
}

fn add(into: &mut OutcomeCounts, counts: OutcomeCounts) {
    into.ok += counts.ok;
    into.failed += counts.failed;
    into.unknown += counts.unknown;
}
