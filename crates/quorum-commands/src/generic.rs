//! Redis's `generic` group, key-level commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME,
//! RENAMENX, COPY, KEYS, SCAN, RANDOMKEY. TTL commands live in `expire.rs` (Redis's
//! `expire.c`); this file routes them there too.
//!
//! Not here: value-type specifics (the type modules) and SCAN's cursor mechanics
//! (`quorum_keyspace::Keyspace::scan`).

use bytes::Bytes;
use quorum_keyspace::{GlobPattern, Keyspace};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::expire;
use crate::parse::{arg, is_keyword, parse_i64, Args};
use crate::{ReadContext, Reply};

/// SCAN's page size when COUNT is not given (Redis's default).
const SCAN_COUNT_DEFAULT: usize = 10;

pub(crate) fn precheck(name: &str, args: &[Bytes]) -> Result<(), ErrorReply> {
    match name {
        "copy" => parse_copy_options(args).map(drop),
        _ => expire::precheck(name, args),
    }
}

pub(crate) fn apply(name: &str, ks: &mut Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    match name {
        // Expired keys named by a write were removed before dispatch, so every key
        // `remove` finds is live.
        "del" | "unlink" => {
            let removed = args[1..]
                .iter()
                .filter(|key| ks.remove(key).is_some())
                .count();
            Ok(Frame::Integer(removed as i64))
        }
        "rename" | "renamenx" => rename(ks, args, name == "renamenx", now_ms),
        "copy" => copy(ks, args, now_ms),
        _ => expire::apply(name, ks, args, now_ms),
    }
}

pub(crate) fn read(name: &str, ks: &Keyspace, args: &[Bytes], ctx: &ReadContext) -> Reply {
    let now_ms = ctx.now_ms;
    match name {
        "exists" | "touch" => {
            let found = args[1..]
                .iter()
                .filter(|key| ks.contains(key, now_ms))
                .count();
            Ok(Frame::Integer(found as i64))
        }
        "type" => {
            let entry = ks.get(arg(args, 1)?, now_ms);
            Ok(Frame::Simple(
                entry.map_or("none", |e| e.value.type_name()).to_string(),
            ))
        }
        "keys" => {
            let pattern = GlobPattern::new(arg(args, 1)?);
            let keys = ks
                .iter_live(now_ms)
                .filter(|(key, _)| pattern.matches(key))
                .map(|(key, _)| key.clone());
            Ok(Frame::bulk_array(keys))
        }
        "scan" => scan(ks, args, now_ms),
        "randomkey" => Ok(Frame::optional_bulk(ks.random_key(ctx.random_seed, now_ms))),
        _ => expire::read(name, ks, args, now_ms),
    }
}

fn rename(ks: &mut Keyspace, args: &[Bytes], nx: bool, now_ms: u64) -> Reply {
    let (src, dst) = (arg(args, 1)?, arg(args, 2)?);
    if !ks.contains(src, now_ms) {
        return Err(ErrorReply::no_such_key());
    }
    if src == dst {
        return Ok(if nx { Frame::Integer(0) } else { Frame::ok() });
    }
    if nx && ks.contains(dst, now_ms) {
        return Ok(Frame::Integer(0));
    }
    if let Some(entry) = ks.remove(src) {
        ks.insert(dst.clone(), entry.value, entry.expires_at_ms);
    }
    Ok(if nx { Frame::Integer(1) } else { Frame::ok() })
}

/// COPY's options: `REPLACE` and `DB n`. quorum has only database 0, so any other index is
/// out of range, as it is for a Redis configured with one database.
fn parse_copy_options(args: &[Bytes]) -> Result<bool, ErrorReply> {
    let mut replace = false;
    let mut cursor = Args::new(args, 3);
    while let Some(word) = cursor.next() {
        if is_keyword(word, "replace") {
            replace = true;
        } else if is_keyword(word, "db") && cursor.remaining() > 0 {
            let db = parse_i64(cursor.value()?)?;
            if i32::try_from(db).is_err() {
                // Redis parses the index as a C int, with this text for the range.
                return Err(ErrorReply::from_static(
                    "ERR value is out of range, value must between -2147483648 and 2147483647",
                ));
            }
            if db != 0 {
                return Err(ErrorReply::from_static("ERR DB index is out of range"));
            }
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    if arg(args, 1)? == arg(args, 2)? {
        return Err(ErrorReply::from_static(
            "ERR source and destination objects are the same",
        ));
    }
    Ok(replace)
}

fn copy(ks: &mut Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    let replace = parse_copy_options(args)?;
    let (src, dst) = (arg(args, 1)?, arg(args, 2)?);
    let Some(entry) = ks.get(src, now_ms).cloned() else {
        return Ok(Frame::Integer(0));
    };
    if !replace && ks.contains(dst, now_ms) {
        return Ok(Frame::Integer(0));
    }
    ks.insert(dst.clone(), entry.value, entry.expires_at_ms);
    Ok(Frame::Integer(1))
}

/// Parses a SCAN cursor as Redis's `strtoul`-based `parseScanCursorOrReply`: digits with an
/// optional sign (a `-` wraps, as in C), nothing else, no overflow. An empty cursor is 0.
fn parse_cursor(bytes: &[u8]) -> Option<u64> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return if bytes.is_empty() { Some(0) } else { None };
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn scan(ks: &Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    let cursor =
        parse_cursor(arg(args, 1)?).ok_or_else(|| ErrorReply::from_static("ERR invalid cursor"))?;
    let mut count = SCAN_COUNT_DEFAULT;
    let mut pattern = None;
    let mut type_name = None;
    let mut options = Args::new(args, 2);
    while let Some(word) = options.next() {
        if options.remaining() == 0 {
            return Err(ErrorReply::syntax());
        }
        let value = options.value()?;
        if is_keyword(word, "count") {
            let n = parse_i64(value)?;
            count = usize::try_from(n)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(ErrorReply::syntax)?;
        } else if is_keyword(word, "match") {
            pattern = Some(GlobPattern::new(value)).filter(|p| !p.matches_everything());
        } else if is_keyword(word, "type") {
            type_name = Some(value);
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    let page = ks.scan(cursor, count);
    let keys = page
        .entries
        .into_iter()
        .filter(|(_, entry)| !entry.is_expired(now_ms))
        .filter(|(key, _)| pattern.as_ref().is_none_or(|p| p.matches(key)))
        .filter(|(_, entry)| {
            type_name.is_none_or(|t| t.eq_ignore_ascii_case(entry.value.type_name().as_bytes()))
        })
        .map(|(key, _)| Frame::Bulk(key.clone()))
        .collect();
    Ok(Frame::Array(vec![
        Frame::Bulk(Bytes::from(page.cursor.to_string())),
        Frame::Array(keys),
    ]))
}
