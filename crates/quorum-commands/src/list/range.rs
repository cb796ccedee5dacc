//! Access by index and range: LLEN, LRANGE, LINDEX, LSET, LTRIM.
//!
//! Redis checks some arguments before looking the key up and some after (LINDEX and LSET
//! look the key up first, LRANGE and LTRIM parse first); each command keeps its order, so
//! the same bad call gets the same error as from Redis.
//!
//! Not here: access by value (`search.rs`).

use bytes::Bytes;
use quorum_keyspace::ListValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::{resolve_index, resolve_range};
use crate::parse::{arg, parse_i64};
use crate::typed;
use crate::{ReadCx, Reply, WriteCx};

pub(super) fn llen(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let list = typed::get::<ListValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    Ok(Frame::Integer(list.map_or(0, |l| l.len() as i64)))
}

/// Both bounds of LRANGE and LTRIM, parsed before the key is looked at.
fn parse_bounds(args: &[Bytes]) -> Result<(i64, i64), ErrorReply> {
    Ok((parse_i64(arg(args, 2)?)?, parse_i64(arg(args, 3)?)?))
}

/// The selected elements, allocating no more than the range holds (which the list's
/// length bounds).
pub(super) fn lrange(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let (start, stop) = parse_bounds(args)?;
    let Some(list) = typed::get::<ListValue>(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(Frame::Array(Vec::new()));
    };
    let Some((start, stop)) = resolve_range(list.len(), start, stop) else {
        return Ok(Frame::Array(Vec::new()));
    };
    let mut elements = Vec::with_capacity(stop - start + 1);
    elements.extend((start..=stop).filter_map(|i| list.get(i).cloned().map(Frame::Bulk)));
    Ok(Frame::Array(elements))
}

pub(super) fn lindex(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let Some(list) = typed::get::<ListValue>(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(Frame::Null);
    };
    let index = parse_i64(arg(args, 2)?)?;
    let element = resolve_index(list.len(), index).and_then(|i| list.get(i));
    Ok(Frame::optional_bulk(element.cloned()))
}

/// LSET has no precheck: Redis reports a missing key (`ERR no such key`) or a wrong type
/// before a bad index, and only the replica's state can tell which comes first.
pub(super) fn lset(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let key = arg(args, 1)?;
    let Some(list) = typed::get::<ListValue>(cx.ks, key, cx.now_ms)? else {
        return Err(ErrorReply::no_such_key());
    };
    let index = parse_i64(arg(args, 2)?)?;
    let index = resolve_index(list.len(), index)
        .ok_or_else(|| ErrorReply::from_static("ERR index out of range"))?;
    let element = arg(args, 3)?.clone();
    typed::update::<ListValue, _>(cx.ks, key, |list| list.set(index, element))?;
    Ok(Frame::ok())
}

pub(super) fn precheck_ltrim(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_bounds(args).map(drop)
}

/// Keeps the selected range; an empty selection deletes the list. Replies OK for a missing
/// key too.
pub(super) fn ltrim(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let (start, stop) = parse_bounds(args)?;
    typed::update::<ListValue, _>(cx.ks, arg(args, 1)?, |list| {
        match resolve_range(list.len(), start, stop) {
            Some((start, stop)) => list.retain_range(start, stop + 1),
            None => list.retain_range(0, 0),
        }
    })?;
    Ok(Frame::ok())
}
