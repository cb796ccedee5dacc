//! ZADD and ZINCRBY, which Redis runs through one function (`zaddGenericCommand`): the same
//! option words, the same checks in the same order, so `ZINCRBY k nx m` is a syntax error
//! (NX is read as an option, leaving an odd number of arguments) just as in Redis.
//!
//! The command is planned against the current set first and applied only when it changes
//! something, so a ZADD that adds and updates nothing does not touch the key (Redis
//! signals a modified key only when something was added or updated).
//!
//! Not here: score parsing (`score.rs`).

use std::collections::HashMap;

use bytes::Bytes;
use quorum_keyspace::ZSetValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::score::{score_arg, stored};
use crate::parse::{arg, is_keyword};
use crate::typed::{get, upsert};
use crate::{Reply, WriteCx};

/// ZADD's options and its score-member pairs, parsed.
struct Request<'a> {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
    /// `(score or increment, member)`, in argument order.
    pairs: Vec<(f64, &'a Bytes)>,
}

pub(super) fn precheck_zadd(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse(args, false).map(drop)
}

pub(super) fn precheck_zincrby(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse(args, true).map(drop)
}

/// Parses in Redis's order: option words, an even number of remaining arguments, option
/// conflicts, INCR's single pair, then every score (so nothing is changed when one fails).
fn parse(args: &[Bytes], incr: bool) -> Result<Request<'_>, ErrorReply> {
    let mut request = Request {
        nx: false,
        xx: false,
        gt: false,
        lt: false,
        ch: false,
        incr,
        pairs: Vec::new(),
    };
    let mut at = 2;
    while let Some(word) = args.get(at) {
        let flag = match () {
            _ if is_keyword(word, "nx") => &mut request.nx,
            _ if is_keyword(word, "xx") => &mut request.xx,
            _ if is_keyword(word, "ch") => &mut request.ch,
            _ if is_keyword(word, "incr") => &mut request.incr,
            _ if is_keyword(word, "gt") => &mut request.gt,
            _ if is_keyword(word, "lt") => &mut request.lt,
            _ => break,
        };
        *flag = true;
        at += 1;
    }
    let rest = &args[at.min(args.len())..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(ErrorReply::syntax());
    }
    if request.nx && request.xx {
        return Err(ErrorReply::from_static(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if ((request.gt || request.lt) && request.nx) || (request.gt && request.lt) {
        return Err(ErrorReply::from_static(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if request.incr && rest.len() > 2 {
        return Err(ErrorReply::from_static(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    request.pairs = rest
        .chunks_exact(2)
        .map(|pair| Ok((score_arg(&pair[0])?, &pair[1])))
        .collect::<Result<_, ErrorReply>>()?;
    Ok(request)
}

pub(super) fn zadd(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    add(cx, args, false)
}

pub(super) fn zincrby(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    add(cx, args, true)
}

/// What a ZADD does: the writes to make (member, score to store), and what to answer.
struct Plan<'a> {
    writes: Vec<(&'a Bytes, f64)>,
    added: usize,
    updated: usize,
    /// The score INCR answers: that of the last pair that was not skipped.
    incr_reply: Option<f64>,
}

fn add(cx: &mut WriteCx<'_>, args: &[Bytes], incr: bool) -> Reply {
    let request = parse(args, incr)?;
    let key = arg(args, 1)?;
    let zset = get::<ZSetValue>(cx.ks, key, cx.now_ms)?;
    if zset.is_none() && request.xx {
        return Ok(reply(&request, &empty_plan()));
    }
    let plan = plan(zset, &request)?;
    if !plan.writes.is_empty() {
        upsert::<ZSetValue, _>(cx.ks, key, |z| {
            for &(member, score) in &plan.writes {
                z.insert(member.clone(), score);
            }
        })?;
    }
    Ok(reply(&request, &plan))
}

fn empty_plan<'a>() -> Plan<'a> {
    Plan {
        writes: Vec::new(),
        added: 0,
        updated: 0,
        incr_reply: None,
    }
}

/// Redis's `zsetAdd` for each pair in turn, against `zset` as the earlier pairs of the same
/// command left it (`ZADD k 1 a 2 a` adds `a`, then updates it).
fn plan<'a>(zset: Option<&ZSetValue>, request: &Request<'a>) -> Result<Plan<'a>, ErrorReply> {
    let mut plan = empty_plan();
    let mut pending: HashMap<&[u8], f64> = HashMap::new();
    for &(input, member) in &request.pairs {
        let current = pending
            .get(member.as_ref())
            .copied()
            .or_else(|| zset.and_then(|z| z.score(member)));
        let Some(current) = current else {
            if request.xx {
                continue;
            }
            plan.added += 1;
            plan.incr_reply = Some(input);
            plan.writes.push((member, stored(input)));
            pending.insert(member, stored(input));
            continue;
        };
        if request.nx {
            continue;
        }
        let score = if request.incr { input + current } else { input };
        if score.is_nan() {
            return Err(ErrorReply::from_static(
                "ERR resulting score is not a number (NaN)",
            ));
        }
        if (request.lt && score >= current) || (request.gt && score <= current) {
            continue;
        }
        plan.incr_reply = Some(score);
        // Equal scores (also 0 and -0) leave the member as it is, as in Redis.
        if score != current {
            plan.updated += 1;
            plan.writes.push((member, stored(score)));
            pending.insert(member, stored(score));
        }
    }
    Ok(plan)
}

fn reply(request: &Request<'_>, plan: &Plan<'_>) -> Frame {
    if request.incr {
        return plan.incr_reply.map_or(Frame::Null, Frame::Double);
    }
    let count = if request.ch {
        plan.added + plan.updated
    } else {
        plan.added
    };
    Frame::Integer(i64::try_from(count).unwrap_or(i64::MAX))
}
