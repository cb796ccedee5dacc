//! Time to live, as Redis's `expire.c`: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with
//! NX/XX/GT/LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.
//!
//! Deadlines are absolute unix milliseconds computed from the leader's `now_ms`, so every
//! replica stores the same deadline. A deadline at or before now deletes the key at once
//! (and replies 1), as Redis does.
//!
//! Not here: active expiry (`crate::apply_expire`, driven by the leader).

use bytes::Bytes;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{arg, is_keyword, parse_i64};
use crate::table::{command_rows, no_precheck, CommandSpec, Handler, Keys};
use crate::{ReadCx, Reply, WriteCx};

/// This group's rows of the command table (Redis files them under `generic`).
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "expire", -3, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(precheck_expire, expire), "generic", ["@keyspace", "@write", "@fast"], [], "1.0.0", "Set a key's time to live in seconds" }
    { "pexpire", -3, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(precheck_pexpire, pexpire), "generic", ["@keyspace", "@write", "@fast"], [], "2.6.0", "Set a key's time to live in milliseconds" }
    { "expireat", -3, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(precheck_expireat, expireat), "generic", ["@keyspace", "@write", "@fast"], [], "1.2.0", "Set the expiration for a key as a UNIX timestamp" }
    { "pexpireat", -3, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(precheck_pexpireat, pexpireat), "generic", ["@keyspace", "@write", "@fast"], [], "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds" }
    { "ttl", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(ttl), "generic", ["@keyspace", "@read", "@fast"], ["nondeterministic_output"], "1.0.0", "Get the time to live for a key in seconds" }
    { "pttl", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(pttl), "generic", ["@keyspace", "@read", "@fast"], ["nondeterministic_output"], "2.6.0", "Get the time to live for a key in milliseconds" }
    { "expiretime", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(expiretime), "generic", ["@keyspace", "@read", "@fast"], [], "7.0.0", "Get the expiration Unix timestamp for a key" }
    { "pexpiretime", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(pexpiretime), "generic", ["@keyspace", "@read", "@fast"], [], "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds" }
    { "persist", 2, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, persist), "generic", ["@keyspace", "@write", "@fast"], [], "2.2.0", "Remove the expiration from a key" }
};

