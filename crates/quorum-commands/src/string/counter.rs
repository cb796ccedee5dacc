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
use crate::Reply;

/// The signed amount an integer counter command adds.
fn increment(name: &str, args: &[Bytes]) -> Result<i64, ErrorReply> {
    match name {
        "incr" => Ok(1),
        "decr" => Ok(-1),
        "incrby" => parse_i64(arg(args, 2)?),
        "decrby" => {
            let n = parse_i64(arg(args, 2)?)?;
            n.checked_neg().ok_or_else(ErrorReply::decrement_overflow)
        }
        _ => Err(crate::unhandled_name(name)),
    }
}

pub(crate) fn precheck(name: &str, args: &[Bytes]) -> Result<(), ErrorReply> {
    match name {
        "incrbyfloat" => parse_f64(arg(args, 2)?).map(drop),
        _ => increment(name, args).map(drop),
    }
}

pub(crate) fn apply(name: &str, ks: &mut Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    let key = arg(args, 1)?;
    if name == "incrbyfloat" {
        return incr_by_float(ks, key, arg(args, 2)?, now_ms);
    }
    let by = increment(name, args)?;
    let current = match get_string(ks, key, now_ms)? {
        None => 0,
        Some(text) => string_to_i64(text).ok_or_else(ErrorReply::not_integer)?,
    };
    let next = current.checked_add(by).ok_or_else(ErrorReply::overflow)?;
    store_keep_ttl(ks, key, Bytes::from(next.to_string()));
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
