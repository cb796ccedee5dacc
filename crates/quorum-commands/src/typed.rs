//! Typed access to a key's value for the collection groups: look a hash, list, set or sorted
//! set up (nil when absent, `WRONGTYPE` when the key holds another type), or change one,
//! creating it when a command may.
//!
//! Changing goes through `Keyspace::update_value`/`upsert_value`, so memory stays
//! accounted, the key counts as touched, and a collection left empty is deleted.
//!
//! Not here: command semantics.

use bytes::Bytes;
use quorum_keyspace::{HashValue, Keyspace, ListValue, SetValue, Value, ZSetValue};
use quorum_types::ErrorReply;

/// A collection type stored in a [`Value`] variant.
pub(crate) trait Collection: Default + Sized {
    /// The value as this type, or `None` for another type.
    fn of(value: &Value) -> Option<&Self>;
    /// The value as this type, mutably.
    fn of_mut(value: &mut Value) -> Option<&mut Self>;
    /// Wraps a collection into its value variant.
    fn into_value(self) -> Value;
}

macro_rules! collection {
    ($ty:ty, $variant:ident) => {
        impl Collection for $ty {
            fn of(value: &Value) -> Option<&Self> {
                match value {
                    Value::$variant(c) => Some(c),
                    _ => None,
                }
            }
            fn of_mut(value: &mut Value) -> Option<&mut Self> {
                match value {
                    Value::$variant(c) => Some(c),
                    _ => None,
                }
            }
            fn into_value(self) -> Value {
                Value::$variant(self)
            }
        }
    };
}
collection!(HashValue, Hash);
collection!(ListValue, List);
collection!(SetValue, Set);
collection!(ZSetValue, ZSet);

/// The collection under `key`: `None` when absent or expired, `WRONGTYPE` for another type.
pub(crate) fn get<'a, T: Collection>(
    ks: &'a Keyspace,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a T>, ErrorReply> {
    match ks.get(key, now_ms) {
        None => Ok(None),
        Some(entry) => T::of(&entry.value)
            .map(Some)
            .ok_or_else(ErrorReply::wrong_type),
    }
}

/// Runs `f` on the collection under an existing `key`; `Ok(None)` when the key is absent
/// (nothing is created), `WRONGTYPE` (and nothing changed) for another type. Expired keys
/// were removed before the write's handler ran, so an existing key is live.
pub(crate) fn update<T: Collection, R>(
    ks: &mut Keyspace,
    key: &[u8],
    f: impl FnOnce(&mut T) -> R,
) -> Result<Option<R>, ErrorReply> {
    match ks.get_including_expired(key) {
        None => return Ok(None),
        Some(entry) if T::of(&entry.value).is_none() => return Err(ErrorReply::wrong_type()),
        Some(_) => {}
    }
    Ok(ks.update_value(
        key,
        |value| f(T::of_mut(value).expect("type checked above")),
    ))
}

/// Runs `f` on the collection under `key`, creating an empty one first when the key is
/// absent (a created collection that `f` leaves empty is not kept); `WRONGTYPE` (and
/// nothing changed) for another type.
pub(crate) fn upsert<T: Collection, R>(
    ks: &mut Keyspace,
    key: &Bytes,
    f: impl FnOnce(&mut T) -> R,
) -> Result<R, ErrorReply> {
    if let Some(entry) = ks.get_including_expired(key) {
        if T::of(&entry.value).is_none() {
            return Err(ErrorReply::wrong_type());
        }
    }
    Ok(ks.upsert_value(
        key,
        || T::default().into_value(),
        |value| f(T::of_mut(value).expect("created or checked as this type")),
    ))
}
