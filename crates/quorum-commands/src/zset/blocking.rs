//! BZPOPMIN, BZPOPMAX, BZMPOP as the log applies them: their non-blocking forms, with a null
//! array when every key is empty, so the server keeps the client parked (`crate::blocking`,
//! `quorum-server`'s `blocking.rs`). Inside MULTI the null array is the reply.
//!
//! Not here: waiting.

use bytes::Bytes;
use quorum_keyspace::ZSetValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::pop::{keyed_flat_reply, keyed_nested_reply, parse_zmpop, pop_members, End};
use crate::blocking::parse_timeout;
use crate::parse::arg;
use crate::typed::get;
use crate::{Reply, WriteCx};

/// BZPOPMIN/BZPOPMAX: the timeout is the last argument.
pub(super) fn precheck_last_timeout(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_timeout(arg(args, args.len() - 1)?).map(drop)
}

pub(super) fn bzpopmin(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    pop_first(cx, args, End::Min)
}

pub(super) fn bzpopmax(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    pop_first(cx, args, End::Max)
}

/// `[key, member, score]` from the first key holding a sorted set, in the order given; a key
/// of another type before it is `WRONGTYPE`.
fn pop_first(cx: &mut WriteCx<'_>, args: &[Bytes], end: End) -> Reply {
    precheck_last_timeout(args)?;
    for key in &args[1..args.len() - 1] {
        if get::<ZSetValue>(cx.ks, key, cx.now_ms)?.is_none() {
            continue;
        }
        let popped = pop_members(cx.ks, key, end, 1)?;
        return Ok(keyed_flat_reply(key, &popped));
    }
    Ok(Frame::NullArray)
}

/// `BZMPOP timeout numkeys key... MIN|MAX [COUNT n]`: the timeout, then ZMPOP's grammar.
pub(super) fn precheck_bzmpop(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_timeout(arg(args, 1)?)?;
    parse_zmpop(&args[1..]).map(drop)
}

pub(super) fn bzmpop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    parse_timeout(arg(args, 1)?)?;
    let request = parse_zmpop(&args[1..])?;
    for key in request.keys {
        if get::<ZSetValue>(cx.ks, key, cx.now_ms)?.is_none() {
            continue;
        }
        let popped = pop_members(cx.ks, key, request.end, request.count)?;
        return Ok(keyed_nested_reply(key, &popped));
    }
    Ok(Frame::NullArray)
}
