//! Redis's `sorted-set` group (`t_zset.c`), non-blocking forms:
//!
//! - this file: the rows of the command table, the per-member commands (ZCARD ZSCORE
//!   ZMSCORE ZREM ZRANK ZREVRANK) and the reply shapes the group shares;
//! - `add.rs`: ZADD and ZINCRBY;
//! - `bounds.rs`: score, lex and rank ranges: parsing and walking a set through one;
//! - `range.rs`: the commands over a range (ZRANGE and its older forms, ZRANGESTORE,
//!   ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*);
//! - `pop.rs`: ZPOPMIN ZPOPMAX ZMPOP, and [`pop::pop_members`] for the blocking forms;
//! - `pick.rs`: ZRANDMEMBER;
//! - `algebra.rs`: ZUNION ZINTER ZDIFF, their STORE forms, ZINTERCARD;
//! - `scan.rs`: ZSCAN;
//! - `score.rs`: reading scores as C's `strtod` does, and their texts.
//!
//! Scores are replied as [`Frame::Double`] wherever Redis 7.0 uses `addReplyDouble`, which
//! the encoder prints as C's `%.17g`.
//!
//! Where quorum knowingly answers otherwise than Redis 7.0.15 (each explained where it is
//! decided):
//! - RESP3 pairs: WITHSCORES, ZPOPMIN with a count and ZRANDMEMBER WITHSCORES are flat
//!   arrays (Redis's RESP2 shape); Redis nests them in pairs for RESP3, which a [`Frame`]
//!   cannot express yet.
//! - `-0`: stored as `0` in every set (`score::stored`), as Redis's small sets store it;
//!   a large Redis set keeps `-0` (replies that compute a score, such as ZINCRBY and
//!   ZUNION, still say `-0` as Redis does).
//! - ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE check their options before their inputs' types
//!   (a write's syntax is checked before it enters the log); Redis answers WRONGTYPE first.
//! - ZSCAN of a large set: quorum's cursors and page sizes (`scan.rs`); ZRANDMEMBER: other
//!   random picks, and a negative count is capped (`pick.rs`).
//! - Lex ranges over members of different scores (undefined in Redis) answer what a small
//!   Redis set answers, also for large sets.
//!
//! Not here: the blocking forms BZPOPMIN BZPOPMAX BZMPOP (they need the server layer to
//! park a client), the value type (`quorum_keyspace::ZSetValue`), typed access (`typed.rs`).

mod add;
mod algebra;
mod blocking;
mod bounds;
mod pick;
pub(crate) mod pop;
mod range;
mod scan;
mod score;

use bytes::Bytes;
use quorum_keyspace::{ZSetKey, ZSetValue};
use quorum_resp::Frame;