/// EXPIRE's condition flags.
#[derive(Debug, Default, Clone, Copy)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Parses `NX|XX|GT|LT` flags from `args[3..]` with Redis's texts for conflicts.
fn parse_conditions(args: &[Bytes]) -> Result<Conditions, ErrorReply> {
    let mut c = Conditions::default();
    for word in args.iter().skip(3) {
        if is_keyword(word, "nx") {
            c.nx = true;
        } else if is_keyword(word, "xx") {
            c.xx = true;
        } else if is_keyword(word, "gt") {
            c.gt = true;
        } else if is_keyword(word, "lt") {
            c.lt = true;
        } else {
            return Err(ErrorReply::new(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(word).replace(['\r', '\n'], " ")
            )));
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(ErrorReply::from_static(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if c.gt && c.lt {
        return Err(ErrorReply::from_static(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(c)
}

/// The deadline an EXPIRE-family command asks for, as signed unix milliseconds (it may be
/// negative: a past deadline). `base_ms` is now for relative commands and 0 for `*AT`.
fn deadline_ms(unit: Unit, args: &[Bytes], base_ms: i64) -> Result<i64, ErrorReply> {
    let n = parse_i64(arg(args, 2)?)?;
    let ms = match unit.seconds {
        true => n.checked_mul(1000),
        false => Some(n),
    };
    ms.and_then(|ms| ms.checked_add(base_ms))
        .ok_or_else(|| ErrorReply::invalid_expire_time(unit.command))
}

/// How an EXPIRE-family command reads its number (Redis's `expireGenericCommand` basetime
/// and unit).
#[derive(Clone, Copy)]
struct Unit {
    command: &'static str,
    seconds: bool,
    relative: bool,
}

const EXPIRE: Unit = Unit {
    command: "expire",
    seconds: true,
    relative: true,
};
const PEXPIRE: Unit = Unit {
    command: "pexpire",
    seconds: false,
    relative: true,
};
const EXPIREAT: Unit = Unit {
    command: "expireat",
    seconds: true,
    relative: false,
};
const PEXPIREAT: Unit = Unit {
    command: "pexpireat",
    seconds: false,
    relative: false,
};

fn precheck_with(unit: Unit, args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_conditions(args)?;
    // Relative deadlines are checked again with the real now on apply.
    deadline_ms(unit, args, 0).map(drop)
}

fn precheck_expire(args: &[Bytes]) -> Result<(), ErrorReply> {
    precheck_with(EXPIRE, args)
}
fn precheck_pexpire(args: &[Bytes]) -> Result<(), ErrorReply> {
    precheck_with(PEXPIRE, args)
}
fn precheck_expireat(args: &[Bytes]) -> Result<(), ErrorReply> {
    precheck_with(EXPIREAT, args)
}
fn precheck_pexpireat(args: &[Bytes]) -> Result<(), ErrorReply> {
    precheck_with(PEXPIREAT, args)
}
fn expire(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    set_deadline(cx, EXPIRE, args)
}
fn pexpire(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    set_deadline(cx, PEXPIRE, args)
}
fn expireat(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    set_deadline(cx, EXPIREAT, args)
}
fn pexpireat(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    set_deadline(cx, PEXPIREAT, args)
}

fn set_deadline(cx: &mut WriteCx<'_>, unit: Unit, args: &[Bytes]) -> Reply {
    let (ks, now_ms, key) = (&mut *cx.ks, cx.now_ms, arg(args, 1)?);
    let conditions = parse_conditions(args)?;
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let base = if unit.relative { now } else { 0 };
    let when = deadline_ms(unit, args, base)?;
    let Some(entry) = ks.get(key, now_ms) else {
        return Ok(Frame::Integer(0));
    };
    // Stored deadlines came from positive i64 values, so they fit.
    let current = entry.expires_at_ms.map(|at| at as i64);
    let refused = (conditions.nx && current.is_some())
        || (conditions.xx && current.is_none())
        // No deadline counts as infinite: GT never beats it, LT always does.
        || (conditions.gt && current.is_none_or(|c| when <= c))
        || (conditions.lt && current.is_some_and(|c| when >= c));
    if refused {
        return Ok(Frame::Integer(0));
    }
    if when <= now {
        ks.remove(key);
    } else {
        ks.set_expiry(key, Some(when as u64));
    }
    Ok(Frame::Integer(1))
}

fn persist(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let key = arg(args, 1)?;
    let has_deadline = cx
        .ks
        .get(key, cx.now_ms)
        .is_some_and(|e| e.expires_at_ms.is_some());
    if has_deadline {
        cx.ks.set_expiry(key, None);
    }
    Ok(Frame::Integer(i64::from(has_deadline)))
}

/// What a TTL-family command reports about a deadline.
#[derive(Clone, Copy)]
enum TtlReply {
    RemainingSeconds,
    RemainingMs,
    DeadlineSeconds,
    DeadlineMs,
}

fn ttl(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    ttl_reply(cx, args, TtlReply::RemainingSeconds)
}
fn pttl(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    ttl_reply(cx, args, TtlReply::RemainingMs)
}
fn expiretime(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    ttl_reply(cx, args, TtlReply::DeadlineSeconds)
}
fn pexpiretime(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    ttl_reply(cx, args, TtlReply::DeadlineMs)
}

fn ttl_reply(cx: &ReadCx<'_>, args: &[Bytes], what: TtlReply) -> Reply {
    let now_ms = cx.now_ms;
    let Some(entry) = cx.ks.get(arg(args, 1)?, now_ms) else {
        return Ok(Frame::Integer(-2));
    };
    let Some(at) = entry.expires_at_ms else {
        return Ok(Frame::Integer(-1));
    };
    let remaining = at.saturating_sub(now_ms);
    // Seconds are rounded to nearest, as Redis's `(ms + 500) / 1000`.
    let to_seconds = |ms: u64| ms.saturating_add(500) / 1000;
    let reply = match what {
        TtlReply::RemainingSeconds => to_seconds(remaining),
        TtlReply::RemainingMs => remaining,
        TtlReply::DeadlineSeconds => to_seconds(at),
        TtlReply::DeadlineMs => at,
    };
    Ok(Frame::Integer(i64::try_from(reply).unwrap_or(i64::MAX)))
}
