//! Renders operations, values and times for anomaly explanations: short enough for one line,
//! exact enough to find the operation in the history file.

use crate::history::{Call, ListEnd, Outcome, Reply};
use crate::prepare::{call_name, Op};

/// Bytes of a value shown before it is cut (list-append reads grow long).
const VALUE_SHOWN_BYTES_MAX: usize = 48;

/// A time as seconds since the run started, to the microsecond.
pub(crate) fn time(ns: u64) -> String {
    if ns == u64::MAX {
        return "never".to_string();
    }
    format!("{}.{:06}s", ns / 1_000_000_000, (ns % 1_000_000_000) / 1000)
}

/// A value or nil, quoted and cut when long.
pub(crate) fn value(value: Option<&str>) -> String {
    match value {
        None => "nil".to_string(),
        Some(v) if v.len() <= VALUE_SHOWN_BYTES_MAX => format!("{v:?}"),
        Some(v) => {
            let mut cut = VALUE_SHOWN_BYTES_MAX;
            while !v.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("\"{}…\" ({} bytes)", &v[..cut], v.len())
        }
    }
}

/// A reply as text.
pub(crate) fn reply(reply: &Reply) -> String {
    match reply {
        Reply::Value { value: v } => value(v.as_deref()),
        Reply::Ok => "OK".to_string(),
        Reply::Int { value } => value.to_string(),
        Reply::Lists { lists } => {
            let lengths: Vec<String> = lists.iter().map(|l| l.len().to_string()).collect();
            format!("lists of {} elements", lengths.join(", "))
        }
    }
}

/// One operation: id, client, call, result and interval, e.g.
/// `op 7 [client 2, node 1] SET "a" -> OK 0.001000s..0.002000s`.
pub(crate) fn op(op: &Op) -> String {
    let o = op.op;
    let call = match &o.call {
        Call::Get => "GET".to_string(),
        Call::Set { value: v } => format!("SET {}", value(Some(v))),
        Call::Swap { value: v } => format!("SET {} GET", value(Some(v))),
        Call::Append { token } => format!("APPEND {}", value(Some(token))),
        Call::Incr => "INCR".to_string(),
        Call::SetPx { value: v, ttl_ms } => format!("SET {} PX {ttl_ms}", value(Some(v))),
        Call::Pttl => "PTTL".to_string(),
        Call::Push { element, end } => {
            let command = if *end == ListEnd::Head {
                "LPUSH"
            } else {
                "RPUSH"
            };
            format!("{command} {}", value(Some(element)))
        }
        Call::Pop { block_ms, .. } => match block_ms {
            Some(ms) => format!("{} (block {ms} ms)", call_name(&o.call).to_uppercase()),
            None => call_name(&o.call).to_uppercase(),
        },
        Call::Move { to, block_ms } => match block_ms {
            Some(ms) => format!("BLMOVE to {} (block {ms} ms)", value(Some(to))),
            None => format!("LMOVE to {}", value(Some(to))),
        },
        Call::Remove { element } => format!("LREM 1 {}", value(Some(element))),
        Call::Range { with } => format!("LRANGE of the queue and {} processing lists", with.len()),
    };
    let result = match &o.outcome {
        Outcome::Ok { reply: r } => reply(r),
        Outcome::Failed { error } => format!("failed ({error})"),
        Outcome::Unknown { error } => format!("unknown ({error})"),
    };
    let readonly = if op.is_readonly_read() {
        " READONLY"
    } else {
        ""
    };
    format!(
        "op {} [client {}, node {}{readonly}] {call} -> {result} {}..{}",
        o.id,
        o.client,
        o.node,
        time(o.invoke_ns),
        time(op.complete_ns)
    )
}
