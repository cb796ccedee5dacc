//! Redis's `generic` group, key-level commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME,
//! RENAMENX, COPY, KEYS, SCAN, RANDOMKEY. TTL commands live in `expire.rs` (Redis's
//! `expire.c`).
//!
//! Not here: value-type specifics (the type modules) and SCAN's cursor mechanics
//! (`quorum_keyspace::Keyspace::scan`).

use bytes::Bytes;
use quorum_keyspace::{GlobPattern, Keyspace, DATABASES_MAX};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{arg, is_keyword, parse_i64, parse_scan_cursor, Args};
use crate::table::{command_rows, no_precheck, CommandSpec, Handler, Keys};
use crate::{DatabasesCx, ReadCx, Reply, WriteCx};

/// SCAN's page size when COUNT is not given (Redis's default).
const SCAN_COUNT_DEFAULT: usize = 10;

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "del", -2, ["write"], Keys::range(1, -1, 1), Handler::Write(no_precheck, del), "generic", ["@keyspace", "@write", "@slow"], ["request_policy:multi_shard", "response_policy:agg_sum"], "1.0.0", "Delete a key" }
    { "unlink", -2, ["write", "fast"], Keys::range(1, -1, 1), Handler::Write(no_precheck, del), "generic", ["@keyspace", "@write", "@fast"], ["request_policy:multi_shard", "response_policy:agg_sum"], "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking." }
    { "exists", -2, ["readonly", "fast"], Keys::range(1, -1, 1), Handler::Read(exists), "generic", ["@keyspace", "@read", "@fast"], ["request_policy:multi_shard", "response_policy:agg_sum"], "1.0.0", "Determine if a key exists" }
    { "touch", -2, ["readonly", "fast"], Keys::range(1, -1, 1), Handler::Read(exists), "generic", ["@keyspace", "@read", "@fast"], ["request_policy:multi_shard", "response_policy:agg_sum"], "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified." }
    { "type", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(type_of), "generic", ["@keyspace", "@read", "@fast"], [], "1.0.0", "Determine the type stored at key" }
    { "rename", 3, ["write"], Keys::range(1, 2, 1), Handler::Write(no_precheck, rename), "generic", ["@keyspace", "@write", "@slow"], [], "1.0.0", "Rename a key" }
    { "renamenx", 3, ["write", "fast"], Keys::range(1, 2, 1), Handler::Write(no_precheck, renamenx), "generic", ["@keyspace", "@write", "@fast"], [], "1.0.0", "Rename a key, only if the new key does not exist" }
    { "copy", -3, ["write", "denyoom"], Keys::range(1, 2, 1), Handler::WriteAcross(precheck_copy, copy), "generic", ["@keyspace", "@write", "@slow"], [], "6.2.0", "Copy a key" }
    { "move", 3, ["write", "fast"], Keys::range(1, 1, 1), Handler::WriteAcross(precheck_move, move_key), "generic", ["@keyspace", "@write", "@fast"], [], "1.0.0", "Move a key to another database" }
    { "keys", 2, ["readonly"], Keys::NONE, Handler::Read(keys), "generic", ["@keyspace", "@read", "@slow", "@dangerous"], ["request_policy:all_shards", "nondeterministic_output_order"], "1.0.0", "Find all keys matching the given pattern" }
    { "scan", -2, ["readonly"], Keys::NONE, Handler::Read(scan), "generic", ["@keyspace", "@read", "@slow"], ["nondeterministic_output", "request_policy:special"], "2.8.0", "Incrementally iterate the keys space" }
    { "randomkey", 1, ["readonly"], Keys::NONE, Handler::Read(randomkey), "generic", ["@keyspace", "@read", "@slow"], ["request_policy:all_shards", "nondeterministic_output"], "1.0.0", "Return a random key from the keyspace" }
};

fn precheck_copy(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_copy_options(args).map(drop)
}

/// DEL and UNLINK. Expired keys named by a write were removed before dispatch, so every
/// key `remove` finds is live.
fn del(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let removed = args[1..]
        .iter()
        .filter(|key| cx.ks.remove(key).is_some())
        .count();
    Ok(Frame::Integer(removed as i64))
}

fn rename(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    rename_generic(cx.ks, args, false, cx.now_ms)
}

fn renamenx(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    rename_generic(cx.ks, args, true, cx.now_ms)
}

fn copy(cx: &mut DatabasesCx<'_>, args: &[Bytes]) -> Reply {
    let (replace, target) = parse_copy_options(args)?;
    let (src, dst) = (arg(args, 1)?, arg(args, 2)?);
    let target = target.unwrap_or(cx.db);
    if src == dst && target == cx.db {
        return Err(ErrorReply::from_static(
            "ERR source and destination objects are the same",
        ));
    }
    let now_ms = cx.now_ms;
    let Some(entry) = cx.dbs.get_mut(cx.db).get(src, now_ms).cloned() else {
        return Ok(Frame::Integer(0));
    };
    let to = cx.dbs.get_mut(target);
    to.remove_if_expired(dst, now_ms);
    if !replace && to.contains(dst, now_ms) {
        return Ok(Frame::Integer(0));
    }
    to.insert(dst.clone(), entry.value, entry.expires_at_ms);
    Ok(Frame::Integer(1))
}

