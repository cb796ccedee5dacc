//! Redis's `string` group: GET/SET and friends (`set.rs`), counters (`counter.rs`),
//! byte-range commands (`range.rs`) and LCS (`lcs.rs`). This file holds the group's rows of
//! the command table.
//!
//! Not here: key-level commands (DEL, EXPIRE, ...: `generic.rs`, `expire.rs`).

mod counter;
mod lcs;
mod range;
mod set;

use bytes::Bytes;
use quorum_keyspace::{Keyspace, Value};
use quorum_types::ErrorReply;

use crate::table::{command_rows, no_precheck, CommandSpec, Handler, Keys};

/// Largest string a command may build: Redis's default `proto-max-bulk-len`. A constant,
/// not a per-node setting, because every replica must reach the same verdict.
pub(crate) const STRING_BYTES_MAX: u64 = 512 * 1024 * 1024;

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "get", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(set::get), "string", ["@read", "@string", "@fast"], [], "1.0.0", "Get the value of a key" }
    { "set", -3, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(set::precheck_set, set::set), "string", ["@write", "@string", "@slow"], [], "1.0.0", "Set the string value of a key" }
    { "setnx", 3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, set::setnx), "string", ["@write", "@string", "@fast"], [], "1.0.0", "Set the value of a key, only if the key does not exist" }
    { "setex", 4, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(set::precheck_setex, set::setex), "string", ["@write", "@string", "@slow"], [], "2.0.0", "Set the value and expiration of a key" }
    { "psetex", 4, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(set::precheck_psetex, set::psetex), "string", ["@write", "@string", "@slow"], [], "2.6.0", "Set the value and expiration in milliseconds of a key" }
    { "getset", 3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, set::getset), "string", ["@write", "@string", "@fast"], [], "1.0.0", "Set the string value of a key and return its old value" }
    { "getdel", 2, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, set::getdel), "string", ["@write", "@string", "@fast"], [], "6.2.0", "Get the value of a key and delete the key" }
    { "getex", -2, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(set::precheck_getex, set::getex), "string", ["@write", "@string", "@fast"], [], "6.2.0", "Get the value of a key and optionally set its expiration" }
    { "mget", -2, ["readonly", "fast"], Keys::range(1, -1, 1), Handler::Read(set::mget), "string", ["@read", "@string", "@fast"], ["request_policy:multi_shard"], "1.0.0", "Get the values of all the given keys" }
    { "mset", -3, ["write", "denyoom"], Keys::range(1, -1, 2), Handler::Write(set::precheck_mset, set::mset), "string", ["@write", "@string", "@slow"], ["request_policy:multi_shard", "response_policy:all_succeeded"], "1.0.1", "Set multiple keys to multiple values" }
    { "msetnx", -3, ["write", "denyoom"], Keys::range(1, -1, 2), Handler::Write(set::precheck_mset, set::msetnx), "string", ["@write", "@string", "@slow"], ["request_policy:multi_shard", "response_policy:agg_min"], "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist" }
    { "append", 3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, range::append), "string", ["@write", "@string", "@fast"], [], "2.0.0", "Append a value to a key" }
    { "strlen", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(range::strlen), "string", ["@read", "@string", "@fast"], [], "2.2.0", "Get the length of the value stored in a key" }
    { "incr", 2, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, counter::incr), "string", ["@write", "@string", "@fast"], [], "1.0.0", "Increment the integer value of a key by one" }
    { "decr", 2, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, counter::decr), "string", ["@write", "@string", "@fast"], [], "1.0.0", "Decrement the integer value of a key by one" }
    { "incrby", 3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(counter::precheck_incrby, counter::incrby), "string", ["@write", "@string", "@fast"], [], "1.0.0", "Increment the integer value of a key by the given amount" }
    { "decrby", 3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(counter::precheck_decrby, counter::decrby), "string", ["@write", "@string", "@fast"], [], "1.0.0", "Decrement the integer value of a key by the given number" }
    { "incrbyfloat", 3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(counter::precheck_incrbyfloat, counter::incrbyfloat), "string", ["@write", "@string", "@fast"], [], "2.6.0", "Increment the float value of a key by the given amount" }
    { "getrange", 4, ["readonly"], Keys::range(1, 1, 1), Handler::Read(range::getrange), "string", ["@read", "@string", "@slow"], [], "2.4.0", "Get a substring of the string stored at a key" }
    { "lcs", -3, ["readonly"], Keys::range(1, 2, 1), Handler::Read(lcs::lcs), "string", ["@read", "@string", "@slow"], [], "7.0.0", "Find longest common substring" }
    { "setrange", 4, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(range::precheck_setrange, range::setrange), "string", ["@write", "@string", "@slow"], [], "2.2.0", "Overwrite part of a string at key starting at the specified offset" }
};

/// The string under `key`, `None` when absent or expired, `WRONGTYPE` for another type.
pub(crate) fn get_string<'a>(
    ks: &'a Keyspace,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a Bytes>, ErrorReply> {
    match ks.get(key, now_ms) {
        None => Ok(None),
        Some(entry) => entry
            .value
            .as_str()
            .map(Some)
            .ok_or_else(ErrorReply::wrong_type),
    }
}

/// Stores a string, keeping the key's deadline when it already exists (INCR, APPEND, ...).
pub(crate) fn store_keep_ttl(ks: &mut Keyspace, key: &Bytes, bytes: Bytes) {
    if !ks.replace_value(key, Value::Str(bytes.clone())) {
        ks.insert(key.clone(), Value::Str(bytes), None);
    }
}
