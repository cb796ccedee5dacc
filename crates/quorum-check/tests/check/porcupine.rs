//! The same register histories judged by porcupine-rs, an independent implementation of the
//! same search, so the two checkers can be compared verdict for verdict.

use std::collections::{BTreeMap, HashMap};

use porcupine_rs::{Model, Operation as POperation};
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

/// Porcupine's verdict on every register key of `history`: operations that failed, reads
/// without a result and `READONLY` reads are left out, and unknown outcomes return at +infinity
/// (Porcupine's own convention).
pub fn all_registers_linearizable(history: &History) -> bool {
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
    for op in &history.ops {
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
        .values()
        .all(|ops| porcupine_rs::check_operations::<Register>(ops))
}
