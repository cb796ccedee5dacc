//! The command table and the deterministic core of every keyspace command.
//!
//! - [`table`], [`lookup`], [`validate`]: the command table; each row carries its handler
//!   and where its keys are (`table.rs`); each group module owns its rows.
//! - [`precheck_write`]: parses a write's options and numbers on the node that received it,
//!   so that a syntax error never enters the Raft log.
//! - [`apply_write`]: applies a logged write on a replica; deterministic given the keyspace,
//!   the arguments and the leader-decided [`ApplyContext`] (time and a random seed).
//! - [`execute_read`]: answers a read without changing anything.
//! - [`apply_expire`]: the replicated active-expiry operation.
//! - [`command_introspection`]: `COMMAND` and its subcommands.
//!
//! Modules are named after Redis's command groups: `string`, `generic` (keys), `expire`
//! (TTLs, Redis's `expire.c`), `hash`, `list`, `set`, `zset` (sorted sets), `server`
//! (DBSIZE, FLUSH*), `connection` (rows of commands the server layer runs),
//! `introspection` (COMMAND).
//!
//! Not here: connections, sessions, protocol versions, the commands of kind
//! [`Kind::Server`] other than COMMAND, and anything with a clock, randomness or I/O.

mod bitmap;
mod blocking;
mod connection;
mod dump;
mod expire;
mod generic;
mod geo;
mod hash;
mod hyperloglog;
mod introspection;
mod list;
mod multi;
mod object;
mod parse;
mod random;
mod server;
mod set;
mod sort;
mod string;
mod table;
mod typed;
mod zset;

use bytes::Bytes;
use quorum_keyspace::{Databases, Keyspace, Touched, DATABASES_MAX};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

pub use blocking::{blocking_wait, parse_timeout, BlockingWait};
pub use generic::database_arguments;
pub use introspection::command_introspection;
pub use multi::{apply_transaction, Transaction, TxCommand, WatchedKey};
pub use random::DeterministicRng;
pub use table::{lookup, table, validate, CommandSpec, Handler, KeyPositions, Keys, Kind};

/// Every group's rows; the table is their concatenation.
pub(crate) static GROUPS: &[&[CommandSpec]] = &[
    connection::COMMANDS,
    server::COMMANDS,
    string::COMMANDS,
    generic::COMMANDS,
    expire::COMMANDS,
    dump::COMMANDS,
    multi::COMMANDS,
    hash::COMMANDS,
    list::COMMANDS,
    set::COMMANDS,
    zset::COMMANDS,
    geo::COMMANDS,
    bitmap::COMMANDS,
    hyperloglog::COMMANDS,
    object::COMMANDS,
    sort::COMMANDS,
];

/// What a write needs besides its arguments, decided once on the leader and logged with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyContext {
    /// Unix milliseconds of the write, already monotonic across the log. Relative TTLs
    /// become absolute deadlines from it, and keys whose deadline is `<= now_ms` are gone.
    pub now_ms: u64,
    /// Seed for the write's random choices (SPOP, SRANDMEMBER, HRANDFIELD, ...), chosen by
    /// the leader, so every replica makes the same choices.
    pub seed: u64,
}

/// What a read needs besides its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadContext {
    /// Unix milliseconds at which the read is served (for TTL replies and expiry checks).
    pub now_ms: u64,
    /// Seed for commands with a random answer (RANDOMKEY, HRANDFIELD, ...).
    pub random_seed: u64,
}

/// A write handler's view: the keyspace to change, the leader's time and random choices.
pub struct WriteCx<'a> {
    /// The keyspace (database) the write applies to.
    pub ks: &'a mut Keyspace,
    /// The leader-stamped time of the write.
    pub now_ms: u64,
    /// Random choices, from the leader's seed.
    pub rng: DeterministicRng,
}

/// The view of a write that spans databases (FLUSHALL, SWAPDB, MOVE, COPY ... DB).
pub struct DatabasesCx<'a> {
    /// Every database.
    pub dbs: &'a mut Databases,
    /// The database the client selected.
    pub db: u32,
    /// The leader-stamped time of the write.
    pub now_ms: u64,
    /// Random choices, from the leader's seed.
    pub rng: DeterministicRng,
}

/// The keys a write changed, by database.
pub type TouchedByDb = Vec<(u32, Touched)>;

/// A read handler's view.
pub struct ReadCx<'a> {
    /// The keyspace (database) to read.
    pub ks: &'a Keyspace,
    /// The time the read is served at.
    pub now_ms: u64,
    /// Seed for random answers.
    pub random_seed: u64,
}

/// Result of a command handler: a reply, or an error reply.
pub(crate) type Reply = Result<Frame, ErrorReply>;

/// Checks a write's arguments without touching any state: arity, options, numbers. A
/// command that passes may still fail on apply for state-dependent reasons (WRONGTYPE,
/// overflow, a deadline that overflows once `now_ms` is added).
pub fn precheck_write(args: &[Bytes]) -> Result<(), ErrorReply> {
    let spec = validate(args)?;
    match spec.handler {
        Handler::Write(precheck, _) | Handler::WriteAcross(precheck, _) => precheck(args),
        _ => Err(not_of_kind(spec, "write")),
    }
}

