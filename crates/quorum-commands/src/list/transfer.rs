//! Moving an element from one list to another: LMOVE, RPOPLPUSH, and [`move_element`],
//! the move the blocking forms share.
//!
//! Not here: pops that return elements to the client only (`push_pop.rs`).

use bytes::Bytes;
use quorum_keyspace::{Keyspace, ListValue};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::{holds_list, pop, push, End};
use crate::parse::arg;
use crate::typed;
use crate::{Reply, WriteCx};

pub(super) fn precheck_lmove(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_lmove_ends(args).map(drop)
}

/// LMOVE's `wherefrom` and `whereto`, checked before the keys are looked at.
fn parse_lmove_ends(args: &[Bytes]) -> Result<(End, End), ErrorReply> {
    Ok((End::parse(arg(args, 3)?)?, End::parse(arg(args, 4)?)?))
}

pub(super) fn lmove(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let (from, to) = parse_lmove_ends(args)?;
    let element = move_element(cx.ks, arg(args, 1)?, arg(args, 2)?, from, to)?;
    Ok(Frame::optional_bulk(element))
}

/// RPOPLPUSH is `LMOVE source destination RIGHT LEFT`.
pub(super) fn rpoplpush(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let element = move_element(cx.ks, arg(args, 1)?, arg(args, 2)?, End::Tail, End::Head)?;
    Ok(Frame::optional_bulk(element))
}

/// Pops one element from `from` of the list under `src` and pushes it at `to` of the list
/// under `dst` (created when absent), returning it; `None` when `src` is absent.
/// `WRONGTYPE`, with nothing changed, when `src` holds another type, or when `src` holds a
/// list and `dst` another type (Redis checks in that order, so an absent `src` with a
/// wrong-typed `dst` is nil). With `src == dst` the list rotates: a one-element list keeps
/// its element. The caller removes expired keys first (write dispatch does).
///
/// The blocking forms (BLMOVE, BRPOPLPUSH) call this once `src` has data.
pub(crate) fn move_element(
    ks: &mut Keyspace,
    src: &[u8],
    dst: &Bytes,
    from: End,
    to: End,
) -> Result<Option<Bytes>, ErrorReply> {
    if !holds_list(ks, src)? {
        return Ok(None);
    }
    if src == dst.as_ref() {
        // One change, so the list never passes through empty (which would delete it).
        let rotated = typed::update::<ListValue, _>(ks, src, |list| {
            let element = pop(list, from)?;
            push(list, to, element.clone());
            Some(element)
        })?;
        return Ok(rotated.flatten());
    }
    // Only the type matters here: a wrong-typed destination refuses before the pop.
    holds_list(ks, dst)?;
    let Some(element) = typed::update::<ListValue, _>(ks, src, |list| pop(list, from))?.flatten()
    else {
        return Ok(None);
    };
    typed::upsert::<ListValue, _>(ks, dst, |list| push(list, to, element.clone()))?;
    Ok(Some(element))
}
