//! Hand-written histories: a builder that reads like a timeline, and assertions on reports.

use quorum_check::{
    check, AnomalyClass, Call, CheckReport, Consistency, History, OpId, Operation, Outcome, Reply,
};

/// Builds a history one operation at a time; ids follow the order of the calls, so tests add
/// operations in invocation order. Times are in milliseconds for readability.
#[derive(Default)]
pub struct Timeline {
    ops: Vec<Operation>,
}

const MS: u64 = 1_000_000;

impl Timeline {
    pub fn new() -> Self {
        Timeline::default()
    }

    /// Adds an operation with an explicit outcome.
    pub fn add(
        &mut self,
        client: u32,
        key: &str,
        call: Call,
        span_ms: (u64, u64),
        outcome: Outcome,
    ) -> OpId {
        let id = self.ops.len() as OpId;
        self.ops.push(Operation {
            id,
            client,
            node: client % 3,
            key: key.to_string(),
            call,
            consistency: Consistency::Linearizable,
            invoke_ns: span_ms.0 * MS,
            complete_ns: Some(span_ms.1 * MS),
            outcome,
        });
        id
    }

    /// The operations so far, to adjust a field the helpers do not set (e.g. the node).
    pub fn ops_mut(&mut self) -> &mut [Operation] {
        &mut self.ops
    }

    pub fn set(&mut self, client: u32, key: &str, value: &str, span: (u64, u64)) -> OpId {
        self.add(client, key, set(value), span, ok(Reply::Ok))
    }

    pub fn get(&mut self, client: u32, key: &str, value: Option<&str>, span: (u64, u64)) -> OpId {
        self.add(client, key, Call::Get, span, ok(bulk(value)))
    }

    /// A `GET` on a `READONLY` connection.
    pub fn get_ro(
        &mut self,
        client: u32,
        key: &str,
        value: Option<&str>,
        span: (u64, u64),
    ) -> OpId {
        let id = self.get(client, key, value, span);
        self.ops[id as usize].consistency = Consistency::ReadOnly;
        id
    }

    pub fn swap(
        &mut self,
        client: u32,
        key: &str,
        value: &str,
        previous: Option<&str>,
        span: (u64, u64),
    ) -> OpId {
        let call = Call::Swap {
            value: value.to_string(),
        };
        self.add(client, key, call, span, ok(bulk(previous)))
    }

    pub fn append(
        &mut self,
        client: u32,
        key: &str,
        token: &str,
        length: i64,
        span: (u64, u64),
    ) -> OpId {
        let call = Call::Append {
            token: token.to_string(),
        };
        self.add(client, key, call, span, ok(Reply::Int { value: length }))
    }

    pub fn incr(&mut self, client: u32, key: &str, value: i64, span: (u64, u64)) -> OpId {
        self.add(client, key, Call::Incr, span, ok(Reply::Int { value }))
    }

    /// An operation whose outcome is unknown: sent at `invoke_ms`, no reply.
    pub fn unknown(&mut self, client: u32, key: &str, call: Call, invoke_ms: u64) -> OpId {
        let outcome = Outcome::Unknown {
            error: "timeout".to_string(),
        };
        let id = self.add(client, key, call, (invoke_ms, invoke_ms + 100), outcome);
        self.ops[id as usize].complete_ns = None;
        id
    }

    /// An operation that certainly failed.
    pub fn failed(&mut self, client: u32, key: &str, call: Call, span: (u64, u64)) -> OpId {
        let outcome = Outcome::Failed {
            error: "connection refused".to_string(),
        };
        self.add(client, key, call, span, outcome)
    }

    pub fn history(&self) -> History {
        History {
            ops: self.ops.clone(),
            faults: Vec::new(),
        }
    }

    pub fn check(&self) -> CheckReport {
        check(&self.history())
    }
}

pub fn set(value: &str) -> Call {
    Call::Set {
        value: value.to_string(),
    }
}

pub fn append_call(token: &str) -> Call {
    Call::Append {
        token: token.to_string(),
    }
}

fn ok(reply: Reply) -> Outcome {
    Outcome::Ok { reply }
}

fn bulk(value: Option<&str>) -> Reply {
    Reply::Value {
        value: value.map(str::to_string),
    }
}

/// Asserts the history is valid, showing the report when it is not.
pub fn assert_valid(report: &CheckReport) {
    assert!(report.valid, "expected a valid history:\n{report}");
    assert!(report.anomalies.is_empty());
}

/// Asserts the report holds an anomaly of `class` naming every op in `ops`, and returns the
/// report's text (so tests can also check the explanation reads well).
pub fn assert_finds(report: &CheckReport, class: AnomalyClass, ops: &[OpId]) -> String {
    assert!(!report.valid, "expected {class}, found nothing");
    let found = report
        .anomalies
        .iter()
        .any(|a| a.class == class && ops.iter().all(|op| a.ops.contains(op)));
    assert!(found, "expected {class} naming ops {ops:?}:\n{report}");
    report.to_string()
}

/// The classes found, sorted and deduplicated.
pub fn classes(report: &CheckReport) -> Vec<AnomalyClass> {
    let mut classes: Vec<AnomalyClass> = report.anomalies.iter().map(|a| a.class).collect();
    classes.sort();
    classes.dedup();
    classes
}
