//! Field access: HSET, HMSET, HSETNX, HDEL (writes) and HGET, HMGET, HEXISTS, HLEN,
//! HSTRLEN (reads).
//!
//! A write that changes nothing (HSETNX on an existing field, HDEL of absent fields) does
//! not touch the key, as Redis signals no modification then (WATCH stays valid).
//!
//! Not here: counters in fields (`counter.rs`), whole-hash reads (`iterate.rs`).

use bytes::Bytes;
use quorum_keyspace::HashValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::arg;
use crate::typed::{get, update, upsert};
use crate::{ReadCx, Reply, WriteCx};

pub(super) fn precheck_hset(args: &[Bytes]) -> Result<(), ErrorReply> {
    field_value_pairs(args, "hset").map(drop)
}

pub(super) fn precheck_hmset(args: &[Bytes]) -> Result<(), ErrorReply> {
    field_value_pairs(args, "hmset").map(drop)
}

/// The `field value` pairs after the key. The table's arity (-4) lets an odd count through;
/// Redis then answers the arity error itself, before looking at the key.
fn field_value_pairs<'a>(
    args: &'a [Bytes],
    command: &str,
) -> Result<std::slice::ChunksExact<'a, Bytes>, ErrorReply> {
    if args.len() < 4 || args.len() % 2 == 1 {
        return Err(ErrorReply::wrong_arity(command));
    }
    Ok(args[2..].chunks_exact(2))
}

/// Sets every pair and returns how many fields are new.
fn set_pairs(cx: &mut WriteCx<'_>, args: &[Bytes], command: &str) -> Result<usize, ErrorReply> {
    let pairs = field_value_pairs(args, command)?;
    upsert::<HashValue, _>(cx.ks, arg(args, 1)?, |hash| {
        pairs
            .filter(|pair| hash.insert(pair[0].clone(), pair[1].clone()).is_none())
            .count()
    })
}

/// HSET: the number of fields added (not counting updated ones).
pub(super) fn hset(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let added = set_pairs(cx, args, "hset")?;
    Ok(Frame::Integer(added as i64))
}

/// HMSET: HSET's older form, replying `+OK`.
pub(super) fn hmset(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    set_pairs(cx, args, "hmset")?;
    Ok(Frame::ok())
}

pub(super) fn hsetnx(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let (key, field, value) = (arg(args, 1)?, arg(args, 2)?, arg(args, 3)?);
    let exists = get::<HashValue>(cx.ks, key, cx.now_ms)?.is_some_and(|h| h.contains(field));
    if exists {
        return Ok(Frame::Integer(0));
    }
    upsert::<HashValue, _>(cx.ks, key, |hash| hash.insert(field.clone(), value.clone()))?;
    Ok(Frame::Integer(1))
}

/// HDEL: how many of the named fields existed (a field named twice counts once). The key
/// goes when its last field does.
pub(super) fn hdel(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let key = arg(args, 1)?;
    let fields = &args[2..];
    let any = get::<HashValue>(cx.ks, key, cx.now_ms)?
        .is_some_and(|hash| fields.iter().any(|f| hash.contains(f)));
    if !any {
        return Ok(Frame::Integer(0));
    }
    let removed = update::<HashValue, _>(cx.ks, key, |hash| {
        fields.iter().filter(|f| hash.remove(f).is_some()).count()
    })?;
    Ok(Frame::Integer(removed.unwrap_or(0) as i64))
}

pub(super) fn hget(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let hash = get::<HashValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let field = arg(args, 2)?;
    Ok(Frame::optional_bulk(
        hash.and_then(|h| h.get(field)).cloned(),
    ))
}

/// HMGET: one reply per field, nil for an absent field or key.
pub(super) fn hmget(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let hash = get::<HashValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let values = args[2..]
        .iter()
        .map(|field| Frame::optional_bulk(hash.and_then(|h| h.get(field)).cloned()))
        .collect();
    Ok(Frame::Array(values))
}

pub(super) fn hexists(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let hash = get::<HashValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let field = arg(args, 2)?;
    Ok(Frame::Integer(i64::from(
        hash.is_some_and(|h| h.contains(field)),
    )))
}

pub(super) fn hlen(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let hash = get::<HashValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    Ok(Frame::Integer(hash.map_or(0, HashValue::len) as i64))
}

/// HSTRLEN: the value's length in bytes, 0 for an absent field or key.
pub(super) fn hstrlen(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let hash = get::<HashValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let field = arg(args, 2)?;
    let len = hash.and_then(|h| h.get(field)).map_or(0, Bytes::len);
    Ok(Frame::Integer(len as i64))
}
