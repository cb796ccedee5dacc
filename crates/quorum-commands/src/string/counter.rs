//! INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT: numbers stored as strings.
//!
//! Integers follow Redis's `string2ll` (no `+`, no leading zeros, no spaces); overflow is an
//! error, never a wrap. Floats are `f64` (Redis uses `long double`; see `parse.rs`), and a
//! result that is NaN or infinite is refused. Counters keep the key's deadline.
//!
//! Not here: parsing primitives (`parse.rs`).

use bytes::Bytes;
use quorum_keyspace::Keyspace;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::{get_string, store_keep_ttl};
use crate::parse::{arg, format_float_human, parse_f64, parse_i64, string_to_f64, string_to_i64};
use crate::{Reply, WriteCx};

pub(crate) fn precheck_incrby(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_i64(arg(args, 2)?).map(drop)
}

pub(crate) fn precheck_decrby(args: &[Bytes]) -> Result<(), ErrorReply> {
    decrement(args).map(drop)
}

pub(crate) fn precheck_incrbyfloat(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_f64(arg(args, 2)?).map(drop)
}

/// DECRBY's amount, negated (the most negative integer cannot be).
fn decrement(args: &[Bytes]) -> Result<i64, ErrorReply> {
    let n = parse_i64(arg(args, 2)?)?;
    n.checked_neg().ok_or_else(ErrorReply::decrement_overflow)
}

pub(crate) fn incr(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    add(cx, arg(args, 1)?, 1)
}

pub(crate) fn decr(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    add(cx, arg(args, 1)?, -1)
}

pub(crate) fn incrby(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    add(cx, arg(args, 1)?, parse_i64(arg(args, 2)?)?)
}

pub(crate) fn decrby(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    add(cx, arg(args, 1)?, decrement(args)?)
}

pub(crate) fn incrbyfloat(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    incr_by_float(cx.ks, arg(args, 1)?, arg(args, 2)?, cx.now_ms)
}

/// Adds `by` to the integer under `key` (0 when absent), refusing overflow.
fn add(cx: &mut WriteCx<'_>, key: &Bytes, by: i64) -> Reply {
    let current = match get_string(cx.ks, key, cx.now_ms)? {
        None => 0,
        Some(text) => string_to_i64(text).ok_or_else(ErrorReply::not_integer)?,
    };
    let next = current.checked_add(by).ok_or_else(ErrorReply::overflow)?;
    store_keep_ttl(cx.ks, key, Bytes::from(next.to_string()));
    Ok(Frame::Integer(next))
}

fn incr_by_float(ks: &mut Keyspace, key: &Bytes, by: &[u8], now_ms: u64) -> Reply {
    // Redis checks the type, then the stored value, then the increment.
    let current = match get_string(ks, key, now_ms)? {
        None => 0.0,
        Some(text) => string_to_f64(text).ok_or_else(ErrorReply::not_float)?,
    };
    let by = parse_f64(by)?;
    let next = current + by;
    if !next.is_finite() {
        return Err(ErrorReply::nan_or_infinity());
    }
    let text = Bytes::from(format_float_human(next));
    store_keep_ttl(ks, key, text.clone());
    Ok(Frame::Bulk(text))
}
