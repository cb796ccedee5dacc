//! OBJECT (Redis's `generic` group): ENCODING, REFCOUNT, IDLETIME, FREQ and HELP, with the
//! replies Redis 7.0.15 gives under its default configuration.
//!
//! quorum stores every value one way, so ENCODING reports the encoding Redis would pick for
//! the value as it is now, by Redis's size rules (below). Redis also keeps an encoding it
//! outgrew (a hash that became a `hashtable` stays one after its fields are deleted; a
//! string built by APPEND or SETRANGE is `raw` whatever its length): quorum cannot see that
//! history in the value, so for such values its answer differs from Redis's.
//!
//! Not here: memory introspection (MEMORY), access-time tracking (quorum keeps none, so
//! IDLETIME is always 0 and FREQ answers as Redis does without an LFU policy).

use bytes::Bytes;
use quorum_keyspace::Value;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{is_keyword, string_to_i64};
use crate::table::{command_rows, CommandSpec, Handler, Keys};
use crate::{ReadCx, Reply};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "object", -2, [], Keys::movable(0, 0, 0, object_keys), Handler::Read(object), "generic", ["@slow"], [], "2.2.3", "A container for object introspection commands" }
};

/// Longest string Redis stores as `embstr` (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
const EMBSTR_BYTES_MAX: usize = 44;
/// Longest string Redis tries to store as an integer (`tryObjectEncoding`).
const INT_STRING_BYTES_MAX: usize = 20;
/// Integers Redis shares between keys (`OBJ_SHARED_INTEGERS`): 0 up to this, excluded.
const SHARED_INTEGERS: i64 = 10_000;
/// REFCOUNT of a shared object (`OBJ_SHARED_REFCOUNT`, C's `INT_MAX`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// `hash-max-listpack-entries` and `hash-max-listpack-value` (Redis 7.0 defaults).
const HASH_LISTPACK_ENTRIES_MAX: usize = 512;
const HASH_LISTPACK_VALUE_BYTES_MAX: usize = 64;
/// `set-max-intset-entries` (Redis 7.0 default).
const SET_INTSET_ENTRIES_MAX: usize = 512;
/// `zset-max-listpack-entries` and `zset-max-listpack-value` (Redis 7.0 defaults).
const ZSET_LISTPACK_ENTRIES_MAX: usize = 128;
const ZSET_LISTPACK_VALUE_BYTES_MAX: usize = 64;

const HELP_LINES: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// The subcommands that name a key (at index 2); each takes exactly that one argument.
const KEYED_SUBCOMMANDS: &[&str] = &["encoding", "freq", "idletime", "refcount"];

/// The key of `OBJECT <sub> key`, as Redis's key specs of the subcommands find it.
fn object_keys(args: &[Bytes]) -> Vec<usize> {
    match args {
        [_, sub, _] if KEYED_SUBCOMMANDS.iter().any(|s| is_keyword(sub, s)) => vec![2],
        _ => Vec::new(),
    }
}

fn object(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let sub = &args[1];
    if is_keyword(sub, "help") {
        if args.len() != 2 {
            return Err(ErrorReply::wrong_arity("object|help"));
        }
        let lines = HELP_LINES.iter().map(|l| Frame::Simple((*l).to_string()));
        return Ok(Frame::Array(lines.collect()));
    }
    let Some(name) = KEYED_SUBCOMMANDS.iter().find(|s| is_keyword(sub, s)) else {
        return Err(ErrorReply::unknown_subcommand("OBJECT", sub));
    };
    if args.len() != 3 {
        return Err(ErrorReply::wrong_arity(&format!("object|{name}")));
    }
    let Some(entry) = cx.ks.get(&args[2], cx.now_ms) else {
        return Ok(Frame::Null);
    };
    match *name {
        "encoding" => Ok(Frame::bulk(encoding(&entry.value))),
        "refcount" => Ok(Frame::Integer(refcount(&entry.value))),
        // quorum tracks no access times: every key reads as just used.
        "idletime" => Ok(Frame::Integer(0)),
        _ => Err(ErrorReply::from_static(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
             Please note that when switching between policies at runtime LRU and LFU data \
             will take some time to adjust.",
        )),
    }
}

/// The encoding Redis 7.0 would use for `value` if it had been built as it is now.
fn encoding(value: &Value) -> &'static str {
    match value {
        Value::Str(bytes) if int_encoded(bytes).is_some() => "int",
        Value::Str(bytes) if bytes.len() <= EMBSTR_BYTES_MAX => "embstr",
        Value::Str(_) => "raw",
        // Redis 7.0 keeps every list in a quicklist (single-listpack lists came in 7.2).
        Value::List(_) => "quicklist",
        Value::Hash(hash) => {
            let small = hash.len() <= HASH_LISTPACK_ENTRIES_MAX
                && hash.iter().all(|(field, value)| {
                    field.len() <= HASH_LISTPACK_VALUE_BYTES_MAX
                        && value.len() <= HASH_LISTPACK_VALUE_BYTES_MAX
                });
            if small {
                "listpack"
            } else {
                "hashtable"
            }
        }
        Value::Set(set) => {
            let integers = set.len() <= SET_INTSET_ENTRIES_MAX
                && set.iter().all(|member| string_to_i64(member).is_some());
            if integers {
                "intset"
            } else {
                "hashtable"
            }
        }
        Value::ZSet(zset) => {
            let small = zset.len() <= ZSET_LISTPACK_ENTRIES_MAX
                && zset
                    .iter()
                    .all(|(member, _)| member.len() <= ZSET_LISTPACK_VALUE_BYTES_MAX);
            if small {
                "listpack"
            } else {
                "skiplist"
            }
        }
    }
}

/// The integer a string is stored as (Redis's `tryObjectEncoding`: at most 20 bytes that
/// `string2l` accepts).
fn int_encoded(bytes: &[u8]) -> Option<i64> {
    (bytes.len() <= INT_STRING_BYTES_MAX)
        .then(|| string_to_i64(bytes))
        .flatten()
}

/// REFCOUNT: Redis shares the objects of the integers 0..10000 (reported as `INT_MAX`);
/// every other value has one reference.
fn refcount(value: &Value) -> i64 {
    match value {
        Value::Str(bytes)
            if int_encoded(bytes).is_some_and(|n| (0..SHARED_INTEGERS).contains(&n)) =>
        {
            SHARED_REFCOUNT
        }
        _ => 1,
    }
}
