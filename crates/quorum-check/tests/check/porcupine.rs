//! The same register histories judged by porcupine-rs, an independent implementation of the
//! same search, so the two checkers can be compared verdict for verdict.

use std::collections::{BTreeMap, HashMap};

use porcupine_rs::{CheckResult, Model, Operation as POperation};
use quorum_check::{Call, Consistency, History, Outcome, Reply};

/// A register whose values are interned (0 is nil).
#[derive(Debug, Clone)]
pub struct Register;

#[derive(Debug, Clone)]
pub enum RegisterOp {
    Get(u64),
    Set(u64),
    /// Swap(value, previous); `None` when the reply is unknown.
    Swap(u64, Option<u64>),
}

impl Model for Register {
    type State = u64;
    type Op = RegisterOp;
    type Metadata = ();

    fn init() -> u64 {
        0
    }

    fn step(state: &u64, op: &RegisterOp) -> (bool, u64) {
        match op {
            RegisterOp::Get(value) => (value == state, *state),
            RegisterOp::Set(value) => (true, *value),
            RegisterOp::Swap(value, previous) => (previous.is_none_or(|p| p == *state), *value),
        }
    }
}

/// A list of tokens kept as the string GET returns; APPEND checks its returned length.
#[derive(Debug, Clone)]
pub struct List;

#[derive(Debug, Clone)]
pub enum ListOp {
    Get(String),
    /// Append(token, returned length when known).
    Append(String, Option<i64>),
}

impl Model for List {
    type State = String;
    type Op = ListOp;
    type Metadata = ();

    fn init() -> String {
        String::new()
    }

    fn step(state: &String, op: &ListOp) -> (bool, String) {
        match op {
            ListOp::Get(value) => (value == state, state.clone()),
            ListOp::Append(token, length) => {
                let next = format!("{state}{token}");
                (length.is_none_or(|l| l as usize == next.len()), next)
            }
        }
    }
}

/// A counter; INCR checks its returned value.
#[derive(Debug, Clone)]
pub struct Counter;

#[derive(Debug, Clone)]
pub enum CounterOp {
    Get(i64),
    Incr(Option<i64>),
}

impl Model for Counter {
    type State = i64;
    type Op = CounterOp;
    type Metadata = ();

    fn init() -> i64 {
        0
    }

    fn step(state: &i64, op: &CounterOp) -> (bool, i64) {
        match op {
            CounterOp::Get(value) => (value == state, *state),
            CounterOp::Incr(value) => (value.is_none_or(|v| v == state + 1), state + 1),
        }
    }
}

/// Porcupine's verdict on every key of `history`, each with the model its name says
/// (`register-*`, `list-*`, `counter-*`); operations that failed, reads without a result and
/// `READONLY` reads are left out, and unknown outcomes return at +infinity.
pub fn all_keys_linearizable(history: &History) -> bool {
    let mut lists: BTreeMap<&str, Vec<POperation<List>>> = BTreeMap::new();
    let mut counters: BTreeMap<&str, Vec<POperation<Counter>>> = BTreeMap::new();
    for op in &history.ops {
        if op.consistency == Consistency::ReadOnly && op.call == Call::Get {
            continue;
        }
        let reply = match &op.outcome {
            Outcome::Failed { .. } => continue,
            Outcome::Unknown { .. } => None,
            Outcome::Ok { reply } => Some(reply),
        };
        let call_time = op.invoke_ns as i64;
        let return_time = match reply {
            Some(_) => op.complete_ns.map_or(i64::MAX, |t| t as i64),
            None => i64::MAX,
        };
        let length = match reply {
            Some(Reply::Int { value }) => Some(*value),
            _ => None,
        };
        let read = match reply {
            Some(Reply::Value { value }) => Some(value.clone().unwrap_or_default()),
            _ => None,
        };
        if op.key.starts_with("list") {
            let list_op = match (&op.call, read) {
                (Call::Get, Some(value)) => ListOp::Get(value),
                (Call::Append { token }, _) => ListOp::Append(token.clone(), length),
                _ => continue,
            };
            lists.entry(&op.key).or_default().push(POperation {
                client_id: Some(op.client),
                call_time,
                return_time,
                op: list_op,
                metadata: None,
            });
        } else if op.key.starts_with("counter") {
            let counter_op = match (&op.call, read) {
                (Call::Get, Some(value)) if value.is_empty() => CounterOp::Get(0),
                (Call::Get, Some(value)) => match value.parse() {
                    Ok(n) => CounterOp::Get(n),
                    Err(_) => return false,
                },
                (Call::Incr, _) => CounterOp::Incr(length),
                _ => continue,
            };
            counters.entry(&op.key).or_default().push(POperation {
                client_id: Some(op.client),
                call_time,
                return_time,
                op: counter_op,
                metadata: None,
            });
        }
    }
    all_registers_linearizable(history)
        && lists
            .values()
            .all(|ops| porcupine_rs::check_operations::<List>(ops))
        && counters
            .values()
            .all(|ops| porcupine_rs::check_operations::<Counter>(ops))
}

