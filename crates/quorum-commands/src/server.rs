//! The keyspace part of Redis's `server` group: DBSIZE, FLUSHDB, FLUSHALL, and DEBUG's
//! keyspace subcommands (DIGEST, DIGEST-VALUE).
//!
//! Not here: INFO, CONFIG, TIME and the other server commands, which the server layer
//! answers (they are [`crate::Kind::Server`] rows in the table).

use bytes::Bytes;
use quorum_keyspace::{digest_hex, Keyspace, DIGEST_BYTES};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::is_keyword;
use crate::Reply;

pub(crate) fn precheck(_name: &str, args: &[Bytes]) -> Result<(), ErrorReply> {
    // FLUSHDB/FLUSHALL take at most one of ASYNC or SYNC; both flush at once here, because
    // a replicated flush must complete inside one apply either way.
    match args {
        [_] => Ok(()),
        [_, mode] if is_keyword(mode, "async") || is_keyword(mode, "sync") => Ok(()),
        _ => Err(ErrorReply::syntax()),
    }
}

pub(crate) fn apply(name: &str, ks: &mut Keyspace, args: &[Bytes]) -> Reply {
    match name {
        "flushdb" | "flushall" => {
            precheck(name, args)?;
            ks.clear();
            Ok(Frame::ok())
        }
        _ => Err(crate::unhandled_name(name)),
    }
}

pub(crate) fn read(name: &str, ks: &Keyspace, args: &[Bytes]) -> Reply {
    match name {
        // Counts expired keys not yet removed, as Redis does.
        "dbsize" => Ok(Frame::Integer(ks.len() as i64)),
        "debug" => debug(ks, args),
        _ => Err(crate::unhandled_name(name)),
    }
}

/// DEBUG subcommands that read the keyspace. Redis's others (SLEEP, SEGFAULT, RELOAD, ...)
/// would let a client stall or crash a replica, so quorum does not offer them.
fn debug(ks: &Keyspace, args: &[Bytes]) -> Reply {
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