/// A database index argument (MOVE, COPY ... DB), parsed as Redis parses it.
fn database_index(bytes: &[u8]) -> Result<u32, ErrorReply> {
    let db = parse_i64(bytes)?;
    if i32::try_from(db).is_err() {
        // Redis parses the index as a C int, with this text for the range.
        return Err(ErrorReply::from_static(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    u32::try_from(db)
        .ok()
        .filter(|&db| db < DATABASES_MAX)
        .ok_or_else(|| ErrorReply::from_static("ERR DB index is out of range"))
}

fn precheck_move(args: &[Bytes]) -> Result<(), ErrorReply> {
    database_index(arg(args, 2)?).map(drop)
}

fn move_key(cx: &mut DatabasesCx<'_>, args: &[Bytes]) -> Reply {
    let (key, target) = (arg(args, 1)?, database_index(arg(args, 2)?)?);
    if target == cx.db {
        return Err(ErrorReply::from_static(
            "ERR source and destination objects are the same",
        ));
    }
    let now_ms = cx.now_ms;
    if !cx.dbs.get_mut(cx.db).contains(key, now_ms) {
        return Ok(Frame::Integer(0));
    }
    let to = cx.dbs.get_mut(target);
    to.remove_if_expired(key, now_ms);
    if to.contains(key, now_ms) {
        return Ok(Frame::Integer(0));
    }
    let Some(entry) = cx.dbs.get_mut(cx.db).remove(key) else {
        return Ok(Frame::Integer(0));
    };
    cx.dbs
        .get_mut(target)
        .insert(key.clone(), entry.value, entry.expires_at_ms);
    Ok(Frame::Integer(1))
}

/// The database numbers a command names (MOVE's target, COPY's DB option, SWAPDB's two), so
/// the server can check them against its `--databases` before the write enters the log.
pub fn database_arguments(args: &[Bytes]) -> Vec<u32> {
    let Some(name) = args.first() else {
        return Vec::new();
    };
    if is_keyword(name, "move") {
        args.get(2)
            .and_then(|db| database_index(db).ok())
            .into_iter()
            .collect()
    } else if is_keyword(name, "swapdb") {
        args[1..]
            .iter()
            .take(2)
            .filter_map(|db| database_index(db).ok())
            .collect()
    } else if is_keyword(name, "copy") {
        parse_copy_options(args)
            .ok()
            .and_then(|(_, db)| db)
            .into_iter()
            .collect()
    } else {
        Vec::new()
    }
}

/// EXISTS and TOUCH: how many of the named keys exist (a key named twice counts twice).
fn exists(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let found = args[1..]
        .iter()
        .filter(|key| cx.ks.contains(key, cx.now_ms))
        .count();
    Ok(Frame::Integer(found as i64))
}

fn type_of(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let entry = cx.ks.get(arg(args, 1)?, cx.now_ms);
    Ok(Frame::Simple(
        entry.map_or("none", |e| e.value.type_name()).to_string(),
    ))
}

fn keys(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let pattern = GlobPattern::new(arg(args, 1)?);
    let keys = cx
        .ks
        .iter_live(cx.now_ms)
        .filter(|(key, _)| pattern.matches(key))
        .map(|(key, _)| key.clone());
    Ok(Frame::bulk_array(keys))
}

fn scan(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    scan_keyspace(cx.ks, args, cx.now_ms)
}

fn randomkey(cx: &ReadCx<'_>, _args: &[Bytes]) -> Reply {
    Ok(Frame::optional_bulk(
        cx.ks.random_key(cx.random_seed, cx.now_ms),
    ))
}

fn rename_generic(ks: &mut Keyspace, args: &[Bytes], nx: bool, now_ms: u64) -> Reply {
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

/// COPY's options: `REPLACE` and `DB n`.
fn parse_copy_options(args: &[Bytes]) -> Result<(bool, Option<u32>), ErrorReply> {
    let mut replace = false;
    let mut db = None;
    let mut cursor = Args::new(args, 3);
    while let Some(word) = cursor.next() {
        if is_keyword(word, "replace") {
            replace = true;
        } else if is_keyword(word, "db") && cursor.remaining() > 0 {
            db = Some(database_index(cursor.value()?)?);
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    Ok((replace, db))
}

fn scan_keyspace(ks: &Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    let cursor = parse_scan_cursor(arg(args, 1)?)?;
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
