//! The commands over a range of a sorted set: ZRANGE (by rank, BYSCORE or BYLEX, REV,
//! LIMIT, WITHSCORES) and the older forms it subsumes (ZREVRANGE, ZRANGEBYSCORE,
//! ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX), ZRANGESTORE, ZCOUNT, ZLEXCOUNT and
//! ZREMRANGEBYSCORE / BYRANK / BYLEX.
//!
//! Every check comes in Redis's order (`zrangeGenericCommand`): the option words, then
//! LIMIT and WITHSCORES against the range kind, then the bounds, then the key.
//!
//! Not here: parsing and walking the bounds themselves (`bounds.rs`).

use bytes::Bytes;
use quorum_keyspace::{Value, ZSetValue};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::bounds::{by_rank, rank_bounds, LexRange, ScoreRange, Walk};
use super::{integer, members_reply};
use crate::parse::{arg, is_keyword, parse_i64};
use crate::typed::{get, update};
use crate::{ReadCx, Reply, WriteCx};

/// Which range a command reads.
enum Spec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// The range kind a command fixes, or `Auto` for ZRANGE and ZRANGESTORE (BYSCORE, BYLEX).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// A parsed ZRANGE-like request.
struct Query {
    spec: Spec,
    reverse: bool,
    withscores: bool,
    offset: i64,
    /// LIMIT's count; negative for all (Redis's default, -1, also means "no LIMIT").
    count: i64,
}

