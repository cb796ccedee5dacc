//! Time to live, as Redis's `expire.c`: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with
//! NX/XX/GT/LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.
//!
//! Deadlines are absolute unix milliseconds computed from the leader's `now_ms`, so every
//! replica stores the same deadline. A deadline at or before now deletes the key at once
//! (and replies 1), as Redis does.
//!
//! Not here: active expiry (`crate::apply_expire`, driven by the leader).

use bytes::Bytes;
use quorum_keyspace::Keyspace;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{arg, is_keyword, parse_i64};
use crate::Reply;

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
fn deadline_ms(name: &str, args: &[Bytes], base_ms: i64) -> Result<i64, ErrorReply> {
    let n = parse_i64(arg(args, 2)?)?;
    let seconds = matches!(name, "expire" | "expireat");
    let ms = if seconds {
        n.checked_mul(1000)
    } else {
        Some(n)
    };
    ms.and_then(|ms| ms.checked_add(base_ms))
        .ok_or_else(|| ErrorReply::invalid_expire_time(name))
}

fn is_relative(name: &str) -> bool {
    matches!(name, "expire" | "pexpire")
}

pub(crate) fn precheck(name: &str, args: &[Bytes]) -> Result<(), ErrorReply> {
    match name {
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            parse_conditions(args)?;
            // Relative deadlines are checked again with the real now on apply.
            deadline_ms(name, args, 0).map(drop)
        }
        _ => Ok(()),
    }
}

pub(crate) fn apply(name: &str, ks: &mut Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    let key = arg(args, 1)?;
    match name {
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            let conditions = parse_conditions(args)?;
            let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
            let base = if is_relative(name) { now } else { 0 };
            let when = deadline_ms(name, args, base)?;
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
        "persist" => {
            let has_deadline = ks
                .get(key, now_ms)
                .is_some_and(|e| e.expires_at_ms.is_some());
            if has_deadline {
                ks.set_expiry(key, None);
            }
            Ok(Frame::Integer(i64::from(has_deadline)))
        }
        _ => Err(crate::unhandled_name(name)),
    }
}

pub(crate) fn read(name: &str, ks: &Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    if !matches!(name, "ttl" | "pttl" | "expiretime" | "pexpiretime") {
        return Err(crate::unhandled_name(name));
    }
    let Some(entry) = ks.get(arg(args, 1)?, now_ms) else {
        return Ok(Frame::Integer(-2));
    };
    let Some(at) = entry.expires_at_ms else {
        return Ok(Frame::Integer(-1));
    };
    let remaining = at.saturating_sub(now_ms);
    // Seconds are rounded to nearest, as Redis's `(ms + 500) / 1000`.
    let to_seconds = |ms: u64| ms.saturating_add(500) / 1000;
    let reply = match name {
        "ttl" => to_seconds(remaining),
        "pttl" => remaining,
        "expiretime" => to_seconds(at),
        _ => at,
    };
    Ok(Frame::Integer(i64::try_from(reply).unwrap_or(i64::MAX)))
}
