//! [`Value`]: what a key holds. Only strings exist today; lists, hashes, sets, sorted sets and
//! streams join this enum as their command groups land.
//!
//! Not here: how commands interpret a value (integers stored as strings, for example).

use bytes::Bytes;

/// The value stored under one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A binary-safe string (Redis `string`, also used for integers and floats).
    Str(Bytes),
}

impl Value {
    /// The name `TYPE` reports and `SCAN ... TYPE` filters on.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// The string bytes, or `None` when the value is of another type (a `WRONGTYPE` reply).
    pub fn as_str(&self) -> Option<&Bytes> {
        match self {
            Value::Str(b) => Some(b),
        }
    }

    /// Approximate heap bytes held by this value, for `used_memory`. Approximate on purpose:
    /// it is a stable function of the value's contents, so every replica reports the same.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Value::Str(b) => b.len(),
        }
    }
}