use crate::parse::arg;
use crate::table::{
    command_rows, destination_then_numkeys, no_precheck, numkeys_at, CommandSpec, Handler, Keys,
};
use crate::typed::{get, update};
use crate::{ReadCx, Reply, WriteCx};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "zadd", -4, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(add::precheck_zadd, add::zadd), "sorted-set", ["@write", "@sortedset", "@fast"], [], "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists" }
    { "zincrby", 4, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(add::precheck_zincrby, add::zincrby), "sorted-set", ["@write", "@sortedset", "@fast"], [], "1.2.0", "Increment the score of a member in a sorted set" }
    { "zrem", -3, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, zrem), "sorted-set", ["@write", "@sortedset", "@fast"], [], "1.2.0", "Remove one or more members from a sorted set" }
    { "zscore", 3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(zscore), "sorted-set", ["@read", "@sortedset", "@fast"], [], "1.2.0", "Get the score associated with the given member in a sorted set" }
    { "zmscore", -3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(zmscore), "sorted-set", ["@read", "@sortedset", "@fast"], [], "6.2.0", "Get the score associated with the given members in a sorted set" }
    { "zcard", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(zcard), "sorted-set", ["@read", "@sortedset", "@fast"], [], "1.2.0", "Get the number of members in a sorted set" }
    { "zcount", 4, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(range::zcount), "sorted-set", ["@read", "@sortedset", "@fast"], [], "2.0.0", "Count the members in a sorted set with scores within the given values" }
    { "zlexcount", 4, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(range::zlexcount), "sorted-set", ["@read", "@sortedset", "@fast"], [], "2.8.9", "Count the number of members in a sorted set between a given lexicographical range" }
    { "zrank", 3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(zrank), "sorted-set", ["@read", "@sortedset", "@fast"], [], "2.0.0", "Determine the index of a member in a sorted set" }
    { "zrevrank", 3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(zrevrank), "sorted-set", ["@read", "@sortedset", "@fast"], [], "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low" }
    { "zrange", -4, ["readonly"], Keys::range(1, 1, 1), Handler::Read(range::zrange), "sorted-set", ["@read", "@sortedset", "@slow"], [], "1.2.0", "Return a range of members in a sorted set" }
    { "zrangestore", -5, ["write", "denyoom"], Keys::range(1, 2, 1), Handler::Write(range::precheck_zrangestore, range::zrangestore), "sorted-set", ["@write", "@sortedset", "@slow"], [], "6.2.0", "Store a range of members from sorted set into another key" }
    { "zrangebyscore", -4, ["readonly"], Keys::range(1, 1, 1), Handler::Read(range::zrangebyscore), "sorted-set", ["@read", "@sortedset", "@slow"], [], "1.0.5", "Return a range of members in a sorted set, by score" }
    { "zrevrangebyscore", -4, ["readonly"], Keys::range(1, 1, 1), Handler::Read(range::zrevrangebyscore), "sorted-set", ["@read", "@sortedset", "@slow"], [], "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low" }
    { "zrangebylex", -4, ["readonly"], Keys::range(1, 1, 1), Handler::Read(range::zrangebylex), "sorted-set", ["@read", "@sortedset", "@slow"], [], "2.8.9", "Return a range of members in a sorted set, by lexicographical range" }
    { "zrevrangebylex", -4, ["readonly"], Keys::range(1, 1, 1), Handler::Read(range::zrevrangebylex), "sorted-set", ["@read", "@sortedset", "@slow"], [], "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings." }
    { "zrevrange", -4, ["readonly"], Keys::range(1, 1, 1), Handler::Read(range::zrevrange), "sorted-set", ["@read", "@sortedset", "@slow"], [], "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low" }
    { "zremrangebyscore", 4, ["write"], Keys::range(1, 1, 1), Handler::Write(range::precheck_zremrangebyscore, range::zremrangebyscore), "sorted-set", ["@write", "@sortedset", "@slow"], [], "1.2.0", "Remove all members in a sorted set within the given scores" }
    { "zremrangebyrank", 4, ["write"], Keys::range(1, 1, 1), Handler::Write(range::precheck_zremrangebyrank, range::zremrangebyrank), "sorted-set", ["@write", "@sortedset", "@slow"], [], "2.0.0", "Remove all members in a sorted set within the given indexes" }
    { "zremrangebylex", 4, ["write"], Keys::range(1, 1, 1), Handler::Write(range::precheck_zremrangebylex, range::zremrangebylex), "sorted-set", ["@write", "@sortedset", "@slow"], [], "2.8.9", "Remove all members in a sorted set between the given lexicographical range" }
    { "zpopmin", -2, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(pop::precheck_zpop, pop::zpopmin), "sorted-set", ["@write", "@sortedset", "@fast"], [], "5.0.0", "Remove and return members with the lowest scores in a sorted set" }
    { "zpopmax", -2, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(pop::precheck_zpop, pop::zpopmax), "sorted-set", ["@write", "@sortedset", "@fast"], [], "5.0.0", "Remove and return members with the highest scores in a sorted set" }
    { "bzpopmin", -3, ["write", "noscript", "blocking", "fast"], Keys::range(1, -2, 1), Handler::Write(blocking::precheck_last_timeout, blocking::bzpopmin), "sorted-set", ["@write", "@sortedset", "@fast", "@blocking"], [], "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available" }
    { "bzpopmax", -3, ["write", "noscript", "blocking", "fast"], Keys::range(1, -2, 1), Handler::Write(blocking::precheck_last_timeout, blocking::bzpopmax), "sorted-set", ["@write", "@sortedset", "@fast", "@blocking"], [], "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available" }
    { "bzmpop", -5, ["write", "blocking", "movablekeys"], Keys::movable(0, 0, 0, numkeys_at::<2>), Handler::Write(blocking::precheck_bzmpop, blocking::bzmpop), "sorted-set", ["@write", "@sortedset", "@slow", "@blocking"], [], "7.0.0", "Remove and return members with scores in a sorted set or block until one is available" }
    { "zmpop", -4, ["write", "movablekeys"], Keys::movable(0, 0, 0, numkeys_at::<1>), Handler::Write(pop::precheck_zmpop, pop::zmpop), "sorted-set", ["@write", "@sortedset", "@slow"], [], "7.0.0", "Remove and return members with scores in a sorted set" }
    { "zrandmember", -2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(pick::zrandmember), "sorted-set", ["@read", "@sortedset", "@slow"], ["nondeterministic_output"], "6.2.0", "Get one or multiple random elements from a sorted set" }
    { "zunion", -3, ["readonly", "movablekeys"], Keys::movable(0, 0, 0, numkeys_at::<1>), Handler::Read(algebra::zunion), "sorted-set", ["@read", "@sortedset", "@slow"], [], "6.2.0", "Add multiple sorted sets" }
    { "zinter", -3, ["readonly", "movablekeys"], Keys::movable(0, 0, 0, numkeys_at::<1>), Handler::Read(algebra::zinter), "sorted-set", ["@read", "@sortedset", "@slow"], [], "6.2.0", "Intersect multiple sorted sets" }
    { "zdiff", -3, ["readonly", "movablekeys"], Keys::movable(0, 0, 0, numkeys_at::<1>), Handler::Read(algebra::zdiff), "sorted-set", ["@read", "@sortedset", "@slow"], [], "6.2.0", "Subtract multiple sorted sets" }
    { "zunionstore", -4, ["write", "denyoom", "movablekeys"], Keys::movable(1, 1, 1, destination_then_numkeys), Handler::Write(algebra::precheck_zunionstore, algebra::zunionstore), "sorted-set", ["@write", "@sortedset", "@slow"], [], "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key" }
    { "zinterstore", -4, ["write", "denyoom", "movablekeys"], Keys::movable(1, 1, 1, destination_then_numkeys), Handler::Write(algebra::precheck_zinterstore, algebra::zinterstore), "sorted-set", ["@write", "@sortedset", "@slow"], [], "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key" }
    { "zdiffstore", -4, ["write", "denyoom", "movablekeys"], Keys::movable(1, 1, 1, destination_then_numkeys), Handler::Write(algebra::precheck_zdiffstore, algebra::zdiffstore), "sorted-set", ["@write", "@sortedset", "@slow"], [], "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key" }
    { "zintercard", -3, ["readonly", "movablekeys"], Keys::movable(0, 0, 0, numkeys_at::<1>), Handler::Read(algebra::zintercard), "sorted-set", ["@read", "@sortedset", "@slow"], [], "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result" }
    { "zscan", -3, ["readonly"], Keys::range(1, 1, 1), Handler::Read(scan::zscan), "sorted-set", ["@read", "@sortedset", "@slow"], ["nondeterministic_output"], "2.8.0", "Incrementally iterate sorted sets elements and associated scores" }
};

