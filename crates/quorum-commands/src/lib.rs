//! The command table and the deterministic core of every keyspace command.
//!
//! - [`table`], [`lookup`], [`validate`]: the command table (`table.rs`), Redis 7.0's rows.
//! - [`precheck_write`]: parses a write's options and numbers on the node that received it,
//!   so that a syntax error never enters the Raft log.
//! - [`apply_write`]: applies a logged write on a replica; deterministic given the keyspace,
//!   the arguments and the leader-decided [`ApplyContext`].
//! - [`execute_read`]: answers a read without changing anything.
//! - [`apply_expire`]: the replicated active-expiry operation.
//! - [`command_introspection`]: `COMMAND` and its subcommands.
//!
//! Modules are named after Redis's command groups: `string`, `generic` (keys), `expire`
//! (TTLs, Redis's `expire.c`), `server` (DBSIZE, FLUSH*), `introspection` (COMMAND).
//!
//! Not here: connections, sessions, protocol versions, the commands of kind
//! [`Kind::Server`] other than COMMAND, and anything with a clock, randomness or I/O.

mod expire;
mod generic;
mod introspection;
mod parse;
mod server;
mod string;
mod table;

use bytes::Bytes;
use quorum_keyspace::Keyspace;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

pub use introspection::command_introspection;
pub use table::{lookup, table, validate, CommandSpec, Kind};

/// What a write needs besides its arguments, decided once on the leader and logged with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyContext {
    /// Unix milliseconds of the write, already monotonic across the log. Relative TTLs
    /// become absolute deadlines from it, and keys whose deadline is `<= now_ms` are gone.
    pub now_ms: u64,
}

/// What a read needs besides its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadContext {
    /// Unix milliseconds at which the read is served (for TTL replies and expiry checks).
    pub now_ms: u64,
    /// Seed for commands with a random answer (RANDOMKEY).
    pub random_seed: u64,
}

/// Result of a command handler: a reply, or an error reply.
pub(crate) type Reply = Result<Frame, ErrorReply>;

/// Checks a write's arguments without touching any state: arity, options, numbers. A
/// command that passes may still fail on apply for state-dependent reasons (WRONGTYPE,
/// overflow, a deadline that overflows once `now_ms` is added).
pub fn precheck_write(args: &[Bytes]) -> Result<(), ErrorReply> {
    let spec = validate(args)?;
    if spec.kind != Kind::Write {
        return Err(not_of_kind(spec, "write"));
    }
    match spec.group {
        "string" => string::precheck(spec.name, args),
        "generic" => generic::precheck(spec.name, args),
        "server" => server::precheck(spec.name, args),
        _ => Err(unhandled(spec)),
    }
}

/// Applies one logged write. Deterministic: the same keyspace, arguments and context give
/// the same reply and the same resulting keyspace on every replica.
///
/// Every key the command names whose deadline has passed is removed first, so handlers see
/// expired keys as absent and writes never resurrect or extend them.
pub fn apply_write(ks: &mut Keyspace, args: &[Bytes], ctx: &ApplyContext) -> Frame {
    let spec = match validate(args) {
        Ok(spec) if spec.kind == Kind::Write => spec,
        Ok(spec) => return not_of_kind(spec, "write").into(),
        Err(e) => return e.into(),
    };
    for pos in spec.key_positions(args.len()) {
        ks.remove_if_expired(&args[pos], ctx.now_ms);
    }
    let reply = match spec.group {
        "string" => string::apply(spec.name, ks, args, ctx.now_ms),
        "generic" => generic::apply(spec.name, ks, args, ctx.now_ms),
        "server" => server::apply(spec.name, ks, args),
        _ => Err(unhandled(spec)),
    };
    reply.unwrap_or_else(Frame::from)
}

/// Answers a read command. Never changes the keyspace; expired keys read as absent.
pub fn execute_read(ks: &Keyspace, args: &[Bytes], ctx: &ReadContext) -> Frame {
    let spec = match validate(args) {
        Ok(spec) if spec.kind == Kind::Read => spec,
        Ok(spec) => return not_of_kind(spec, "read").into(),
        Err(e) => return e.into(),
    };
    let reply = match spec.group {
        "string" => string::read(spec.name, ks, args, ctx.now_ms),
        "generic" => generic::read(spec.name, ks, args, ctx),
        "server" => server::read(spec.name, ks, args),
        _ => Err(unhandled(spec)),
    };
    reply.unwrap_or_else(Frame::from)
}

/// The replicated active-expiry operation: removes each listed key whose deadline is
/// `<= now_ms` (a key rewritten since the leader listed it may no longer be expired, and
/// stays). Returns how many keys were removed.
pub fn apply_expire(ks: &mut Keyspace, keys: &[Bytes], now_ms: u64) -> usize {
    keys.iter()
        .filter(|key| ks.remove_if_expired(key, now_ms))
        .count()
}

/// A command reached the wrong entry point: a bug in the caller's routing, reported rather
/// than panicking because the arguments came from a client.
fn not_of_kind(spec: &CommandSpec, expected: &str) -> ErrorReply {
    ErrorReply::new(format!("ERR '{}' is not a {expected} command", spec.name))
}

/// A table row without a handler; the table tests make this unreachable.
fn unhandled(spec: &CommandSpec) -> ErrorReply {
    unhandled_name(spec.name)
}

/// See [`unhandled`]; for group modules, which route by name.
pub(crate) fn unhandled_name(name: &str) -> ErrorReply {
    ErrorReply::new(format!("ERR '{name}' is not implemented"))
}
