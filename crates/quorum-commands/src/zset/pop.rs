//! ZPOPMIN, ZPOPMAX and ZMPOP, and [`pop_members`]: the pop itself, which the blocking
//! forms (BZPOPMIN, BZPOPMAX, BZMPOP, written with the server layer that parks clients)
//! call once a key has members, with the reply shapes they need ([`keyed_flat_reply`],
//! [`keyed_nested_reply`]).
//!
//! Counts are checked before any key is looked up, with Redis 7.0's texts; a count never
//! sizes an allocation (a pop is bounded by the set).

use bytes::Bytes;
use quorum_keyspace::{Keyspace, Value, ZSetValue};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::members_reply;
use crate::parse::{arg, is_keyword, string_to_i64};
use crate::typed::{get, update};
use crate::{Reply, WriteCx};

/// Which end of a sorted set a pop takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The lowest scores (ZPOPMIN, BZPOPMIN, `MIN`).
    Min,
    /// The highest scores (ZPOPMAX, BZPOPMAX, `MAX`).
    Max,
}

/// Pops up to `count` members from the `end` of the sorted set at `key`, lowest first for
/// `Min` and highest first for `Max`, deleting the key when it empties. Nothing (and no
/// change) when the key is absent; `WRONGTYPE` for another type.
pub(crate) fn pop_members(
    ks: &mut Keyspace,
    key: &[u8],
    end: End,
    count: usize,
) -> Result<Vec<(Bytes, f64)>, ErrorReply> {
    // The type first: `ZPOPMIN str 0` is WRONGTYPE in Redis, not an empty pop. (Expired
    // keys were removed before the write ran.)
    match ks.get_including_expired(key).map(|entry| &entry.value) {
        None => return Ok(Vec::new()),
        Some(Value::ZSet(_)) => {}
        Some(_) => return Err(ErrorReply::wrong_type()),
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    let popped = update::<ZSetValue, _>(ks, key, |zset| {
        let taken: Vec<(Bytes, f64)> = match end {
            End::Min => zset
                .iter()
                .take(count)
                .map(|(m, s)| (m.clone(), s))
                .collect(),
            End::Max => zset
                .iter()
                .rev()
                .take(count)
                .map(|(m, s)| (m.clone(), s))
                .collect(),
        };
        for (member, _) in &taken {
            zset.remove(member);
        }
        taken
    })?;
    Ok(popped.unwrap_or_default())
}

/// `[key, member, score, ...]`: BZPOPMIN's and BZPOPMAX's reply.
pub(crate) fn keyed_flat_reply(key: &Bytes, popped: &[(Bytes, f64)]) -> Frame {
    let mut frames = vec![Frame::Bulk(key.clone())];
    for (member, score) in popped {
        frames.push(Frame::Bulk(member.clone()));
        frames.push(Frame::Double(*score));
    }
    Frame::Array(frames)
}

/// `[key, [[member, score], ...]]`: ZMPOP's and BZMPOP's reply, nested in RESP2 too.
pub(crate) fn keyed_nested_reply(key: &Bytes, popped: &[(Bytes, f64)]) -> Frame {
    let pairs = popped
        .iter()
        .map(|(member, score)| {
            Frame::Array(vec![Frame::Bulk(member.clone()), Frame::Double(*score)])
        })
        .collect();
    Frame::Array(vec![Frame::Bulk(key.clone()), Frame::Array(pairs)])
}

pub(super) fn precheck_zpop(args: &[Bytes]) -> Result<(), ErrorReply> {
    zpop_count(args).map(drop)
}

/// ZPOPMIN's optional count: `None` for the one-member form. Redis answers every count
/// that is not a non-negative integer with the same text.
fn zpop_count(args: &[Bytes]) -> Result<Option<usize>, ErrorReply> {
    match args {
        [_, _] => Ok(None),
        [_, _, count] => string_to_i64(count)
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| ErrorReply::from_static("ERR value is out of range, must be positive")),
        _ => Err(ErrorReply::syntax()),
    }
}

pub(super) fn zpopmin(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    zpop(cx, args, End::Min)
}

pub(super) fn zpopmax(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    zpop(cx, args, End::Max)
}

/// ZPOPMIN / ZPOPMAX: a flat `[member, score, ...]`, empty for an absent key or a count
/// of 0 (which changes nothing).
fn zpop(cx: &mut WriteCx<'_>, args: &[Bytes], end: End) -> Reply {
    let count = zpop_count(args)?.unwrap_or(1);
    let popped = pop_members(cx.ks, arg(args, 1)?, end, count)?;
    Ok(members_reply(popped.iter().map(|(m, s)| (m, *s)), true))
}

/// ZMPOP's arguments: the keys, the end, and how many members.
pub(super) struct Zmpop<'a> {
    pub(super) keys: &'a [Bytes],
    pub(super) end: End,
    pub(super) count: usize,
}

pub(super) fn precheck_zmpop(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_zmpop(args).map(drop)
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`, checked in Redis's order.
pub(super) fn parse_zmpop(args: &[Bytes]) -> Result<Zmpop<'_>, ErrorReply> {
    let numkeys = args
        .get(1)
        .and_then(|n| string_to_i64(n))
        .filter(|&n| n >= 1)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| ErrorReply::from_static("ERR numkeys should be greater than 0"))?;
    let end_at = numkeys.checked_add(2).filter(|&at| at < args.len());
    let Some(end_at) = end_at else {
        return Err(ErrorReply::syntax());
    };
    let end = match &args[end_at] {
        word if is_keyword(word, "min") => End::Min,
        word if is_keyword(word, "max") => End::Max,
        _ => return Err(ErrorReply::syntax()),
    };
    let mut count = None;
    let mut at = end_at + 1;
    while let Some(word) = args.get(at) {
        let has_value = at + 1 < args.len();
        if count.is_none() && is_keyword(word, "count") && has_value {
            let n = string_to_i64(&args[at + 1])
                .filter(|&n| n >= 1)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| ErrorReply::from_static("ERR count should be greater than 0"))?;
            count = Some(n);
            at += 2;
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    Ok(Zmpop {
        keys: &args[2..end_at],
        end,
        count: count.unwrap_or(1),
    })
}

/// ZMPOP: pops from the first key that exists (`WRONGTYPE` if it is not a sorted set),
/// or answers a null array when none does.
pub(super) fn zmpop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let request = parse_zmpop(args)?;
    for key in request.keys {
        if get::<ZSetValue>(cx.ks, key, cx.now_ms)?.is_none() {
            continue;
        }
        let popped = pop_members(cx.ks, key, request.end, request.count)?;
        return Ok(keyed_nested_reply(key, &popped));
    }
    Ok(Frame::NullArray)
}
