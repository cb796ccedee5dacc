//! Redis's `set` group: unordered collections of distinct members (`t_set.c`).
//!
//! - this file: the rows of the command table and the per-key commands (SADD, SREM,
//!   SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SMOVE);
//! - `algebra.rs`: SINTER, SUNION, SDIFF, their STORE forms and SINTERCARD;
//! - `pick.rs`: the random commands, SPOP and SRANDMEMBER;
//! - `scan.rs`: SSCAN.
//!
//! Members come back in the set's deterministic order (insertion order with swap-removal),
//! not Redis's hash-table order: Redis leaves that order undefined, and every replica must
//! answer alike.
//!
//! Not here: the value type itself (`quorum_keyspace::SetValue`), typed access (`typed.rs`).

mod algebra;
mod pick;
mod scan;

use bytes::Bytes;
use quorum_keyspace::SetValue;
use quorum_resp::Frame;

use crate::parse::arg;
use crate::table::{command_rows, no_precheck, numkeys_at, CommandSpec, Handler, Keys};
use crate::typed::{get, update, upsert};
use crate::{ReadCx, Reply, WriteCx};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "sadd", -3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, sadd), "set", ["@write", "@set", "@fast"], [], "1.0.0", "Add one or more members to a set" }
    { "srem", -3, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, srem), "set", ["@write", "@set", "@fast"], [], "1.0.0", "Remove one or more members from a set" }
    { "smembers", 2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(smembers), "set", ["@read", "@set", "@slow"], ["nondeterministic_output_order"], "1.0.0", "Get all the members in a set" }
    { "sismember", 3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(sismember), "set", ["@read", "@set", "@fast"], [], "1.0.0", "Determine if a given value is a member of a set" }
    { "smismember", -3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(smismember), "set", ["@read", "@set", "@fast"], [], "6.2.0", "Returns the membership associated with the given elements for a set" }
    { "scard", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(scard), "set", ["@read", "@set", "@fast"], [], "1.0.0", "Get the number of members in a set" }
    { "spop", -2, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(pick::precheck_spop, pick::spop), "set", ["@write", "@set", "@fast"], ["nondeterministic_output"], "1.0.0", "Remove and return one or multiple random members from a set" }
    { "srandmember", -2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(pick::srandmember), "set", ["@read", "@set", "@slow"], ["nondeterministic_output"], "1.0.0", "Get one or multiple random members from a set" }
    { "smove", 4, ["write", "fast"], Keys::range(1, 2, 1), Handler::Write(no_precheck, smove), "set", ["@write", "@set", "@fast"], [], "1.0.0", "Move a member from one set to another" }
    { "sinter", -2, ["readonly"], Keys::range(1, -1, 1), Handler::Read(algebra::sinter), "set", ["@read", "@set", "@slow"], ["nondeterministic_output_order"], "1.0.0", "Intersect multiple sets" }
    { "sunion", -2, ["readonly"], Keys::range(1, -1, 1), Handler::Read(algebra::sunion), "set", ["@read", "@set", "@slow"], ["nondeterministic_output_order"], "1.0.0", "Add multiple sets" }
    { "sdiff", -2, ["readonly"], Keys::range(1, -1, 1), Handler::Read(algebra::sdiff), "set", ["@read", "@set", "@slow"], ["nondeterministic_output_order"], "1.0.0", "Subtract multiple sets" }
    { "sinterstore", -3, ["write", "denyoom"], Keys::range(1, -1, 1), Handler::Write(no_precheck, algebra::sinterstore), "set", ["@write", "@set", "@slow"], [], "1.0.0", "Intersect multiple sets and store the resulting set in a key" }
    { "sunionstore", -3, ["write", "denyoom"], Keys::range(1, -1, 1), Handler::Write(no_precheck, algebra::sunionstore), "set", ["@write", "@set", "@slow"], [], "1.0.0", "Add multiple sets and store the resulting set in a key" }
    { "sdiffstore", -3, ["write", "denyoom"], Keys::range(1, -1, 1), Handler::Write(no_precheck, algebra::sdiffstore), "set", ["@write", "@set", "@slow"], [], "1.0.0", "Subtract multiple sets and store the resulting set in a key" }
    { "sintercard", -3, ["readonly", "movablekeys"], Keys::movable(0, 0, 0, numkeys_at::<1>), Handler::Read(algebra::sintercard), "set", ["@read", "@set", "@slow"], [], "7.0.0", "Intersect multiple sets and return the cardinality of the result" }
    { "sscan", -3, ["readonly"], Keys::range(1, 1, 1), Handler::Read(scan::sscan), "set", ["@read", "@set", "@slow"], ["nondeterministic_output"], "2.8.0", "Incrementally iterate Set elements" }
};

