//! Redis's `string` group: GET/SET and friends (`set.rs`), counters (`counter.rs`) and
//! byte-range commands (`range.rs`). This file routes names to handlers.
//!
//! Not here: key-level commands (DEL, EXPIRE, ...: `generic.rs`, `expire.rs`).

mod counter;
mod range;
mod set;

use bytes::Bytes;
use quorum_keyspace::{Keyspace, Value};
use quorum_types::ErrorReply;

use crate::Reply;

/// Largest string a command may build: Redis's default `proto-max-bulk-len`. A constant,
/// not a per-node setting, because every replica must reach the same verdict.
pub(crate) const STRING_BYTES_MAX: u64 = 512 * 1024 * 1024;

pub(crate) fn precheck(name: &str, args: &[Bytes]) -> Result<(), ErrorReply> {
    match name {
        "set" | "setex" | "psetex" | "getex" | "mset" | "msetnx" => set::precheck(name, args),
        "incrby" | "decrby" | "incrbyfloat" => counter::precheck(name, args),
        "setrange" => range::precheck(name, args),
        _ => Ok(()),
    }
}

pub(crate) fn apply(name: &str, ks: &mut Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    match name {
        "set" | "setnx" | "setex" | "psetex" | "getset" | "getdel" | "getex" | "mset"
        | "msetnx" => set::apply(name, ks, args, now_ms),
        "incr" | "decr" | "incrby" | "decrby" | "incrbyfloat" => {
            counter::apply(name, ks, args, now_ms)
        }
        "append" | "setrange" => range::apply(name, ks, args, now_ms),
        _ => Err(crate::unhandled_name(name)),
    }
}

pub(crate) fn read(name: &str, ks: &Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    match name {
        "get" | "mget" => set::read(name, ks, args, now_ms),
        "strlen" | "getrange" => range::read(name, ks, args, now_ms),
        _ => Err(crate::unhandled_name(name)),
    }
}

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
