//! Redis's `list` group, non-blocking forms: pushes and pops (`push_pop.rs`: LPUSH RPUSH
//! LPUSHX RPUSHX LPOP RPOP LMPOP), moves between lists (`transfer.rs`: LMOVE RPOPLPUSH),
//! index and range access (`range.rs`: LLEN LRANGE LINDEX LSET LTRIM) and searches by value
//! (`search.rs`: LINSERT LREM LPOS). This file holds the group's rows and the pieces they
//! share: list ends and index arithmetic.
//!
//! The blocking forms (`blocking.rs`: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) apply as
//! their non-blocking forms — a null array when there is nothing to pop — through
//! [`pop_from`] and [`move_element`]; the server layer parks the client and tries again
//! when a key it waits for changes (`crate::blocking`).
//!
//! Not here: the value type itself (`quorum_keyspace::ListValue`), typed access
//! (`typed.rs`).

mod blocking;
mod push_pop;
mod range;
mod search;
mod transfer;

use bytes::Bytes;
use quorum_keyspace::{Keyspace, ListValue, Value};
use quorum_types::ErrorReply;

use crate::parse::is_keyword;
use crate::table::{command_rows, no_precheck, numkeys_at, CommandSpec, Handler, Keys};

pub(crate) use {push_pop::pop_from, transfer::move_element};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "lpush", -3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, push_pop::lpush), "list", ["@write", "@list", "@fast"], [], "1.0.0", "Prepend one or multiple elements to a list" }
    { "rpush", -3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, push_pop::rpush), "list", ["@write", "@list", "@fast"], [], "1.0.0", "Append one or multiple elements to a list" }
    { "lpushx", -3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, push_pop::lpushx), "list", ["@write", "@list", "@fast"], [], "2.2.0", "Prepend an element to a list, only if the list exists" }
    { "rpushx", -3, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, push_pop::rpushx), "list", ["@write", "@list", "@fast"], [], "2.2.0", "Append an element to a list, only if the list exists" }
    { "lpop", -2, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(push_pop::precheck_pop, push_pop::lpop), "list", ["@write", "@list", "@fast"], [], "1.0.0", "Remove and get the first elements in a list" }
    { "rpop", -2, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(push_pop::precheck_pop, push_pop::rpop), "list", ["@write", "@list", "@fast"], [], "1.0.0", "Remove and get the last elements in a list" }
    { "llen", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(range::llen), "list", ["@read", "@list", "@fast"], [], "1.0.0", "Get the length of a list" }
    { "lrange", 4, ["readonly"], Keys::range(1, 1, 1), Handler::Read(range::lrange), "list", ["@read", "@list", "@slow"], [], "1.0.0", "Get a range of elements from a list" }
    { "lindex", 3, ["readonly"], Keys::range(1, 1, 1), Handler::Read(range::lindex), "list", ["@read", "@list", "@slow"], [], "1.0.0", "Get an element from a list by its index" }
    { "lset", 4, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(no_precheck, range::lset), "list", ["@write", "@list", "@slow"], [], "1.0.0", "Set the value of an element in a list by its index" }
    { "linsert", 5, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(search::precheck_linsert, search::linsert), "list", ["@write", "@list", "@slow"], [], "2.2.0", "Insert an element before or after another element in a list" }
    { "lrem", 4, ["write"], Keys::range(1, 1, 1), Handler::Write(search::precheck_lrem, search::lrem), "list", ["@write", "@list", "@slow"], [], "1.0.0", "Remove elements from a list" }
    { "ltrim", 4, ["write"], Keys::range(1, 1, 1), Handler::Write(range::precheck_ltrim, range::ltrim), "list", ["@write", "@list", "@slow"], [], "1.0.0", "Trim a list to the specified range" }
    { "lpos", -3, ["readonly"], Keys::range(1, 1, 1), Handler::Read(search::lpos), "list", ["@read", "@list", "@slow"], [], "6.0.6", "Return the index of matching elements on a list" }
    { "lmove", 5, ["write", "denyoom"], Keys::range(1, 2, 1), Handler::Write(transfer::precheck_lmove, transfer::lmove), "list", ["@write", "@list", "@slow"], [], "6.2.0", "Pop an element from a list, push it to another list and return it" }
    { "rpoplpush", 3, ["write", "denyoom"], Keys::range(1, 2, 1), Handler::Write(no_precheck, transfer::rpoplpush), "list", ["@write", "@list", "@slow"], [], "1.2.0", "Remove the last element in a list, prepend it to another list and return it" }
    { "blpop", -3, ["write", "noscript", "blocking"], Keys::range(1, -2, 1), Handler::Write(blocking::precheck_last_timeout, blocking::blpop), "list", ["@write", "@list", "@slow", "@blocking"], [], "2.0.0", "Remove and get the first element in a list, or block until one is available" }
    { "brpop", -3, ["write", "noscript", "blocking"], Keys::range(1, -2, 1), Handler::Write(blocking::precheck_last_timeout, blocking::brpop), "list", ["@write", "@list", "@slow", "@blocking"], [], "2.0.0", "Remove and get the last element in a list, or block until one is available" }
    { "blmove", 6, ["write", "denyoom", "noscript", "blocking"], Keys::range(1, 2, 1), Handler::Write(blocking::precheck_blmove, blocking::blmove), "list", ["@write", "@list", "@slow", "@blocking"], [], "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available" }
    { "brpoplpush", 4, ["write", "denyoom", "noscript", "blocking"], Keys::range(1, 2, 1), Handler::Write(blocking::precheck_brpoplpush, blocking::brpoplpush), "list", ["@write", "@list", "@slow", "@blocking"], [], "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available" }
    { "blmpop", -5, ["write", "blocking", "movablekeys"], Keys::movable(0, 0, 0, numkeys_at::<2>), Handler::Write(blocking::precheck_blmpop, blocking::blmpop), "list", ["@write", "@list", "@slow", "@blocking"], [], "7.0.0", "Pop elements from a list, or block until one is available" }
    { "lmpop", -4, ["write", "movablekeys"], Keys::movable(0, 0, 0, numkeys_at::<1>), Handler::Write(push_pop::precheck_lmpop, push_pop::lmpop), "list", ["@write", "@list", "@slow"], [], "7.0.0", "Pop elements from a list" }
};