/// Porcupine's verdict on every register key of `history` (see [`all_keys_linearizable`]).
pub fn all_registers_linearizable(history: &History) -> bool {
    register_histories(history)
        .values()
        .all(|ops| porcupine_rs::check_operations::<Register>(ops))
}

/// porcupine's verdict on every register key, giving up after `timeout` per key: `Illegal` if
/// any key is not linearizable, else `Unknown` if any search ran out of time, else `Ok`. For
/// invalid histories, where porcupine must exhaust its search space and a large generated
/// history can keep it busy for minutes.
pub fn registers_verdict_within(history: &History, timeout: std::time::Duration) -> CheckResult {
    let mut verdict = CheckResult::Ok;
    for ops in register_histories(history).values() {
        match porcupine_rs::check_operations_timeout::<Register>(ops, timeout) {
            CheckResult::Illegal => return CheckResult::Illegal,
            CheckResult::Unknown => verdict = CheckResult::Unknown,
            CheckResult::Ok => {}
        }
    }
    verdict
}

fn register_histories(history: &History) -> BTreeMap<&str, Vec<POperation<Register>>> {
    let mut by_key: BTreeMap<&str, Vec<POperation<Register>>> = BTreeMap::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut intern = |value: &Option<String>| -> u64 {
        match value {
            None => 0,
            Some(v) => {
                let next = ids.len() as u64 + 1;
                *ids.entry(v.clone()).or_insert(next)
            }
        }
    };
    for op in history
        .ops
        .iter()
        .filter(|op| op.key.starts_with("register"))
    {
        if op.consistency == Consistency::ReadOnly && op.call == Call::Get {
            continue;
        }
        let reply = match &op.outcome {
            Outcome::Failed { .. } => continue,
            Outcome::Unknown { .. } => None,
            Outcome::Ok { reply } => Some(reply),
        };
        let register_op = match (&op.call, reply) {
            (Call::Get, Some(Reply::Value { value })) => RegisterOp::Get(intern(value)),
            (Call::Get, _) => continue,
            (Call::Set { value }, _) => RegisterOp::Set(intern(&Some(value.clone()))),
            (Call::Swap { value }, reply) => {
                let previous = match reply {
                    Some(Reply::Value { value }) => Some(intern(value)),
                    _ => None,
                };
                RegisterOp::Swap(intern(&Some(value.clone())), previous)
            }
            _ => continue,
        };
        let return_time = match reply {
            Some(_) => op.complete_ns.map_or(i64::MAX, |t| t as i64),
            None => i64::MAX,
        };
        by_key.entry(&op.key).or_default().push(POperation {
            client_id: Some(op.client),
            call_time: op.invoke_ns as i64,
            return_time,
            op: register_op,
            metadata: None,
        });
    }
    by_key
}
