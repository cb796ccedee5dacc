//! Access by value: LINSERT, LREM, LPOS. Each walks the list once, O(n) as in Redis.
//!
//! A walk that finds nothing changes nothing and touches no key (no WATCH fails, no
//! blocked client wakes), as Redis signals a key only when it changed it.
//!
//! Not here: access by index (`range.rs`).

use bytes::Bytes;
use quorum_keyspace::ListValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::{pop, push, walk, End};
use crate::parse::{arg, is_keyword, parse_i64, string_to_i64, Args};
use crate::typed;
use crate::{ReadCx, Reply, WriteCx};

pub(super) fn precheck_linsert(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_where(args).map(drop)
}

/// LINSERT's `BEFORE` (true) or `AFTER` (false), checked before the key is looked at.
fn parse_where(args: &[Bytes]) -> Result<bool, ErrorReply> {
    let word = arg(args, 2)?;
    if is_keyword(word, "after") {
        Ok(false)
    } else if is_keyword(word, "before") {
        Ok(true)
    } else {
        Err(ErrorReply::syntax())
    }
}

/// Inserts next to the first occurrence of the pivot: the new length, -1 when the pivot is
/// not there, 0 when the key is absent.
pub(super) fn linsert(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let before = parse_where(args)?;
    let key = arg(args, 1)?;
    let (pivot, element) = (arg(args, 3)?, arg(args, 4)?);
    let Some(list) = typed::get::<ListValue>(cx.ks, key, cx.now_ms)? else {
        return Ok(Frame::Integer(0));
    };
    let Some(at) = list.iter().position(|e| e == pivot) else {
        return Ok(Frame::Integer(-1));
    };
    let at = if before { at } else { at + 1 };
    let len = typed::update::<ListValue, _>(cx.ks, key, |list| {
        list.insert(at, element.clone());
        list.len()
    })?;
    Ok(Frame::Integer(len.map_or(0, |len| len as i64)))
}

pub(super) fn precheck_lrem(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_i64(arg(args, 2)?).map(drop)
}

/// Removes up to |count| occurrences, from the head for a positive count, from the tail
/// for a negative one, all of them for 0; replies how many it removed.
pub(super) fn lrem(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let count = parse_i64(arg(args, 2)?)?;
    let key = arg(args, 1)?;
    let element = arg(args, 3)?;
    let Some(list) = typed::get::<ListValue>(cx.ks, key, cx.now_ms)? else {
        return Ok(Frame::Integer(0));
    };
    let end = if count < 0 { End::Tail } else { End::Head };
    // 0 means all; i64::MIN's magnitude (2^63) is more than any list holds, so it removes
    // all too, as it does in Redis.
    let limit = match count.unsigned_abs() {
        0 => u64::MAX,
        n => n,
    };
    // First find how far from `end` the last removal is, so that a list without the
    // element is not touched and the change below walks no further than needed.
    let mut removed = 0u64;
    let mut reach = 0usize;
    for (step, (_, e)) in walk(list, end).enumerate() {
        if removed == limit {
            break;
        }
        if e == element {
            removed += 1;
            reach = step + 1;
        }
    }
    if removed == 0 {
        return Ok(Frame::Integer(0));
    }
    typed::update::<ListValue, _>(cx.ks, key, |list| {
        // Take the `reach` elements nearest `end` off, then put back those that stay, in
        // their order: O(reach), and memory stays accounted by the list's own methods.
        let mut kept = Vec::with_capacity(reach);
        for _ in 0..reach {
            match pop(list, end) {
                Some(e) if e != element => kept.push(e),
                _ => {}
            }
        }
        for e in kept.into_iter().rev() {
            push(list, end, e);
        }
    })?;
    Ok(Frame::Integer(removed as i64))
}

/// LPOS's options.
struct Lpos {
    /// Which match to start from: 1 the first, -1 the first from the tail.
    rank: i64,
    /// How many matches to return (0: all); `None` without COUNT (a single index reply).
    count: Option<i64>,
    /// How many elements to compare at most (0: all).
    maxlen: i64,
}

/// Parses LPOS's options in Redis's order and with its texts; a later option overrides an
/// earlier one of the same name.
fn parse_lpos(args: &[Bytes]) -> Result<Lpos, ErrorReply> {
    let mut lpos = Lpos {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let non_negative = |value: &[u8], error: &'static str| {
        string_to_i64(value)
            .filter(|&n| n >= 0)
            .ok_or_else(|| ErrorReply::from_static(error))
    };
    let mut options = Args::new(args, 3);
    while let Some(option) = options.next() {
        let has_value = options.remaining() > 0;
        if is_keyword(option, "rank") && has_value {
            lpos.rank = parse_i64(options.value()?)?;
            if lpos.rank == 0 {
                return Err(ErrorReply::from_static(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if is_keyword(option, "count") && has_value {
            lpos.count = Some(non_negative(
                options.value()?,
                "ERR COUNT can't be negative",
            )?);
        } else if is_keyword(option, "maxlen") && has_value {
            lpos.maxlen = non_negative(options.value()?, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    Ok(lpos)
}

/// The index (or with COUNT, the indexes) of matching elements.
///
/// The arithmetic copies Redis 7.0's C `long` arithmetic, wrapping included: `RANK
/// -9223372036854775808` negates to itself, so every match qualifies and COUNT never stops
/// the walk; Redis 7.0.15 answers that way and so does quorum.
pub(super) fn lpos(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let Lpos {
        rank,
        count,
        maxlen,
    } = parse_lpos(args)?;
    let element = arg(args, 2)?;
    let Some(list) = typed::get::<ListValue>(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(count.map_or(Frame::Null, |_| Frame::Array(Vec::new())));
    };
    let (end, rank) = if rank < 0 {
        (End::Tail, rank.wrapping_neg())
    } else {
        (End::Head, rank)
    };
    let mut matches: i64 = 0;
    let mut found = Vec::new();
    for (step, (index, e)) in walk(list, end).enumerate() {
        if maxlen != 0 && step as i64 >= maxlen {
            break;
        }
        if e != element {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        let Some(count) = count else {
            return Ok(Frame::Integer(index as i64));
        };
        found.push(Frame::Integer(index as i64));
        if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count {
            break;
        }
    }
    Ok(match count {
        Some(_) => Frame::Array(found),
        None => Frame::Null,
    })
}