/// Applies one logged write to database `db` of `dbs`, and returns the keys it changed in
/// each database. Deterministic like [`apply_write`]; a database number at or above
/// [`DATABASES_MAX`] is refused (the server bounds SELECT lower still).
pub fn apply_write_in(
    dbs: &mut Databases,
    db: u32,
    args: &[Bytes],
    ctx: &ApplyContext,
) -> (Frame, TouchedByDb) {
    if db >= DATABASES_MAX {
        return (
            ErrorReply::from_static("ERR DB index is out of range").into(),
            Vec::new(),
        );
    }
    let across = validate(args)
        .ok()
        .filter(|spec| matches!(spec.handler, Handler::WriteAcross(..)));
    let Some(spec) = across else {
        let (frame, touched) = apply_write_touching(dbs.get_mut(db), args, ctx);
        return (frame, vec![(db, touched)]);
    };
    let Handler::WriteAcross(_, apply) = spec.handler else {
        unreachable!("filtered above");
    };
    for pos in spec.key_positions(args) {
        dbs.get_mut(db).remove_if_expired(&args[pos], ctx.now_ms);
    }
    let mut cx = DatabasesCx {
        dbs,
        db,
        now_ms: ctx.now_ms,
        rng: DeterministicRng::new(ctx.seed),
    };
    let frame = apply(&mut cx, args).unwrap_or_else(Frame::from);
    let touched = dbs
        .iter_mut()
        .map(|(db, ks)| (db, ks.take_touched()))
        .filter(|(_, touched)| !touched.is_empty())
        .collect();
    (frame, touched)
}

/// Applies one logged write. Deterministic: the same keyspace, arguments and context give
/// the same reply and the same resulting keyspace on every replica.
///
/// Every key the command names whose deadline has passed is removed first, so handlers see
/// expired keys as absent and writes never resurrect or extend them.
pub fn apply_write(ks: &mut Keyspace, args: &[Bytes], ctx: &ApplyContext) -> Frame {
    apply_write_touching(ks, args, ctx).0
}

/// Applies one logged write like [`apply_write`] and also returns the keys it changed (to
/// wake clients blocked on them and to fail the WATCHes on them). An expired key the write
/// removed counts as changed, as in Redis.
pub fn apply_write_touching(
    ks: &mut Keyspace,
    args: &[Bytes],
    ctx: &ApplyContext,
) -> (Frame, Touched) {
    let stale = ks.take_touched();
    debug_assert!(stale.is_empty(), "touched keys left from an earlier change");
    let frame = dispatch_write(ks, args, ctx);
    (frame, ks.take_touched())
}

fn dispatch_write(ks: &mut Keyspace, args: &[Bytes], ctx: &ApplyContext) -> Frame {
    let spec = match validate(args) {
        Ok(spec) => spec,
        Err(e) => return e.into(),
    };
    let apply = match spec.handler {
        Handler::Write(_, apply) => apply,
        Handler::WriteAcross(..) => return apply_across_in_one(ks, args, ctx),
        _ => return not_of_kind(spec, "write").into(),
    };
    for pos in spec.key_positions(args) {
        ks.remove_if_expired(&args[pos], ctx.now_ms);
    }
    let mut cx = WriteCx {
        ks,
        now_ms: ctx.now_ms,
        rng: DeterministicRng::new(ctx.seed),
    };
    apply(&mut cx, args).unwrap_or_else(Frame::from)
}

/// A database-spanning write applied to a lone keyspace (tests, tools): it becomes
/// database 0 of a set of databases for the duration.
fn apply_across_in_one(ks: &mut Keyspace, args: &[Bytes], ctx: &ApplyContext) -> Frame {
    let mut dbs = Databases::new();
    std::mem::swap(dbs.get_mut(0), ks);
    let (frame, _) = apply_write_in(&mut dbs, 0, args, ctx);
    std::mem::swap(dbs.get_mut(0), ks);
    frame
}

/// Answers a read command. Never changes the keyspace; expired keys read as absent.
pub fn execute_read(ks: &Keyspace, args: &[Bytes], ctx: &ReadContext) -> Frame {
    let spec = match validate(args) {
        Ok(spec) => spec,
        Err(e) => return e.into(),
    };
    let Handler::Read(read) = spec.handler else {
        return not_of_kind(spec, "read").into();
    };
    let cx = ReadCx {
        ks,
        now_ms: ctx.now_ms,
        random_seed: ctx.random_seed,
    };
    read(&cx, args).unwrap_or_else(Frame::from)
}

/// The replicated active-expiry operation: removes each listed key whose deadline is
/// `<= now_ms` (a key rewritten since the leader listed it may no longer be expired, and
/// stays). Returns how many keys were removed.
pub fn apply_expire(ks: &mut Keyspace, keys: &[Bytes], now_ms: u64) -> usize {
    apply_expire_touching(ks, keys, now_ms).0
}

/// [`apply_expire`], also returning the keys it removed.
pub fn apply_expire_touching(ks: &mut Keyspace, keys: &[Bytes], now_ms: u64) -> (usize, Touched) {
    let stale = ks.take_touched();
    debug_assert!(stale.is_empty(), "touched keys left from an earlier change");
    let removed = keys
        .iter()
        .filter(|key| ks.remove_if_expired(key, now_ms))
        .count();
    (removed, ks.take_touched())
}

/// A command reached the wrong entry point: a bug in the caller's routing, reported rather
/// than panicking because the arguments came from a client.
fn not_of_kind(spec: &CommandSpec, expected: &str) -> ErrorReply {
    ErrorReply::new(format!("ERR '{}' is not a {expected} command", spec.name))
}
