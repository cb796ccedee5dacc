//! The history a workload records: one [`Operation`] per client call, with real-time bounds.
//!
//! This is the contract between the recorders (`quorum chaos`, `quorum verify`) and the
//! checkers in this crate. Times are nanoseconds on one monotonic clock shared by every client
//! of a run (the recorder's `Instant` at start is zero), so "a completed before b was invoked"
//! is `a.complete_ns < b.invoke_ns`.
//!
//! Outcomes follow Jepsen's convention:
//! - [`Outcome::Ok`]: the server acknowledged; the operation took effect exactly once,
//!   somewhere between `invoke_ns` and `complete_ns`.
//! - [`Outcome::Failed`]: the operation certainly did not take effect (refused before it could
//!   be proposed, e.g. the connection could not be opened, or a reply that guarantees no effect).
//! - [`Outcome::Unknown`]: no reply (timeout, connection lost after sending) or an error that
//!   does not rule out an effect. It may take effect at any point after `invoke_ns`, or never.
//!   Recorders must classify an error as `Failed` only when they are sure.

use serde::{Deserialize, Serialize};

/// Identifies one operation within a history; unique, assigned in invocation order.
pub type OpId = u64;

/// What the client asked for. Values are strings because every workload writes printable,
/// unique tokens, which keeps histories readable in reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum Call {
    /// `GET key` (register and list-append reads).
    Get,
    /// `SET key value`.
    Set {
        /// The value written.
        value: String,
    },
    /// `SET key value GET`: write `value`, return the previous value (a swap, which gives the
    /// register model a read-modify-write).
    Swap {
        /// The value written.
        value: String,
    },
    /// `APPEND key token`: the list-append workload; `token` is unique in the history and ends
    /// with [`TOKEN_SEPARATOR`] so a read can be split back into tokens.
    Append {
        /// The token appended.
        token: String,
    },
    /// `INCR key`.
    Incr,
    /// `SET key value PX ttl_ms`: the expiry workload; `value` is unique in the history.
    SetPx {
        /// The value written.
        value: String,
        /// Its time to live in milliseconds.
        ttl_ms: u64,
    },
    /// `PTTL key`: the key's remaining time to live in milliseconds, `-2` when it does not
    /// exist, `-1` when it has no expiry.
    Pttl,
    /// `RPUSH key element` (`LPUSH` when `end` is the head): the queue workload; `element` is
    /// unique in the history. Replies the list's new length.
    Push {
        /// The element pushed.
        element: String,
        /// Which end it goes to.
        end: ListEnd,
    },
    /// Pops one element from `end` of the queue: `LPOP`/`RPOP`, or `BLPOP`/`BRPOP key timeout`
    /// when `block_ms` is set. Replies the element, or nil when there was none (for a blocking
    /// pop: none arrived before the timeout).
    Pop {
        /// Which end it pops from.
        end: ListEnd,
        /// The blocking form's timeout in milliseconds; `None` for the non-blocking form.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_ms: Option<u64>,
    },
    /// `LMOVE key to LEFT RIGHT` (`BLMOVE ... timeout` when `block_ms` is set): a reliable
    /// queue's pop, which moves the queue's head to the tail of the consumer's processing list
    /// `to` instead of handing it over outright. Replies the element or nil.
    Move {
        /// The processing list.
        to: String,
        /// The blocking form's timeout in milliseconds; `None` for `LMOVE`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_ms: Option<u64>,
    },
    /// `LREM key 1 element` on a processing list: the consumer is done with `element`. Replies
    /// how many copies were removed.
    Remove {
        /// The element removed.
        element: String,
    },
    /// `MULTI`, `LRANGE k 0 -1` for the key and then for each key of `with`, `EXEC`: the queue
    /// workload's final read of a queue and its processing lists, atomic so that an element
    /// moved in between is seen exactly once. Replies one list per key.
    Range {
        /// The processing lists read with the queue.
        with: Vec<String>,
    },
}

/// One end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListEnd {
    /// The left end: `LPUSH`, `LPOP`.
    Head,
    /// The right end: `RPUSH`, `RPOP`.
    Tail,
}

/// Tokens of the list-append workload end with this byte, so `GET` splits into the list.
pub const TOKEN_SEPARATOR: char = ',';

/// What an acknowledged operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub enum Reply {
    /// A bulk string or nil (`GET`, `SET ... GET`; the element a pop or move returned).
    Value {
        /// `None` for a nil reply (key absent).
        value: Option<String>,
    },
    /// `+OK` (`SET`).
    Ok,
    /// An integer (`APPEND` returns the new length, `INCR` the new value).
    Int {
        /// The integer returned.
        value: i64,
    },
    /// One list per key read (`Range`), in the order of the call's keys.
    Lists {
        /// The elements of each list, head first.
        lists: Vec<Vec<String>>,
    },
}

/// How the operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "o", rename_all = "snake_case")]
pub enum Outcome {
    /// Acknowledged with this reply.
    Ok {
        /// The server's reply.
        reply: Reply,
    },
    /// Certainly not applied.
    Failed {
        /// Why (the error reply or the connection error), for the report.
        error: String,
    },
    /// May or may not have been applied, at any time after invocation.
    Unknown {
        /// Why the outcome is unknown (timeout, connection reset, an ambiguous error).
        error: String,
    },
}

/// The read consistency the connection asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Default connections: every operation must be linearizable.
    #[default]
    Linearizable,
    /// Connections that sent `READONLY`: reads may be stale, but within one session (a client
    /// on one node) reads of a key must never go back in time. A client that moves to another
    /// node starts a new session: that node may lag behind the one it left.
    ReadOnly,
}

/// One client call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Unique id, in invocation order.
    pub id: OpId,
    /// The logical client (one operation at a time per client).
    pub client: u32,
    /// Index of the endpoint (node) the client sent it to.
    pub node: u32,
    /// The key operated on. Each key belongs to exactly one workload.
    pub key: String,
    /// What was asked.
    pub call: Call,
    /// How the connection reads.
    #[serde(default)]
    pub consistency: Consistency,
    /// When the request was sent, in nanoseconds since the run started.
    pub invoke_ns: u64,
    /// When the reply (or the error) arrived; `None` when the client gave up without an
    /// answer. For `Unknown` outcomes this bound is not used by the checkers.
    pub complete_ns: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
}

impl Operation {
    /// True when the server acknowledged the operation.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok { .. })
    }

    /// The reply, when acknowledged.
    pub fn reply(&self) -> Option<&Reply> {
        match &self.outcome {
            Outcome::Ok { reply } => Some(reply),
            _ => None,
        }
    }
}

/// A fault the harness injected, kept with the history so reports can draw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// The fault class (`kill`, `pause`, `partition`, `clock`, `disk`, `membership`, ...).
    pub class: String,
    /// What exactly was done (e.g. "kill -9 node 2 (leader)").
    pub detail: String,
    /// When it started, in nanoseconds since the run started.
    pub start_ns: u64,
    /// When it was healed; `None` for instantaneous faults or faults never healed.
    pub end_ns: Option<u64>,
}

/// Everything recorded in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Client operations, sorted by `id` (invocation order).
    pub ops: Vec<Operation>,
    /// Injected faults, in start order.
    pub faults: Vec<FaultEvent>,
}
