//! APPEND, STRLEN, GETRANGE and SETRANGE: commands that address bytes inside a string.
//!
//! Results are capped at [`STRING_BYTES_MAX`] (Redis's `proto-max-bulk-len` check) before
//! anything is allocated.
//!
//! Not here: whole-value commands (`set.rs`).

use bytes::{Bytes, BytesMut};
use quorum_keyspace::Value;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::{get_string, store_keep_ttl, STRING_BYTES_MAX};
use crate::parse::{arg, parse_i64};
use crate::{ReadCx, Reply, WriteCx};

/// SETRANGE's offset: a non-negative integer.
fn offset(args: &[Bytes]) -> Result<u64, ErrorReply> {
    let n = parse_i64(arg(args, 2)?)?;
    u64::try_from(n).map_err(|_| ErrorReply::offset_out_of_range())
}

/// Fails when a string of `offset + len` bytes would exceed the limit.
fn check_length(offset: u64, len: usize) -> Result<usize, ErrorReply> {
    match offset.checked_add(len as u64) {
        Some(total) if total <= STRING_BYTES_MAX => Ok(total as usize),
        _ => Err(ErrorReply::string_too_long()),
    }
}

pub(crate) fn precheck_setrange(args: &[Bytes]) -> Result<(), ErrorReply> {
    offset(args).map(drop)
}

pub(crate) fn append(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let (ks, key, tail) = (&mut *cx.ks, arg(args, 1)?, arg(args, 2)?);
    let Some(current) = get_string(ks, key, cx.now_ms)? else {
        ks.insert(key.clone(), Value::Str(tail.clone()), None);
        return Ok(Frame::Integer(tail.len() as i64));
    };
    let total = check_length(current.len() as u64, tail.len())?;
    ks.update_value(key, |value| {
        if let Value::Str(bytes) = value {
            *bytes = extend(std::mem::take(bytes), tail);
        }
    });
    Ok(Frame::Integer(total as i64))
}

pub(crate) fn setrange(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let (ks, key) = (&mut *cx.ks, arg(args, 1)?);
    let offset = offset(args)?;
    let patch = arg(args, 3)?;
    let current = get_string(ks, key, cx.now_ms)?;
    if patch.is_empty() {
        // Nothing to write: reply the current length and create nothing.
        return Ok(Frame::Integer(current.map_or(0, |b| b.len()) as i64));
    }
    let end = check_length(offset, patch.len())?;
    let start = offset as usize;
    let mut bytes = BytesMut::from(current.map_or(&[][..], |b| &b[..]));
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    bytes[start..end].copy_from_slice(patch);
    let len = bytes.len();
    store_keep_ttl(ks, key, bytes.freeze());
    Ok(Frame::Integer(len as i64))
}

/// Appends `tail` to `bytes`, in place when this is the only reference (amortised growth
/// for repeated APPENDs), by copying otherwise.
fn extend(bytes: Bytes, tail: &[u8]) -> Bytes {
    let mut buf = bytes
        .try_into_mut()
        .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
    buf.extend_from_slice(tail);
    buf.freeze()
}

pub(crate) fn strlen(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let current = get_string(cx.ks, arg(args, 1)?, cx.now_ms)?;
    Ok(Frame::Integer(current.map_or(0, |b| b.len()) as i64))
}

pub(crate) fn getrange(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let start = parse_i64(arg(args, 2)?)?;
    let end = parse_i64(arg(args, 3)?)?;
    let bytes = get_string(cx.ks, arg(args, 1)?, cx.now_ms)?
        .cloned()
        .unwrap_or_default();
    Ok(Frame::Bulk(substring(&bytes, start, end)))
}

/// GETRANGE's index arithmetic, as Redis's `getrangeCommand`: negative indexes count from
/// the end, both ends are clamped, and an empty or inverted range gives "".
fn substring(bytes: &Bytes, start: i64, end: i64) -> Bytes {
    let len = bytes.len() as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return Bytes::new();
    }
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.clamp(0, len - 1);
    if start > end {
        return Bytes::new();
    }
    bytes.slice(start as usize..=end as usize)
}
