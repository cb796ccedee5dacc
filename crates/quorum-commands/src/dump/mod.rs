//! DUMP and RESTORE (Redis's `generic` group, `cluster.c` in Redis): a value serialized in
//! Redis 7.0's format, so values move between Redis and quorum in either direction.
//!
//! A payload is the RDB encoding of one value (a type byte, then the value), the RDB
//! version (2 bytes LE; quorum writes 10, Redis 7.0's) and a CRC-64 of everything before
//! it (8 bytes LE). `rdb_read.rs` reads every encoding Redis 7.0 reads for strings, lists,
//! sets, sorted sets and hashes, including the compact ones (integer and LZF strings,
//! intsets, listpacks, ziplists, zipmaps); `rdb_write.rs` writes simple encodings that
//! Redis 7.0 accepts.
//!
//! RESTORE is a write: the payload travels through the log and every replica decodes it
//! (decoding is deterministic). Its errors come in Redis's order: options, then BUSYKEY,
//! then the TTL, then the payload. Because BUSYKEY depends on state, the precheck can test
//! the TTL and the payload only when REPLACE rules BUSYKEY out.
//!
//! Not here: streams and module values (refused as "Bad data format": quorum has neither),
//! MIGRATE.

mod crc64;
mod intset;
mod listpack;
mod lzf;
mod rdb_read;
mod rdb_write;
mod ziplist;

use bytes::Bytes;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{arg, is_keyword, parse_i64};
use crate::table::{command_rows, CommandSpec, Handler, Keys};
use crate::{ReadCx, Reply, WriteCx};

/// The RDB version quorum writes and the newest it reads: Redis 7.0's.
const RDB_VERSION: u16 = 10;
/// RDB version (2 bytes) and CRC-64 (8 bytes) after the value.
const FOOTER_BYTES: usize = 10;

// RDB value types (`RDB_TYPE_*` in Redis 7.0's `rdb.h`).
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;

/// Quicklist v2 node kinds: one unencoded element, or a listpack.
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// This group's rows of the command table (Redis files them under `generic`).
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "dump", 2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(dump), "generic", ["@keyspace", "@read", "@slow"], ["nondeterministic_output"], "2.6.0", "Return a serialized version of the value stored at the specified key." }
    { "restore", -4, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(precheck_restore, restore), "generic", ["@keyspace", "@write", "@slow", "@dangerous"], [], "2.6.0", "Create a key using the provided serialized value, previously obtained using DUMP." }
};

fn dump(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    Ok(match cx.ks.get(arg(args, 1)?, cx.now_ms) {
        None => Frame::Null,
        Some(entry) => Frame::Bulk(Bytes::from(rdb_write::payload(&entry.value))),
    })
}

/// RESTORE's options after the payload.
#[derive(Debug, Clone, Copy, Default)]
struct RestoreOptions {
    replace: bool,
    absttl: bool,
}

/// Parses `REPLACE`, `ABSTTL`, `IDLETIME s`, `FREQ f` as Redis's `restoreCommand` does,
/// with its errors (IDLETIME and FREQ exclude each other: the second is a syntax error).
///
/// IDLETIME and FREQ are checked and then ignored: quorum keeps no LRU clock or LFU
/// counter (it evicts nothing), so there is nothing to set.
fn parse_options(args: &[Bytes]) -> Result<RestoreOptions, ErrorReply> {
    let mut options = RestoreOptions::default();
    let (mut idle_given, mut freq_given) = (false, false);
    let mut j = 4;
    while j < args.len() {
        let word = &args[j];
        let has_value = j + 1 < args.len();
        if is_keyword(word, "replace") {
            options.replace = true;
        } else if is_keyword(word, "absttl") {
            options.absttl = true;
        } else if is_keyword(word, "idletime") && has_value && !freq_given {
            if parse_i64(&args[j + 1])? < 0 {
                return Err(ErrorReply::from_static(
                    "ERR Invalid IDLETIME value, must be >= 0",
                ));
            }
            idle_given = true;
            j += 1;
        } else if is_keyword(word, "freq") && has_value && !idle_given {
            if !(0..=255).contains(&parse_i64(&args[j + 1])?) {
                return Err(ErrorReply::from_static(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq_given = true;
            j += 1;
        } else {
            return Err(ErrorReply::syntax());
        }
        j += 1;
    }
    Ok(options)
}

/// The TTL argument: milliseconds, relative or (ABSTTL) absolute; 0 means none.
fn parse_ttl(args: &[Bytes]) -> Result<i64, ErrorReply> {
    let ttl = parse_i64(arg(args, 2)?)?;
    if ttl < 0 {
        return Err(ErrorReply::from_static(
            "ERR Invalid TTL value, must be >= 0",
        ));
    }
    Ok(ttl)
}

/// The value a payload holds, with Redis's errors for a bad footer and a bad body.
fn decode_payload(payload: &[u8]) -> Result<quorum_keyspace::Value, ErrorReply> {
    if !rdb_read::footer_ok(payload) {
        return Err(ErrorReply::from_static(
            "ERR DUMP payload version or checksum are wrong",
        ));
    }
    rdb_read::read_value(payload).map_err(|_| ErrorReply::from_static("ERR Bad data format"))
}

/// Everything RESTORE checks without state. Without REPLACE, an existing key answers
/// BUSYKEY before the TTL and the payload are looked at, so only the options can be
/// checked here; with REPLACE, everything can.
fn precheck_restore(args: &[Bytes]) -> Result<(), ErrorReply> {
    let options = parse_options(args)?;
    if options.replace {
        parse_ttl(args)?;
        decode_payload(arg(args, 3)?)?;
    }
    Ok(())
}

fn restore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let options = parse_options(args)?;
    let key = arg(args, 1)?;
    // Expired keys named by a write were removed before this handler ran.
    if !options.replace && cx.ks.contains(key, cx.now_ms) {
        return Err(ErrorReply::from_static(
            "BUSYKEY Target key name already exists.",
        ));
    }
    let ttl = parse_ttl(args)?;
    let value = decode_payload(arg(args, 3)?)?;
    if options.replace {
        cx.ks.remove(key);
    }
    let now_ms = i64::try_from(cx.now_ms).unwrap_or(i64::MAX);
    // Redis adds the relative TTL to now in a C `long long`, which wraps on overflow to a
    // past deadline: the value is then not restored (and the reply is still OK).
    let deadline_ms = match (ttl, options.absttl) {
        (0, _) => None,
        (ttl, true) => Some(ttl),
        (ttl, false) => Some(ttl.wrapping_add(now_ms)),
    };
    match deadline_ms {
        // A deadline already past restores nothing, as in Redis (a replaced key stays
        // deleted).
        Some(at) if at <= now_ms => {}
        Some(at) => {
            cx.ks.insert(key.clone(), value, Some(at as u64));
        }
        None => {
            cx.ks.insert(key.clone(), value, None);
        }
    }
    Ok(Frame::ok())
}
