//! SORT and SORT_RO (Redis's `generic` group): sort a list, set or sorted set numerically
//! or as text (ALPHA), by the elements or by other keys (BY pattern, `nosort`), cut a
//! LIMIT window, fetch other keys per element (GET) and optionally STORE the result as a
//! list, with Redis 7.0.15's replies and errors.
//!
//! SORT is a write in Redis's table (STORE can appear anywhere), so quorum logs every SORT;
//! SORT_RO, without STORE, is a read. Redis refuses BY and GET patterns in cluster mode
//! (and without full ACL key access); quorum is one keyspace and has no ACLs, so it always
//! accepts them.
//!
//! Files: this one parses options and stores; `order.rs` loads, weighs and orders;
//! `pattern.rs` resolves BY/GET patterns; `score.rs` is C's `strtod` as SORT applies it.
//!
//! Not here: ordering commands of the types themselves (LRANGE, ZRANGE, ...).

mod order;
mod pattern;
mod score;

use bytes::Bytes;
use quorum_keyspace::{Keyspace, ListValue, Value};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{is_keyword, parse_i64};
use crate::table::{command_rows, CommandSpec, Handler, Keys};
use crate::{ReadCx, Reply, WriteCx};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "sort", -2, ["write", "denyoom", "movablekeys"], Keys::movable(1, 1, 1, sort_keys), Handler::Write(precheck_sort, sort), "generic", ["@write", "@set", "@sortedset", "@list", "@slow", "@dangerous"], [], "1.0.0", "Sort the elements in a list, set or sorted set" }
    { "sort_ro", -2, ["readonly", "movablekeys"], Keys::range(1, 1, 1), Handler::Read(sort_ro), "generic", ["@read", "@set", "@sortedset", "@list", "@slow", "@dangerous"], [], "7.0.0", "Sort the elements in a list, set or sorted set. Read-only variant of SORT." }
};

/// SORT's options, as `sortCommandGeneric` reads them (a later option overrides an
/// earlier one, GETs accumulate).
#[derive(Clone)]
pub(super) struct SortOptions<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a Bytes>,
    by: Option<&'a Bytes>,
    /// A BY pattern without `*` was given (it stays set even if a later BY has one).
    dont_sort: bool,
    gets: Vec<&'a Bytes>,
}

fn parse(args: &[Bytes], readonly: bool) -> Result<SortOptions<'_>, ErrorReply> {
    let mut opts = SortOptions {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < args.len() {
        let (word, left) = (&args[j], args.len() - j - 1);
        if is_keyword(word, "asc") {
            opts.desc = false;
        } else if is_keyword(word, "desc") {
            opts.desc = true;
        } else if is_keyword(word, "alpha") {
            opts.alpha = true;
        } else if is_keyword(word, "limit") && left >= 2 {
            opts.limit_start = parse_i64(&args[j + 1])?;
            opts.limit_count = parse_i64(&args[j + 2])?;
            j += 2;
        } else if !readonly && is_keyword(word, "store") && left >= 1 {
            opts.store = Some(&args[j + 1]);
            j += 1;
        } else if is_keyword(word, "by") && left >= 1 {
            opts.by = Some(&args[j + 1]);
            opts.dont_sort |= !pattern::has_star(&args[j + 1]);
            j += 1;
        } else if is_keyword(word, "get") && left >= 1 {
            opts.gets.push(&args[j + 1]);
            j += 1;
        } else {
            return Err(ErrorReply::syntax());
        }
        j += 1;
    }
    Ok(opts)
}

/// SORT's keys as Redis's `sortGetKeys` finds them: the sorted key, and the last STORE
/// destination (skipping the arguments of LIMIT, GET and BY).
fn sort_keys(args: &[Bytes]) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let word = &args[i];
        if is_keyword(word, "limit") {
            i += 2;
        } else if is_keyword(word, "get") || is_keyword(word, "by") {
            i += 1;
        } else if is_keyword(word, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

fn precheck_sort(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse(args, false).map(drop)
}

fn sort(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let opts = parse(args, false)?;
    let output = order::sorted_output(cx.ks, cx.now_ms, &args[1], &opts)?;
    match opts.store {
        None => Ok(reply(output)),
        Some(destination) => Ok(store(cx.ks, destination, output)),
    }
}

fn sort_ro(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let opts = parse(args, true)?;
    order::sorted_output(cx.ks, cx.now_ms, &args[1], &opts).map(reply)
}

fn reply(output: Vec<Option<Bytes>>) -> Frame {
    Frame::Array(output.into_iter().map(Frame::optional_bulk).collect())
}

/// STORE: the output becomes a list under `destination` (replacing any value and its TTL;
/// a missing GET value is stored as ""), or deletes `destination` when empty.
fn store(ks: &mut Keyspace, destination: &Bytes, output: Vec<Option<Bytes>>) -> Frame {
    let len = output.len();
    if len == 0 {
        ks.remove(destination);
    } else {
        let list: ListValue = output.into_iter().map(Option::unwrap_or_default).collect();
        ks.insert(destination.clone(), Value::List(list), None);
    }
    Frame::Integer(len as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn keys_are_the_sorted_key_and_the_last_store() {
        let keys = |words: &[&str]| sort_keys(&args(words));
        assert_eq!(keys(&["sort", "k"]), vec![1]);
        assert_eq!(keys(&["sort", "k", "store", "d"]), vec![1, 3]);
        assert_eq!(
            keys(&["sort", "k", "store", "d", "get", "x", "store", "e"]),
            vec![1, 7]
        );
        // Arguments of LIMIT, GET and BY are skipped, even when they read "store".
        assert_eq!(keys(&["sort", "k", "get", "store", "x"]), vec![1]);
        assert_eq!(keys(&["sort", "k", "limit", "store", "d"]), vec![1]);
        assert_eq!(
            keys(&["sort", "k", "by", "store", "store", "d"]),
            vec![1, 5]
        );
        // STORE as the last word names no key.
        assert_eq!(keys(&["sort", "k", "store"]), vec![1]);
    }
}
