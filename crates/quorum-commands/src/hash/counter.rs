//! HINCRBY and HINCRBYFLOAT: numbers stored as a field's text.
//!
//! Checks come in Redis's order: the increment (a syntax matter, also checked before the
//! write enters the log), then the key's type, then the stored text, then overflow. A
//! missing key or field counts as 0. Integers follow `string2ll`, floats are `f64` and are
//! stored in INCRBYFLOAT's human format (`parse.rs` says how that differs from Redis's
//! `long double`).
//!
//! Not here: the string counters (`string/counter.rs`).

use bytes::Bytes;
use quorum_keyspace::HashValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{arg, format_float_human, parse_f64, parse_i64, string_to_f64, string_to_i64};
use crate::typed::{get, upsert};
use crate::{Reply, WriteCx};

pub(super) fn precheck_hincrby(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_i64(arg(args, 3)?).map(drop)
}

pub(super) fn precheck_hincrbyfloat(args: &[Bytes]) -> Result<(), ErrorReply> {
    float_increment(args).map(drop)
}

/// HINCRBYFLOAT's increment: a float, and a finite one (Redis refuses `inf` here, before
/// looking at the key, with its own text).
fn float_increment(args: &[Bytes]) -> Result<f64, ErrorReply> {
    let by = parse_f64(arg(args, 3)?)?;
    if !by.is_finite() {
        return Err(ErrorReply::from_static("ERR value is NaN or Infinity"));
    }
    Ok(by)
}

/// The current text of `field` in the hash under `key`, `None` when either is absent.
fn current<'a>(
    cx: &'a WriteCx<'_>,
    key: &[u8],
    field: &[u8],
) -> Result<Option<&'a Bytes>, ErrorReply> {
    Ok(get::<HashValue>(cx.ks, key, cx.now_ms)?.and_then(|hash| hash.get(field)))
}

/// Stores `text` in `field`, creating the hash when needed.
fn store(cx: &mut WriteCx<'_>, key: &Bytes, field: &Bytes, text: Bytes) -> Result<(), ErrorReply> {
    upsert::<HashValue, _>(cx.ks, key, |hash| hash.insert(field.clone(), text)).map(drop)
}

pub(super) fn hincrby(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let by = parse_i64(arg(args, 3)?)?;
    let (key, field) = (arg(args, 1)?, arg(args, 2)?);
    let value = match current(cx, key, field)? {
        None => 0,
        Some(text) => string_to_i64(text)
            .ok_or_else(|| ErrorReply::from_static("ERR hash value is not an integer"))?,
    };
    let next = value.checked_add(by).ok_or_else(ErrorReply::overflow)?;
    store(cx, key, field, Bytes::from(next.to_string()))?;
    Ok(Frame::Integer(next))
}

pub(super) fn hincrbyfloat(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let by = float_increment(args)?;
    let (key, field) = (arg(args, 1)?, arg(args, 2)?);
    let value = match current(cx, key, field)? {
        None => 0.0,
        Some(text) => string_to_f64(text)
            .ok_or_else(|| ErrorReply::from_static("ERR hash value is not a float"))?,
    };
    let next = value + by;
    if !next.is_finite() {
        return Err(ErrorReply::nan_or_infinity());
    }
    let text = Bytes::from(format_float_human(next));
    store(cx, key, field, text.clone())?;
    Ok(Frame::Bulk(text))
}
