//! [`Value`]: what a key holds — a string, hash, list, set or sorted set.
//!
//! Every collection keeps its own size up to date as it changes (see `collections/`), so
//! [`Value::memory_bytes`] is O(1) and a write to a million-element hash never walks it.
//! Sizes are functions of contents (lengths and fixed per-element charges), never of capacity
//! or allocator state, so every replica reports the same `used_memory`.
//!
//! Not here: how commands interpret a value (integers stored as strings, for example).

use bytes::Bytes;

use crate::collections::{HashValue, ListValue, SetValue, ZSetValue};

/// The value stored under one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A binary-safe string (Redis `string`, also used for integers and floats).
    Str(Bytes),
    /// A field -> value map (Redis `hash`).
    Hash(HashValue),
    /// A sequence of elements, pushed and popped at both ends (Redis `list`).
    List(ListValue),
    /// A set of distinct members (Redis `set`).
    Set(SetValue),
    /// Members ordered by a floating-point score, then by member bytes (Redis `zset`).
    ZSet(ZSetValue),
}

impl Value {
    /// The name `TYPE` reports and `SCAN ... TYPE` filters on.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The string bytes, or `None` when the value is of another type (a `WRONGTYPE` reply).
    pub fn as_str(&self) -> Option<&Bytes> {
        match self {
            Value::Str(b) => Some(b),
            _ => None,
        }
    }

    /// Approximate heap bytes held by this value, for `used_memory`: O(1), and a stable
    /// function of the value's contents, so every replica reports the same.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Value::Str(b) => b.len(),
            Value::Hash(h) => h.memory_bytes(),
            Value::List(l) => l.memory_bytes(),
            Value::Set(s) => s.memory_bytes(),
            Value::ZSet(z) => z.memory_bytes(),
        }
    }

    /// Whether this is an empty collection. Redis never keeps an empty hash, list, set or
    /// sorted set: a command that empties one deletes the key.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}
