//! Redis's `transactions` group: the rows of MULTI, EXEC, DISCARD, WATCH and UNWATCH (the
//! server queues commands per connection), and [`apply_transaction`], which applies one
//! EXEC — logged as one entry — atomically on every replica.
//!
//! WATCH is optimistic locking by key version: the server records each watched key's
//! [`KeyVersion`] (present or absent, and the log index of the change that made it so, a
//! deletion included) as its node saw it, and EXEC runs only if every watched key still has
//! that version when the transaction applies. A node that was behind when WATCH ran
//! sees a change the client might not have: the EXEC then aborts though Redis might not
//! have, which is safe for optimistic locking (the client retries); it never runs when
//! Redis would abort.
//!
//! Not here: queueing, EXECABORT and the per-connection state (`quorum-server`).

use bytes::Bytes;
use quorum_keyspace::{Databases, KeyVersion, DATABASES_MAX};
use quorum_resp::Frame;
use quorum_types::ErrorReply;
use serde::{Deserialize, Serialize};

use crate::table::{command_rows, CommandSpec, Handler, Keys};
use crate::{
    apply_write_in, validate, ApplyContext, DeterministicRng, Kind, ReadContext, TouchedByDb,
};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "multi", 1, ["noscript", "loading", "stale", "fast", "allow_busy"], Keys::NONE, Handler::Server, "transactions", ["@fast", "@transaction"], [], "1.2.0", "Start a transaction block" }
    { "exec", 1, ["noscript", "loading", "stale", "skip_slowlog"], Keys::NONE, Handler::Server, "transactions", ["@slow", "@transaction"], [], "1.2.0", "Execute all commands issued after MULTI" }
    { "discard", 1, ["noscript", "loading", "stale", "fast", "allow_busy"], Keys::NONE, Handler::Server, "transactions", ["@fast", "@transaction"], [], "2.0.0", "Discard all commands issued after MULTI" }
    { "watch", -2, ["noscript", "loading", "stale", "fast", "allow_busy"], Keys::range(1, -1, 1), Handler::Server, "transactions", ["@fast", "@transaction"], [], "2.2.0", "Watch the given keys to determine execution of the MULTI/EXEC block" }
    { "unwatch", 1, ["noscript", "loading", "stale", "fast", "allow_busy"], Keys::NONE, Handler::Server, "transactions", ["@fast", "@transaction"], [], "2.2.0", "Forget about all watched keys" }
};

/// A key a connection WATCHes, with the version its node saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedKey {
    /// The database the key was watched in.
    pub db: u32,
    /// The key.
    pub key: Bytes,
    /// Its version then: present or absent, and since which write.
    pub version: KeyVersion,
}

/// One queued command and the database it runs in (SELECT inside MULTI moves later ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCommand {
    /// The database.
    pub db: u32,
    /// Name and arguments, as the client sent them.
    pub args: Vec<Bytes>,
}

/// What an EXEC logs: the watched keys and the queued reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Transaction {
    /// Keys whose versions must be unchanged for the transaction to run.
    pub watched: Vec<WatchedKey>,
    /// The queued commands, in order.
    pub commands: Vec<TxCommand>,
}

/// Applies an EXEC: a nil array when a watched key changed (nothing runs), otherwise every
/// queued command in order — reads answered from the state as it is at that point — and
/// an array of their replies. A command that fails does not stop the others or undo what
/// ran before it (Redis has no rollback). Deterministic like every apply.
pub fn apply_transaction(
    dbs: &mut Databases,
    tx: &Transaction,
    ctx: &ApplyContext,
) -> (Frame, TouchedByDb) {
    let changed = tx.watched.iter().any(|w| {
        let now = dbs.get(w.db).map_or(KeyVersion::Absent(0), |ks| {
            ks.watch_version(&w.key, ctx.now_ms)
        });
        now != w.version
    });
    if changed {
        return (Frame::NullArray, Vec::new());
    }
    let mut rng = DeterministicRng::new(ctx.seed);
    let mut touched = Vec::new();
    let replies = tx
        .commands
        .iter()
        .map(|command| {
            if command.db >= DATABASES_MAX {
                return ErrorReply::from_static("ERR DB index is out of range").into();
            }
            let seed = rng.next_u64();
            match validate(&command.args).map(|spec| spec.kind()) {
                Err(e) => e.into(),
                Ok(Kind::Write) => {
                    let op_ctx = ApplyContext {
                        now_ms: ctx.now_ms,
                        seed,
                    };
                    let (frame, changed) = apply_write_in(dbs, command.db, &command.args, &op_ctx);
                    touched.extend(changed);
                    frame
                }
                Ok(Kind::Read) => {
                    let read_ctx = ReadContext {
                        now_ms: ctx.now_ms,
                        random_seed: seed,
                    };
                    match dbs.get(command.db) {
                        Some(ks) => crate::execute_read(ks, &command.args, &read_ctx),
                        None => crate::execute_read(&Default::default(), &command.args, &read_ctx),
                    }
                }
                // The server answers these itself and never logs them.
                Ok(Kind::Server) => ErrorReply::from_static(
                    "ERR this command cannot run inside a replicated transaction",
                )
                .into(),
            }
        })
        .collect();
    (Frame::Array(replies), touched)
}