/// Members as a reply: a set in RESP3, an array in RESP2 (what Redis 7.0 sends for
/// SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a count).
fn member_set<'a>(members: impl Iterator<Item = &'a Bytes>) -> Frame {
    Frame::Set(members.cloned().map(Frame::Bulk).collect())
}

fn integer(n: usize) -> Frame {
    Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// SADD. A key is created (and touched, so WATCH sees a change) only when a member is new,
/// as Redis signals the key only when it added something.
fn sadd(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let key = arg(args, 1)?;
    let members = &args[2..];
    let any_new = match get::<SetValue>(cx.ks, key, cx.now_ms)? {
        Some(set) => members.iter().any(|m| !set.contains(m)),
        None => true,
    };
    if !any_new {
        return Ok(Frame::Integer(0));
    }
    let added = upsert::<SetValue, _>(cx.ks, key, |set| {
        members.iter().filter(|m| set.insert((*m).clone())).count()
    })?;
    Ok(integer(added))
}

/// SREM. The key is touched only when a member was there; a set left empty is deleted.
fn srem(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let key = arg(args, 1)?;
    let members = &args[2..];
    let any_present = get::<SetValue>(cx.ks, key, cx.now_ms)?
        .is_some_and(|set| members.iter().any(|m| set.contains(m)));
    if !any_present {
        return Ok(Frame::Integer(0));
    }
    let removed = update::<SetValue, _>(cx.ks, key, |set| {
        members.iter().filter(|m| set.remove(m)).count()
    })?;
    Ok(integer(removed.unwrap_or(0)))
}

fn smembers(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let set = get::<SetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    Ok(member_set(set.into_iter().flat_map(SetValue::iter)))
}

fn sismember(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let set = get::<SetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let member = arg(args, 2)?;
    Ok(Frame::Integer(i64::from(
        set.is_some_and(|s| s.contains(member)),
    )))
}

fn smismember(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let set = get::<SetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let replies = args[2..]
        .iter()
        .map(|m| Frame::Integer(i64::from(set.is_some_and(|s| s.contains(m)))))
        .collect();
    Ok(Frame::Array(replies))
}

fn scard(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let set = get::<SetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    Ok(integer(set.map_or(0, SetValue::len)))
}

/// SMOVE, in Redis's order: an absent source answers 0 before any type check; then both
/// keys must hold sets (or the destination be absent); moving within one set only reports
/// membership.
fn smove(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let (src, dst, member) = (arg(args, 1)?, arg(args, 2)?, arg(args, 3)?);
    let Some(source) = get::<SetValue>(cx.ks, src, cx.now_ms)? else {
        return Ok(Frame::Integer(0));
    };
    let in_source = source.contains(member);
    get::<SetValue>(cx.ks, dst, cx.now_ms)?;
    if src == dst || !in_source {
        return Ok(Frame::Integer(i64::from(src == dst && in_source)));
    }
    update::<SetValue, _>(cx.ks, src, |set| set.remove(member))?;
    upsert::<SetValue, _>(cx.ks, dst, |set| set.insert(member.clone()))?;
    Ok(Frame::Integer(1))
}
