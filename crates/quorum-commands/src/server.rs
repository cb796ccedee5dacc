//! Redis's `server` group: the rows of COMMAND, CONFIG, INFO and TIME (which the server
//! layer answers, [`crate::Kind::Server`]), and the keyspace part: DBSIZE, FLUSHDB, FLUSHALL,
//! and DEBUG's keyspace subcommands (DIGEST, DIGEST-VALUE).

use bytes::Bytes;
use quorum_keyspace::{digest_hex, Keyspace, DATABASES_MAX, DIGEST_BYTES};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::is_keyword;
use crate::parse::string_to_i64;
use crate::table::{command_rows, CommandSpec, Handler, Keys};
use crate::{DatabasesCx, ReadCx, Reply, WriteCx};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "command", -1, ["loading", "stale"], Keys::NONE, Handler::Server, "server", ["@slow", "@connection"], ["nondeterministic_output_order"], "2.8.13", "Get array of Redis command details" }
    { "config", -2, [], Keys::NONE, Handler::Server, "server", ["@slow"], [], "2.0.0", "A container for server configuration commands" }
    { "info", -1, ["loading", "stale"], Keys::NONE, Handler::Server, "server", ["@slow", "@dangerous"], ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], "1.0.0", "Get information and statistics about the server" }
    { "time", 1, ["loading", "stale", "fast"], Keys::NONE, Handler::Server, "server", ["@fast"], ["nondeterministic_output"], "2.6.0", "Return the current server time" }
    { "debug", -2, ["admin", "noscript", "loading", "stale"], Keys::NONE, Handler::Read(debug), "server", ["@admin", "@slow", "@dangerous"], [], "1.0.0", "A container for debugging commands" }
    { "dbsize", 1, ["readonly", "fast"], Keys::NONE, Handler::Read(dbsize), "server", ["@keyspace", "@read", "@fast"], ["request_policy:all_shards", "response_policy:agg_sum"], "1.0.0", "Return the number of keys in the selected database" }
    { "flushdb", -1, ["write"], Keys::NONE, Handler::Write(precheck_flush, flush), "server", ["@keyspace", "@write", "@slow", "@dangerous"], ["request_policy:all_shards", "response_policy:all_succeeded"], "1.0.0", "Remove all keys from the current database" }
    { "flushall", -1, ["write"], Keys::NONE, Handler::WriteAcross(precheck_flush, flushall), "server", ["@keyspace", "@write", "@slow", "@dangerous"], ["request_policy:all_shards", "response_policy:all_succeeded"], "1.0.0", "Remove all keys from all databases" }
    { "swapdb", 3, ["write", "fast"], Keys::NONE, Handler::WriteAcross(precheck_swapdb, swapdb), "server", ["@keyspace", "@write", "@fast", "@dangerous"], [], "4.0.0", "Swaps two Redis databases" }
};

fn precheck_flush(args: &[Bytes]) -> Result<(), ErrorReply> {
    // FLUSHDB/FLUSHALL take at most one of ASYNC or SYNC; both flush at once here, because
    // a replicated flush must complete inside one apply either way.
    match args {
        [_] => Ok(()),
        [_, mode] if is_keyword(mode, "async") || is_keyword(mode, "sync") => Ok(()),
        _ => Err(ErrorReply::syntax()),
    }
}

fn flush(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    precheck_flush(args)?;
    cx.ks.clear();
    Ok(Frame::ok())
}

fn flushall(cx: &mut DatabasesCx<'_>, args: &[Bytes]) -> Reply {
    precheck_flush(args)?;
    cx.dbs.iter_mut().for_each(|(_, ks)| ks.clear());
    Ok(Frame::ok())
}

/// SWAPDB's two indexes, with Redis's texts. The server also checks them against its
/// `--databases`; here they are checked against what any node can hold.
fn swapdb_indexes(args: &[Bytes]) -> Result<(u32, u32), ErrorReply> {
    let index = |pos: usize, which: &'static str| {
        let n = string_to_i64(&args[pos])
            .ok_or_else(|| ErrorReply::new(format!("ERR invalid {which} DB index")))?;
        u32::try_from(n)
            .ok()
            .filter(|&n| n < DATABASES_MAX)
            .ok_or_else(|| ErrorReply::from_static("ERR DB index is out of range"))
    };
    Ok((index(1, "first")?, index(2, "second")?))
}

fn precheck_swapdb(args: &[Bytes]) -> Result<(), ErrorReply> {
    swapdb_indexes(args).map(drop)
}

fn swapdb(cx: &mut DatabasesCx<'_>, args: &[Bytes]) -> Reply {
    let (a, b) = swapdb_indexes(args)?;
    if a != b {
        cx.dbs.swap(a, b);
        // Every key of both databases changed, for WATCH and blocked clients: O(keys), where
        // Redis's SWAPDB only visits watched keys.
        cx.dbs.get_mut(a).touch_all();
        cx.dbs.get_mut(b).touch_all();
    }
    Ok(Frame::ok())
}

/// Counts expired keys not yet removed, as Redis does.
fn dbsize(cx: &ReadCx<'_>, _args: &[Bytes]) -> Reply {
    Ok(Frame::Integer(cx.ks.len() as i64))
}

/// DEBUG subcommands that read the keyspace. Redis's others (SLEEP, SEGFAULT, RELOAD, ...)
/// would let a client stall or crash a replica, so quorum does not offer them.
fn debug(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let ks: &Keyspace = cx.ks;
    let sub = &args[1];
    if is_keyword(sub, "digest") && args.len() == 2 {
        Ok(Frame::Simple(digest_hex(&ks.digest())))
    } else if is_keyword(sub, "digest-value") {
        // Like Redis: one digest per named key, zeros for a missing key.
        Ok(Frame::Array(
            args[2..]
                .iter()
                .map(|key| {
                    let digest = ks.key_digest(key).unwrap_or([0; DIGEST_BYTES]);
                    Frame::Simple(digest_hex(&digest))
                })
                .collect(),
        ))
    } else if is_keyword(sub, "help") && args.len() == 2 {
        Ok(Frame::Array(
            [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "HELP",
                "    Print this help.",
            ]
            .into_iter()
            .map(|line| Frame::Simple(line.into()))
            .collect(),
        ))
    } else {
        Err(ErrorReply::unknown_subcommand_or_arity("debug", sub))
    }
}
