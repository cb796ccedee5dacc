//! SORT's BY and GET patterns: the key (or hash field) a pattern names for one element, as
//! Redis's `lookupKeyByPattern` finds it.
//!
//! `#` is the element itself; otherwise the first `*` becomes the element, and `->field`
//! after it reads that field of a hash. Redis scans the pattern as a C string (up to a NUL
//! byte) to find `*` and `->` but copies the key and field by length; so does this.
//!
//! Not here: how the values found are compared (`order.rs`).

use bytes::Bytes;
use quorum_keyspace::{Keyspace, Value};

use super::score::c_str;

/// Whether a BY pattern names anything per element (it has a `*` before any NUL); a
/// pattern without one (`nosort`) means "do not sort".
pub(super) fn has_star(pattern: &[u8]) -> bool {
    c_str(pattern).contains(&b'*')
}

/// The value `pattern` names for `element`: a string key's value, a hash field's value,
/// the element itself for `#`; `None` when that key is missing, of another type, or the
/// pattern names no key.
pub(super) fn lookup(ks: &Keyspace, now_ms: u64, pattern: &[u8], element: &Bytes) -> Option<Bytes> {
    let scanned = c_str(pattern);
    if scanned == b"#" {
        return Some(element.clone());
    }
    let star = scanned.iter().position(|&b| b == b'*')?;
    // `->` after the star, with at least one byte (not a NUL) after it.
    let arrow = scanned[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|at| star + 1 + at)
        .filter(|&at| scanned.len() > at + 2);
    let postfix_end = arrow.unwrap_or(pattern.len());
    let mut key = Vec::with_capacity(pattern.len() + element.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(&pattern[star + 1..postfix_end]);
    let value = &ks.get(&key, now_ms)?.value;
    match (arrow, value) {
        (None, Value::Str(bytes)) => Some(bytes.clone()),
        (Some(at), Value::Hash(hash)) => hash.get(&pattern[at + 2..]).cloned(),
        _ => None,
    }
}
