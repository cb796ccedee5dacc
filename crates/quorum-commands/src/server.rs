//! The keyspace part of Redis's `server` group: DBSIZE, FLUSHDB, FLUSHALL.
//!
//! Not here: INFO, CONFIG, TIME and the other server commands, which the server layer
//! answers (they are [`crate::Kind::Server`] rows in the table).

use bytes::Bytes;
use quorum_keyspace::Keyspace;
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

pub(crate) fn read(name: &str, ks: &Keyspace, _args: &[Bytes]) -> Reply {
    match name {
        // Counts expired keys not yet removed, as Redis does.
        "dbsize" => Ok(Frame::Integer(ks.len() as i64)),
        _ => Err(crate::unhandled_name(name)),
    }
}
