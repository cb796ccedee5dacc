//! The random commands: SPOP (a write, drawing from the leader's seed in `cx.rng`, so every
//! replica pops the same members) and SRANDMEMBER (a read, drawing from the read's seed).
//!
//! Counts are checked before the key is looked up and with Redis 7.0's texts. A count
//! never sizes an allocation by itself: SPOP's and a positive SRANDMEMBER's replies are
//! bounded by the set, and a negative SRANDMEMBER count (members may repeat) by
//! [`SRANDMEMBER_REPEATS_MAX`].
//!
//! Not here: Redis's own picks. Its generator and member order differ, so the same
//! command picks other members there; only the distribution (uniform) is alike.

use std::collections::BTreeMap;

use bytes::Bytes;
use quorum_keyspace::SetValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::member_set;
use crate::parse::{arg, parse_i64, string_to_i64};
use crate::random::DeterministicRng;
use crate::typed::{get, update};
use crate::{ReadCx, Reply, WriteCx};

/// Most members a negative SRANDMEMBER count may ask for. Redis accepts up to `i64::MAX`
/// and streams the reply; quorum builds the whole reply (about 40 bytes a member before
/// encoding) before sending it, and 4 Mi members keep that under the default 256 MiB
/// client output limit.
pub(crate) const SRANDMEMBER_REPEATS_MAX: u64 = 4 * 1024 * 1024;

pub(super) fn precheck_spop(args: &[Bytes]) -> Result<(), ErrorReply> {
    spop_count(args).map(drop)
}

/// SPOP's optional count: `None` for the one-member form. Redis answers every count that is
/// not a non-negative integer with the same text, and more than one argument after the key
/// with a syntax error.
fn spop_count(args: &[Bytes]) -> Result<Option<usize>, ErrorReply> {
    match args.len() {
        2 => Ok(None),
        3 => string_to_i64(&args[2])
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| ErrorReply::from_static("ERR value is out of range, must be positive")),
        _ => Err(ErrorReply::syntax()),
    }
}

pub(super) fn spop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let count = spop_count(args)?;
    let key = arg(args, 1)?;
    let Some(set) = get::<SetValue>(cx.ks, key, cx.now_ms)? else {
        return Ok(match count {
            None => Frame::Null,
            Some(_) => Frame::Set(Vec::new()),
        });
    };
    let len = set.len();
    let Some(count) = count else {
        let rng = &mut cx.rng;
        let popped = update::<SetValue, _>(cx.ks, key, |set| set.remove_index(rng.below(len)))?;
        return Ok(Frame::optional_bulk(popped.flatten()));
    };
    if count == 0 {
        return Ok(Frame::Set(Vec::new()));
    }
    if count >= len {
        let reply = member_set(set.iter());
        cx.ks.remove(key);
        return Ok(reply);
    }
    let rng = &mut cx.rng;
    let popped = update::<SetValue, _>(cx.ks, key, |set| {
        (0..count)
            .filter_map(|_| set.remove_index(rng.below(set.len())))
            .map(Frame::Bulk)
            .collect()
    })?;
    Ok(Frame::Set(popped.unwrap_or_default()))
}

/// SRANDMEMBER's count: up to `count` distinct members, or exactly `count` members that may
/// repeat when the client gave a negative count (`repeat`).
struct RandCount {
    count: u64,
    repeat: bool,
}

fn srandmember_count(args: &[Bytes]) -> Result<Option<RandCount>, ErrorReply> {
    match args.len() {
        2 => Ok(None),
        3 => {
            let n = parse_i64(&args[2])?;
            if n == i64::MIN {
                // Redis reads the count as a long in -LONG_MAX..=LONG_MAX.
                return Err(ErrorReply::from_static(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ));
            }
            let count = n.unsigned_abs();
            if n < 0 && count > SRANDMEMBER_REPEATS_MAX {
                return Err(ErrorReply::new(format!(
                    "ERR value is out of range, value must between -{SRANDMEMBER_REPEATS_MAX} and 9223372036854775807"
                )));
            }
            Ok(Some(RandCount {
                count,
                repeat: n < 0,
            }))
        }
        _ => Err(ErrorReply::syntax()),
    }
}

pub(super) fn srandmember(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let count = srandmember_count(args)?;
    let set = get::<SetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let mut rng = DeterministicRng::new(cx.random_seed);
    let Some(set) = set else {
        return Ok(match count {
            None => Frame::Null,
            Some(_) => Frame::Array(Vec::new()),
        });
    };
    let len = set.len();
    let Some(RandCount { count, repeat }) = count else {
        return Ok(Frame::optional_bulk(set.get_index(rng.below(len)).cloned()));
    };
    let members: Vec<&Bytes> = if repeat {
        (0..count)
            .filter_map(|_| set.get_index(rng.below(len)))
            .collect()
    } else if count >= len as u64 {
        set.iter().collect()
    } else {
        distinct_members(set, count as usize, &mut rng)
    };
    Ok(Frame::Array(
        members.into_iter().cloned().map(Frame::Bulk).collect(),
    ))
}

/// `count` distinct members (`count < set.len()`) in random order: the first `count` steps
/// of a Fisher-Yates shuffle over the positions, with the swapped positions kept in a map so
/// that memory follows `count`, not the set's size.
fn distinct_members<'a>(
    set: &'a SetValue,
    count: usize,
    rng: &mut DeterministicRng,
) -> Vec<&'a Bytes> {
    let len = set.len();
    let mut swapped: BTreeMap<usize, usize> = BTreeMap::new();
    let mut picked = Vec::with_capacity(count.min(len));
    for i in 0..count.min(len) {
        let j = i + rng.below(len - i);
        let at_j = swapped.get(&j).copied().unwrap_or(j);
        let at_i = swapped.get(&i).copied().unwrap_or(i);
        swapped.insert(j, at_i);
        picked.extend(set.get_index(at_j));
    }
    picked
}