/// Parses `<src> <min> <max> [options]` with `src` at `args[src]`. `store` (ZRANGESTORE)
/// refuses WITHSCORES; `kind` and `reverse` are what the older command names fix.
fn parse_query(
    args: &[Bytes],
    src: usize,
    store: bool,
    mut kind: Kind,
    mut reverse: Option<bool>,
) -> Result<Query, ErrorReply> {
    let mut withscores = false;
    let mut offset = 0;
    let mut count = -1;
    let mut at = src + 3;
    while let Some(word) = args.get(at) {
        let left = args.len() - at - 1;
        if !store && is_keyword(word, "withscores") {
            withscores = true;
        } else if is_keyword(word, "limit") && left >= 2 {
            offset = parse_i64(&args[at + 1])?;
            count = parse_i64(&args[at + 2])?;
            at += 2;
        } else if reverse.is_none() && is_keyword(word, "rev") {
            reverse = Some(true);
        } else if kind == Kind::Auto && is_keyword(word, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is_keyword(word, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(ErrorReply::syntax());
        }
        at += 1;
    }
    let reverse = reverse.unwrap_or(false);
    if count != -1 && matches!(kind, Kind::Auto | Kind::Rank) {
        return Err(ErrorReply::from_static(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(ErrorReply::from_static(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // BYSCORE and BYLEX take their bounds as max, min when reversed; ranks do not.
    let (low, high) = match kind {
        Kind::Score | Kind::Lex if reverse => (arg(args, src + 2)?, arg(args, src + 1)?),
        _ => (arg(args, src + 1)?, arg(args, src + 2)?),
    };
    let spec = match kind {
        Kind::Auto | Kind::Rank => Spec::Rank(parse_i64(low)?, parse_i64(high)?),
        Kind::Score => Spec::Score(ScoreRange::parse(low, high)?),
        Kind::Lex => Spec::Lex(LexRange::parse(low, high)?),
    };
    Ok(Query {
        spec,
        reverse,
        withscores,
        offset,
        count,
    })
}

/// The members a query selects, in reply order.
fn select<'a>(zset: &'a ZSetValue, query: &Query) -> Vec<(&'a Bytes, f64)> {
    let reverse = query.reverse;
    match &query.spec {
        Spec::Rank(start, end) => rank_bounds(*start, *end, zset.len())
            .map(|(start, end)| by_rank(zset, start, end, reverse))
            .unwrap_or_default(),
        Spec::Score(range) => limited(
            range.walk(zset, reverse),
            |_, score| range.continues(score, reverse),
            query,
        ),
        Spec::Lex(range) => limited(
            range.walk(zset, reverse),
            |member, _| range.continues(member, reverse),
            query,
        ),
    }
}

/// Redis's walk with LIMIT: skip `offset` members without looking at them (a negative
/// offset walks off the end), then take members while `continues`, at most `count`.
fn limited<'a>(
    walk: Walk<'a>,
    continues: impl Fn(&[u8], f64) -> bool,
    query: &Query,
) -> Vec<(&'a Bytes, f64)> {
    let Ok(offset) = usize::try_from(query.offset) else {
        return Vec::new();
    };
    let in_range = walk
        .skip(offset)
        .take_while(|&(member, score)| continues(member, score));
    match usize::try_from(query.count) {
        Ok(count) => in_range.take(count).collect(),
        Err(_) => in_range.collect(),
    }
}

fn read_range(cx: &ReadCx<'_>, args: &[Bytes], kind: Kind, reverse: Option<bool>) -> Reply {
    let query = parse_query(args, 1, false, kind, reverse)?;
    let Some(zset) = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(Frame::Array(Vec::new()));
    };
    Ok(members_reply(select(zset, &query), query.withscores))
}

pub(super) fn zrange(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read_range(cx, args, Kind::Auto, None)
}

pub(super) fn zrevrange(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read_range(cx, args, Kind::Rank, Some(true))
}

pub(super) fn zrangebyscore(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read_range(cx, args, Kind::Score, Some(false))
}

pub(super) fn zrevrangebyscore(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read_range(cx, args, Kind::Score, Some(true))
}

pub(super) fn zrangebylex(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read_range(cx, args, Kind::Lex, Some(false))
}

pub(super) fn zrevrangebylex(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read_range(cx, args, Kind::Lex, Some(true))
}

pub(super) fn precheck_zrangestore(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_query(args, 2, true, Kind::Auto, None).map(drop)
}

/// ZRANGESTORE: the destination is replaced (whatever its type, without TTL) by the range,
/// or deleted when the range is empty.
pub(super) fn zrangestore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let query = parse_query(args, 2, true, Kind::Auto, None)?;
    let destination = arg(args, 1)?;
    let selected: ZSetValue = match get::<ZSetValue>(cx.ks, arg(args, 2)?, cx.now_ms)? {
        Some(zset) => select(zset, &query)
            .into_iter()
            .map(|(member, score)| (member.clone(), score))
            .collect(),
        None => ZSetValue::new(),
    };
    if selected.is_empty() {
        cx.ks.remove(destination);
        return Ok(Frame::Integer(0));
    }
    let stored = integer(selected.len());
    cx.ks
        .insert(destination.clone(), Value::ZSet(selected), None);
    Ok(stored)
}

pub(super) fn zcount(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let range = ScoreRange::parse(arg(args, 2)?, arg(args, 3)?)?;
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    Ok(integer(zset.map_or(0, |z| range.walk(z, false).count())))
}

pub(super) fn zlexcount(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let range = LexRange::parse(arg(args, 2)?, arg(args, 3)?)?;
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let count = zset.map_or(0, |z| {
        range
            .walk(z, false)
            .take_while(|(member, _)| range.continues(member, false))
            .count()
    });
    Ok(integer(count))
}

fn rank_spec(args: &[Bytes]) -> Result<Spec, ErrorReply> {
    Ok(Spec::Rank(
        parse_i64(arg(args, 2)?)?,
        parse_i64(arg(args, 3)?)?,
    ))
}

fn score_spec(args: &[Bytes]) -> Result<Spec, ErrorReply> {
    Ok(Spec::Score(ScoreRange::parse(
        arg(args, 2)?,
        arg(args, 3)?,
    )?))
}

fn lex_spec(args: &[Bytes]) -> Result<Spec, ErrorReply> {
    Ok(Spec::Lex(LexRange::parse(arg(args, 2)?, arg(args, 3)?)?))
}

pub(super) fn precheck_zremrangebyrank(args: &[Bytes]) -> Result<(), ErrorReply> {
    rank_spec(args).map(drop)
}

pub(super) fn precheck_zremrangebyscore(args: &[Bytes]) -> Result<(), ErrorReply> {
    score_spec(args).map(drop)
}

pub(super) fn precheck_zremrangebylex(args: &[Bytes]) -> Result<(), ErrorReply> {
    lex_spec(args).map(drop)
}

pub(super) fn zremrangebyrank(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    remove_range(cx, args, rank_spec(args)?)
}

pub(super) fn zremrangebyscore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    remove_range(cx, args, score_spec(args)?)
}

pub(super) fn zremrangebylex(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    remove_range(cx, args, lex_spec(args)?)
}

/// Removes the members `spec` selects; the key is touched only when one was removed.
fn remove_range(cx: &mut WriteCx<'_>, args: &[Bytes], spec: Spec) -> Reply {
    let key = arg(args, 1)?;
    let Some(zset) = get::<ZSetValue>(cx.ks, key, cx.now_ms)? else {
        return Ok(Frame::Integer(0));
    };
    let query = Query {
        spec,
        reverse: false,
        withscores: false,
        offset: 0,
        count: -1,
    };
    let doomed: Vec<Bytes> = select(zset, &query)
        .into_iter()
        .map(|(member, _)| member.clone())
        .collect();
    if doomed.is_empty() {
        return Ok(Frame::Integer(0));
    }
    update::<ZSetValue, _>(cx.ks, key, |z| {
        for member in &doomed {
            z.remove(member);
        }
    })?;
    Ok(integer(doomed.len()))
}
