//! Pushes and pops at the ends of lists: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LMPOP,
//! and [`pop_from`], the pop the blocking forms share.
//!
//! Not here: moves between two lists (`transfer.rs`).

use std::ops::Range;

use bytes::Bytes;
use quorum_keyspace::{Keyspace, ListValue};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::{holds_list, pop, push, End};
use crate::parse::{arg, is_keyword, string_to_i64, Args};
use crate::typed;
use crate::{Reply, WriteCx};

pub(super) fn lpush(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    push_command(cx.ks, args, End::Head, false)
}

pub(super) fn rpush(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    push_command(cx.ks, args, End::Tail, false)
}

pub(super) fn lpushx(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    push_command(cx.ks, args, End::Head, true)
}

pub(super) fn rpushx(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    push_command(cx.ks, args, End::Tail, true)
}

/// Pushes `args[2..]` one by one at `end` (so LPUSH reverses them, as in Redis) and replies
/// the new length; the `X` forms push only onto an existing list and reply 0 otherwise.
fn push_command(ks: &mut Keyspace, args: &[Bytes], end: End, only_existing: bool) -> Reply {
    let key = arg(args, 1)?;
    let elements = args.get(2..).unwrap_or_default();
    let push_all = |list: &mut ListValue| {
        for element in elements {
            push(list, end, element.clone());
        }
        list.len()
    };
    let len = if only_existing {
        typed::update::<ListValue, _>(ks, key, push_all)?.unwrap_or(0)
    } else {
        typed::upsert::<ListValue, _>(ks, key, push_all)?
    };
    Ok(Frame::Integer(len as i64))
}

pub(super) fn precheck_pop(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_pop_count(args).map(drop)
}

pub(super) fn lpop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    pop_command(cx.ks, args, End::Head)
}

pub(super) fn rpop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    pop_command(cx.ks, args, End::Tail)
}

/// LPOP/RPOP's optional count: `None` without one. Redis checks the argument count here
/// (the table's arity is only a minimum) and refuses a negative count with its
/// `getPositiveLongFromObjectOrReply` text.
fn parse_pop_count(args: &[Bytes]) -> Result<Option<usize>, ErrorReply> {
    match args {
        [_, _] => Ok(None),
        [_, _, count] => string_to_i64(count)
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| ErrorReply::from_static("ERR value is out of range, must be positive")),
        _ => {
            let name = args
                .first()
                .map_or_else(Default::default, |n| String::from_utf8_lossy(n));
            Err(ErrorReply::wrong_arity(&name))
        }
    }
}

/// Without a count: the element, or nil. With one: an array, or a null array for a missing
/// key (an empty array for `COUNT 0` on an existing list, which changes nothing).
fn pop_command(ks: &mut Keyspace, args: &[Bytes], end: End) -> Reply {
    let count = parse_pop_count(args)?;
    let key = arg(args, 1)?;
    let popped = pop_from(ks, key, end, count.unwrap_or(1))?;
    Ok(match (count, popped) {
        (None, None) => Frame::Null,
        (Some(_), None) => Frame::NullArray,
        (None, Some(elements)) => Frame::optional_bulk(elements.into_iter().next()),
        (Some(_), Some(elements)) => Frame::bulk_array(elements),
    })
}

/// Pops up to `count` elements from `end` of the list under `key`, in pop order: `None`
/// when the key is absent, `WRONGTYPE` (nothing changed) for another type. A list left
/// empty is deleted. `count == 0` only checks the type and touches nothing, as Redis's
/// fast path. The caller removes an expired `key` first (write dispatch does).
///
/// The blocking forms call this once the key has data: BLPOP/BRPOP with `count` 1 reply
/// `[key, element]`, BLMPOP replies `[key, elements]`.
pub(crate) fn pop_from(
    ks: &mut Keyspace,
    key: &[u8],
    end: End,
    count: usize,
) -> Result<Option<Vec<Bytes>>, ErrorReply> {
    if count == 0 {
        return Ok(holds_list(ks, key)?.then(Vec::new));
    }
    typed::update::<ListValue, _>(ks, key, |list| {
        // Bounded by the list, never by the client's count.
        let taken = count.min(list.len());
        let mut popped = Vec::with_capacity(taken);
        popped.extend(std::iter::from_fn(|| pop(list, end)).take(taken));
        popped
    })
}

/// LMPOP's parsed arguments.
pub(super) struct Mpop {
    /// Positions of the keys in the arguments.
    pub(super) keys: Range<usize>,
    pub(super) end: End,
    pub(super) count: usize,
}

pub(super) fn precheck_lmpop(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_lmpop(args).map(drop)
}

/// `LMPOP numkeys key... LEFT|RIGHT [COUNT n]`, with Redis's checks in Redis's order:
/// numkeys, then the end, then the options (COUNT at most once).
pub(super) fn parse_lmpop(args: &[Bytes]) -> Result<Mpop, ErrorReply> {
    let numkeys = string_to_i64(arg(args, 1)?)
        .filter(|&n| n >= 1)
        .ok_or_else(|| ErrorReply::from_static("ERR numkeys should be greater than 0"))?;
    let end_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(2))
        .filter(|&at| at < args.len())
        .ok_or_else(ErrorReply::syntax)?;
    let end = End::parse(&args[end_at])?;
    let mut count = None;
    let mut options = Args::new(args, end_at + 1);
    while let Some(option) = options.next() {
        if count.is_none() && is_keyword(option, "count") && options.remaining() > 0 {
            let n = string_to_i64(options.value()?)
                .filter(|&n| n >= 1)
                .ok_or_else(|| ErrorReply::from_static("ERR count should be greater than 0"))?;
            count = Some(usize::try_from(n).unwrap_or(usize::MAX));
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    Ok(Mpop {
        keys: 2..end_at,
        end,
        count: count.unwrap_or(1),
    })
}

/// Pops from the first key that holds a list: `[key, [elements]]`, or a null array when
/// none does. A key of another type before it is `WRONGTYPE`; keys after it are not looked
/// at (Redis stops at the first list too).
pub(super) fn lmpop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let mpop = parse_lmpop(args)?;
    for key in &args[mpop.keys] {
        if let Some(elements) = pop_from(cx.ks, key, mpop.end, mpop.count)? {
            return Ok(Frame::Array(vec![
                Frame::Bulk(key.clone()),
                Frame::bulk_array(elements),
            ]));
        }
    }
    Ok(Frame::NullArray)
}