fn integer(n: usize) -> Frame {
    Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Members, each followed by its score when `withscores`, as one flat array (Redis's
/// RESP2 shape for ZRANGE WITHSCORES, ZPOPMIN, ZRANDMEMBER, ZUNION...).
fn members_reply<'a>(items: impl IntoIterator<Item = (&'a Bytes, f64)>, withscores: bool) -> Frame {
    let mut frames = Vec::new();
    for (member, score) in items {
        frames.push(Frame::Bulk(member.clone()));
        if withscores {
            frames.push(Frame::Double(score));
        }
    }
    Frame::Array(frames)
}

/// 0-based rank of `member` from the lowest score, counting from whichever end of the
/// set is nearer: O(min(rank, len - rank)) where `ZSetValue::rank` is O(rank).
fn rank_of(zset: &ZSetValue, member: &[u8]) -> Option<usize> {
    let score = zset.score(member)?;
    let key = ZSetKey::new(score, Bytes::copy_from_slice(member));
    // `below` holds `rank` items, `from` holds `len - rank` (the member itself first).
    let mut below = zset.range(..&key);
    let mut from = zset.range(&key..);
    let mut steps = 0;
    loop {
        if below.next_back().is_none() {
            return Some(steps);
        }
        if from.next().is_none() {
            return Some(zset.len() - steps);
        }
        steps += 1;
    }
}

fn zcard(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    Ok(integer(zset.map_or(0, ZSetValue::len)))
}

fn zscore(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let member = arg(args, 2)?;
    let score = zset.and_then(|z| z.score(member));
    Ok(score.map_or(Frame::Null, Frame::Double))
}

/// ZMSCORE: a missing key reads as an empty set (nils), as in Redis.
fn zmscore(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let scores = args[2..]
        .iter()
        .map(|m| {
            zset.and_then(|z| z.score(m))
                .map_or(Frame::Null, Frame::Double)
        })
        .collect();
    Ok(Frame::Array(scores))
}

/// ZREM. The key is touched only when a member was there; a set left empty is deleted.
fn zrem(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let key = arg(args, 1)?;
    let members = &args[2..];
    let any_present = get::<ZSetValue>(cx.ks, key, cx.now_ms)?
        .is_some_and(|z| members.iter().any(|m| z.score(m).is_some()));
    if !any_present {
        return Ok(Frame::Integer(0));
    }
    let removed = update::<ZSetValue, _>(cx.ks, key, |z| {
        members.iter().filter(|m| z.remove(m).is_some()).count()
    })?;
    Ok(integer(removed.unwrap_or(0)))
}

fn zrank(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let member = arg(args, 2)?;
    let rank = zset.and_then(|z| rank_of(z, member));
    Ok(rank.map_or(Frame::Null, integer))
}

fn zrevrank(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let member = arg(args, 2)?;
    let rank = zset.and_then(|z| rank_of(z, member).map(|r| z.len() - 1 - r));
    Ok(rank.map_or(Frame::Null, integer))
}
