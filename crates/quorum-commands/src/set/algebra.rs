//! Set algebra: SINTER, SUNION, SDIFF, their STORE forms, and SINTERCARD.
//!
//! Every named key is looked up before anything is computed, so a key of another type is
//! `WRONGTYPE` wherever it appears, also after an absent key (Redis 7.0 checks them all;
//! 6.x stopped at the first absent key of an intersection). An absent key is an empty set.
//!
//! Results keep a deterministic order: an intersection follows its smallest set, a union
//! its first appearance of each member, a difference its first set.
//!
//! Not here: per-key commands (`mod.rs`).

use bytes::Bytes;
use quorum_keyspace::{Keyspace, SetValue, Value};
use quorum_types::ErrorReply;

use super::{integer, member_set};
use crate::parse::{arg, is_keyword, string_to_i64, Args};
use crate::typed::get;
use crate::{ReadCx, Reply, WriteCx};

/// The sets under `keys` (`None` for an absent key), or `WRONGTYPE` if any holds another
/// type.
fn lookup<'a>(
    ks: &'a Keyspace,
    keys: &[Bytes],
    now_ms: u64,
) -> Result<Vec<Option<&'a SetValue>>, ErrorReply> {
    keys.iter()
        .map(|key| get::<SetValue>(ks, key, now_ms))
        .collect()
}

/// The sets of an intersection, smallest first (ties in argument order); `None` when one
/// is absent, which makes the intersection empty.
fn smallest_first<'a>(sets: &[Option<&'a SetValue>]) -> Option<Vec<&'a SetValue>> {
    let mut present: Vec<&SetValue> = sets.iter().copied().collect::<Option<_>>()?;
    present.sort_by_key(|set| set.len());
    Some(present)
}

/// Members of the first set that are in all the others; stops after `limit` members.
fn intersection<'a>(sets: &[Option<&'a SetValue>], limit: usize) -> Vec<&'a Bytes> {
    let Some(sets) = smallest_first(sets) else {
        return Vec::new();
    };
    let Some((first, rest)) = sets.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter(|m| rest.iter().all(|set| set.contains(m)))
        .take(limit)
        .collect()
}

fn union(sets: &[Option<&SetValue>]) -> SetValue {
    sets.iter()
        .flatten()
        .flat_map(|set| set.iter())
        .cloned()
        .collect()
}

/// Members of the first set in none of the others.
fn difference<'a>(sets: &[Option<&'a SetValue>]) -> Vec<&'a Bytes> {
    let Some((Some(first), rest)) = sets.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter(|m| rest.iter().flatten().all(|set| !set.contains(m)))
        .collect()
}

pub(super) fn sinter(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let sets = lookup(cx.ks, &args[1..], cx.now_ms)?;
    Ok(member_set(intersection(&sets, usize::MAX).into_iter()))
}

pub(super) fn sunion(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let sets = lookup(cx.ks, &args[1..], cx.now_ms)?;
    Ok(member_set(union(&sets).iter()))
}

pub(super) fn sdiff(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let sets = lookup(cx.ks, &args[1..], cx.now_ms)?;
    Ok(member_set(difference(&sets).into_iter()))
}

pub(super) fn sinterstore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let sets = lookup(cx.ks, &args[2..], cx.now_ms)?;
    let result = intersection(&sets, usize::MAX)
        .into_iter()
        .cloned()
        .collect();
    store(cx.ks, arg(args, 1)?, result)
}

pub(super) fn sunionstore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let sets = lookup(cx.ks, &args[2..], cx.now_ms)?;
    let result = union(&sets);
    store(cx.ks, arg(args, 1)?, result)
}

pub(super) fn sdiffstore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let sets = lookup(cx.ks, &args[2..], cx.now_ms)?;
    let result = difference(&sets).into_iter().cloned().collect();
    store(cx.ks, arg(args, 1)?, result)
}

/// Stores a STORE form's result under `dst`, replacing whatever was there (any type, and
/// its TTL); an empty result deletes `dst`, as Redis does. Replies the result's size.
fn store(ks: &mut Keyspace, dst: &Bytes, result: SetValue) -> Reply {
    let size = result.len();
    if result.is_empty() {
        ks.remove(dst);
    } else {
        ks.insert(dst.clone(), Value::Set(result), None);
    }
    Ok(integer(size))
}

/// SINTERCARD numkeys key... [LIMIT limit]: the intersection's size, counting stopped at
/// `limit` (0 = no limit).
pub(super) fn sintercard(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let (numkeys, limit) = parse_sintercard(args)?;
    let sets = lookup(cx.ks, &args[2..2 + numkeys], cx.now_ms)?;
    let limit = if limit == 0 { usize::MAX } else { limit };
    Ok(integer(intersection(&sets, limit).len()))
}

/// SINTERCARD's numkeys and LIMIT, with Redis 7.0's texts: a numkeys that is not a positive
/// integer and a LIMIT that is not a non-negative one each have their own message.
fn parse_sintercard(args: &[Bytes]) -> Result<(usize, usize), ErrorReply> {
    let numkeys = string_to_i64(arg(args, 1)?)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n >= 1)
        .ok_or_else(|| ErrorReply::from_static("ERR numkeys should be greater than 0"))?;
    if numkeys > args.len() - 2 {
        return Err(ErrorReply::from_static(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut options = Args::new(args, 2 + numkeys);
    while let Some(word) = options.next() {
        if !(is_keyword(word, "limit") && options.remaining() > 0) {
            return Err(ErrorReply::syntax());
        }
        limit = string_to_i64(options.value()?)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| ErrorReply::from_static("ERR LIMIT can't be negative"))?;
    }
    Ok((numkeys, limit))
}
