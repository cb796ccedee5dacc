//! BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP as the log applies them: exactly their
//! non-blocking forms, with a null array when every key is empty. The server keeps a client
//! whose blocking command found nothing parked and proposes the same command again when a
//! key it waits for changes (`quorum-server`'s `blocking.rs`); inside MULTI the null array is
//! the reply, as Redis's blocking commands behave as non-blocking ones there.
//!
//! Not here: waiting (`crate::blocking` says which keys and how long).

use bytes::Bytes;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::push_pop::parse_lmpop;
use super::{move_element, pop_from, End};
use crate::blocking::parse_timeout;
use crate::parse::arg;
use crate::{Reply, WriteCx};

/// BLPOP/BRPOP: the timeout is the last argument.
pub(super) fn precheck_last_timeout(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_timeout(arg(args, args.len() - 1)?).map(drop)
}

pub(super) fn blpop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    pop_first(cx, args, End::Head)
}

pub(super) fn brpop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    pop_first(cx, args, End::Tail)
}

/// `[key, element]` from the first key holding a list, in the order given; a key of another
/// type before it is `WRONGTYPE`, as Redis checks them in order.
fn pop_first(cx: &mut WriteCx<'_>, args: &[Bytes], end: End) -> Reply {
    precheck_last_timeout(args)?;
    for key in &args[1..args.len() - 1] {
        if let Some(mut popped) = pop_from(cx.ks, key, end, 1)? {
            let element = popped.pop().unwrap_or_default();
            return Ok(Frame::Array(vec![
                Frame::Bulk(key.clone()),
                Frame::Bulk(element),
            ]));
        }
    }
    Ok(Frame::NullArray)
}

/// BLMOVE's ends and timeout, in Redis's order (the timeout first).
fn parse_blmove(args: &[Bytes]) -> Result<(End, End), ErrorReply> {
    parse_timeout(arg(args, 5)?)?;
    Ok((End::parse(arg(args, 3)?)?, End::parse(arg(args, 4)?)?))
}

pub(super) fn precheck_blmove(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_blmove(args).map(drop)
}

pub(super) fn blmove(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let (from, to) = parse_blmove(args)?;
    moved(move_element(cx.ks, arg(args, 1)?, arg(args, 2)?, from, to)?)
}

pub(super) fn precheck_brpoplpush(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_timeout(arg(args, 3)?).map(drop)
}

pub(super) fn brpoplpush(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    precheck_brpoplpush(args)?;
    let element = move_element(cx.ks, arg(args, 1)?, arg(args, 2)?, End::Tail, End::Head)?;
    moved(element)
}

fn moved(element: Option<Bytes>) -> Reply {
    Ok(element.map_or(Frame::NullArray, Frame::Bulk))
}

/// `BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n]`: the timeout, then LMPOP's grammar
/// on the arguments after it.
pub(super) fn precheck_blmpop(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_timeout(arg(args, 1)?)?;
    parse_lmpop(&args[1..]).map(drop)
}

pub(super) fn blmpop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    parse_timeout(arg(args, 1)?)?;
    let rest = &args[1..];
    let mpop = parse_lmpop(rest)?;
    for key in &rest[mpop.keys] {
        if let Some(elements) = pop_from(cx.ks, key, mpop.end, mpop.count)? {
            return Ok(Frame::Array(vec![
                Frame::Bulk(key.clone()),
                Frame::bulk_array(elements),
            ]));
        }
    }
    Ok(Frame::NullArray)
}