/// One end of a list: `LEFT` is the head (index 0), `RIGHT` the tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The head, `LEFT`.
    Head,
    /// The tail, `RIGHT`.
    Tail,
}

impl End {
    /// Parses `LEFT` or `RIGHT` (any case), or `ERR syntax error` as Redis's
    /// `getListPositionFromObjectOrReply`.
    pub(crate) fn parse(word: &[u8]) -> Result<End, ErrorReply> {
        if is_keyword(word, "left") {
            Ok(End::Head)
        } else if is_keyword(word, "right") {
            Ok(End::Tail)
        } else {
            Err(ErrorReply::syntax())
        }
    }
}

/// Removes the element at `end`.
fn pop(list: &mut ListValue, end: End) -> Option<Bytes> {
    match end {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    }
}

/// Adds `element` at `end`.
fn push(list: &mut ListValue, end: End, element: Bytes) {
    match end {
        End::Head => list.push_front(element),
        End::Tail => list.push_back(element),
    }
}

/// The elements walked from `end` inwards, each with its index from the head. Indexing a
/// `VecDeque` is O(1), so this is a plain O(n) walk in either direction.
fn walk(list: &ListValue, end: End) -> impl Iterator<Item = (usize, &Bytes)> + '_ {
    let len = list.len();
    (0..len).filter_map(move |step| {
        let index = match end {
            End::Head => step,
            End::Tail => len - 1 - step,
        };
        list.get(index).map(|element| (index, element))
    })
}

/// Whether `key` holds a list (`false` when absent, `WRONGTYPE` for another type), without
/// touching it. Expired keys named by a write are gone before its handler runs, so this
/// looks at the entry as stored.
fn holds_list(ks: &Keyspace, key: &[u8]) -> Result<bool, ErrorReply> {
    match ks.get_including_expired(key).map(|entry| &entry.value) {
        None => Ok(false),
        Some(Value::List(_)) => Ok(true),
        Some(_) => Err(ErrorReply::wrong_type()),
    }
}

/// A Redis index (negative counts from the tail) as a position in a list of `len`
/// elements, or `None` when it falls outside (LINDEX, LSET).
fn resolve_index(len: usize, index: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let index = if index < 0 { len + index } else { index };
    usize::try_from(index).ok().filter(|&i| (i as i64) < len)
}

/// The inclusive range `start..=stop` that LRANGE and LTRIM select in a list of `len`
/// elements (negative indexes count from the tail, both ends are clamped), or `None` when
/// it is empty: Redis's arithmetic from `addListRangeReply` and `ltrimCommand`.
fn resolve_range(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = i64::try_from(len).ok()?;
    let mut start = if start < 0 { len + start } else { start };
    let mut stop = if stop < 0 { len + stop } else { stop };
    start = start.max(0);
    if start > stop || start >= len {
        return None;
    }
    stop = stop.min(len - 1);
    Some((usize::try_from(start).ok()?, usize::try_from(stop).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_resolve_like_redis() {
        assert_eq!(resolve_index(3, 0), Some(0));
        assert_eq!(resolve_index(3, -1), Some(2));
        assert_eq!(resolve_index(3, -3), Some(0));
        assert_eq!(resolve_index(3, -4), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(3, i64::MIN), None);
        assert_eq!(resolve_index(3, i64::MAX), None);
        assert_eq!(resolve_index(0, 0), None);
    }

    #[test]
    fn ranges_resolve_like_redis() {
        assert_eq!(resolve_range(7, 0, -1), Some((0, 6)));
        assert_eq!(resolve_range(7, i64::MIN, i64::MAX), Some((0, 6)));
        assert_eq!(resolve_range(7, 5, 2), None);
        assert_eq!(resolve_range(7, -2, -1), Some((5, 6)));
        assert_eq!(resolve_range(7, 7, 100), None);
        assert_eq!(resolve_range(7, 6, 100), Some((6, 6)));
        assert_eq!(resolve_range(7, 0, -8), None);
        assert_eq!(resolve_range(7, 0, -7), Some((0, 0)));
        assert_eq!(resolve_range(0, 0, -1), None);
    }

    #[test]
    fn walks_from_either_end() {
        let list: ListValue = ["a", "b", "c"].into_iter().map(Bytes::from).collect();
        let from_tail: Vec<usize> = walk(&list, End::Tail).map(|(i, _)| i).collect();
        assert_eq!(from_tail, vec![2, 1, 0]);
        let from_head: Vec<&Bytes> = walk(&list, End::Head).map(|(_, e)| e).collect();
        assert_eq!(from_head, vec!["a", "b", "c"]);
    }
}
