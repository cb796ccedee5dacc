//! The body of SORT: load the elements of the list, set or sorted set, weigh them (by
//! themselves or through a BY pattern), order them and cut the LIMIT window, as Redis 7.0's
//! `sortCommandGeneric` does.
//!
//! Redis sorts with glibc's `qsort`, a merge sort (stable) for inputs that fit in memory,
//! and with its own partial quicksort (`pqsort`, not stable) when BY and a LIMIT narrower
//! than the whole are given; quorum always sorts stably. The comparison is a total order
//! except in ALPHA mode with a BY pattern (equal or missing weights) and between strings
//! equal up to a NUL byte (ALPHA without STORE compares C strings). Only there can the
//! orders differ: for a list under `pqsort`, and for a set or sorted set, whose order
//! before sorting is Redis's hash table's and quorum's own.
//!
//! Not here: option parsing and STORE (`mod.rs`), pattern lookups (`pattern.rs`).

use std::cmp::Ordering;

use bytes::Bytes;
use quorum_keyspace::{Keyspace, ListValue, SetValue, Value, ZSetValue};
use quorum_types::ErrorReply;

use super::pattern::lookup;
use super::score::{c_str, sort_score};
use super::SortOptions;
use crate::parse::string_to_i64;

/// `set-max-intset-entries`: a set of at most this many integers is an intset in Redis, and
/// iterates in ascending numeric order.
const INTSET_ENTRIES_MAX: usize = 512;

/// The value being sorted; a missing key sorts as an empty list.
enum Source<'a> {
    List(&'a ListValue),
    Set(&'a SetValue),
    ZSet(&'a ZSetValue),
}

/// The elements SORT outputs, in order, each with its GET values when GET patterns were
/// given (`None` where the pattern named nothing).
pub(super) fn sorted_output(
    ks: &Keyspace,
    now_ms: u64,
    key: &[u8],
    opts: &SortOptions<'_>,
) -> Result<Vec<Option<Bytes>>, ErrorReply> {
    let empty = ListValue::new();
    let source = match ks.get(key, now_ms).map(|entry| &entry.value) {
        None => Source::List(&empty),
        Some(Value::List(list)) => Source::List(list),
        Some(Value::Set(set)) => Source::Set(set),
        Some(Value::ZSet(zset)) => Source::ZSet(zset),
        Some(_) => return Err(ErrorReply::wrong_type()),
    };
    let mut opts = opts.clone();
    if opts.dont_sort && opts.store.is_some() && matches!(source, Source::Set(_)) {
        // A set's own order is not replicated by Redis, so SORT ... STORE sorts it.
        opts.dont_sort = false;
        opts.alpha = true;
        opts.by = None;
    }
    let loaded = load(&source, &opts);
    let elements = if opts.dont_sort {
        loaded.elements
    } else {
        let sorted = sort(ks, now_ms, loaded.elements, &opts)?;
        slice(sorted, loaded.start, loaded.end)
    };
    Ok(if opts.gets.is_empty() {
        elements.into_iter().map(Some).collect()
    } else {
        elements
            .iter()
            .flat_map(|e| opts.gets.iter().map(|p| lookup(ks, now_ms, p, e)))
            .collect()
    })
}

/// The loaded elements: already the output window when nothing is sorted, else all of them
/// with the window's bounds to cut after sorting.
struct Loaded {
    elements: Vec<Bytes>,
    start: i64,
    end: i64,
}

/// Redis's LIMIT arithmetic: the window `start..=end` over `len` elements (empty when
/// `end < start`).
fn limits(len: i64, limit_start: i64, limit_count: i64) -> (i64, i64) {
    let mut start = limit_start.max(0).min(len);
    let count = limit_count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    (start, end.min(len - 1))
}

fn slice(mut elements: Vec<Bytes>, start: i64, end: i64) -> Vec<Bytes> {
    if end < start {
        return Vec::new();
    }
    elements.truncate(end as usize + 1);
    elements.drain(..start as usize);
    elements
}

fn load(source: &Source<'_>, opts: &SortOptions<'_>) -> Loaded {
    let len = match source {
        Source::List(list) => list.len(),
        Source::Set(set) => set.len(),
        Source::ZSet(zset) => zset.len(),
    } as i64;
    let (start, end) = limits(len, opts.limit_start, opts.limit_count);
    let count = (end - start + 1).max(0) as usize;
    let skip = start.max(0) as usize;
    // Without sorting, lists and sorted sets are read straight in the window, backwards for
    // DESC; a set keeps its own order and DESC does nothing.
    let all = match (source, opts.dont_sort) {
        (Source::List(list), true) => {
            return whole(read_window(list.iter(), opts.desc, skip, count))
        }
        (Source::ZSet(zset), true) => {
            let members = zset.iter().map(|(m, _)| m);
            return whole(read_window(members, opts.desc, skip, count));
        }
        (Source::List(list), false) => list.iter().cloned().collect(),
        (Source::ZSet(zset), false) => zset.iter().map(|(m, _)| m.clone()).collect(),
        (Source::Set(set), _) => set_order(set),
    };
    if opts.dont_sort {
        return whole(slice(all, start, end));
    }
    Loaded {
        elements: all,
        start,
        end,
    }
}

/// `count` elements from position `skip`, counted from the end for DESC.
fn read_window<'a>(
    members: impl DoubleEndedIterator<Item = &'a Bytes>,
    desc: bool,
    skip: usize,
    count: usize,
) -> Vec<Bytes> {
    if desc {
        members.rev().skip(skip).take(count).cloned().collect()
    } else {
        members.skip(skip).take(count).cloned().collect()
    }
}

/// Elements that are already the output window.
fn whole(elements: Vec<Bytes>) -> Loaded {
    let end = elements.len() as i64 - 1;
    Loaded {
        elements,
        start: 0,
        end,
    }
}

/// A set in the order Redis iterates it where that order is defined: ascending for a set
/// Redis keeps as an intset; quorum's own order otherwise (Redis's is its hash table's).
fn set_order(set: &SetValue) -> Vec<Bytes> {
    let mut members: Vec<Bytes> = set.iter().cloned().collect();
    if members.len() <= INTSET_ENTRIES_MAX {
        let numbers: Option<Vec<i64>> = members.iter().map(|m| string_to_i64(m)).collect();
        if let Some(numbers) = numbers {
            let mut pairs: Vec<(i64, Bytes)> = numbers.into_iter().zip(members).collect();
            pairs.sort_by_key(|(n, _)| *n);
            members = pairs.into_iter().map(|(_, m)| m).collect();
        }
    }
    members
}

/// Orders all elements by their weights (Redis's `sortCompare`), stably.
fn sort(
    ks: &Keyspace,
    now_ms: u64,
    elements: Vec<Bytes>,
    opts: &SortOptions<'_>,
) -> Result<Vec<Bytes>, ErrorReply> {
    let directed = |ordering: Ordering| {
        if opts.desc {
            ordering.reverse()
        } else {
            ordering
        }
    };
    // ALPHA compares with strcoll (byte order up to a NUL in Redis's C.UTF-8 locale),
    // except that STORE compares whole byte strings so that replicas agree.
    let store = opts.store.is_some();
    let text_order = |a: &[u8], b: &[u8]| {
        if store {
            a.cmp(b)
        } else {
            c_str(a).cmp(c_str(b))
        }
    };
    let weigh = |element: &Bytes| match opts.by {
        Some(by) => lookup(ks, now_ms, by, element),
        None => Some(element.clone()),
    };
    if opts.alpha {
        if opts.by.is_none() {
            let mut elements = elements;
            elements.sort_by(|a, b| directed(text_order(a, b)));
            return Ok(elements);
        }
        let mut weighed: Vec<(Option<Bytes>, Bytes)> =
            elements.into_iter().map(|e| (weigh(&e), e)).collect();
        // A missing weight sorts before any other; two missing ones are equal.
        weighed.sort_by(|(x, _), (y, _)| {
            directed(match (x, y) {
                (Some(x), Some(y)) => text_order(x, y),
                _ => x.is_some().cmp(&y.is_some()),
            })
        });
        return Ok(weighed.into_iter().map(|(_, e)| e).collect());
    }
    let mut scored = Vec::with_capacity(elements.len());
    for element in elements {
        // A missing weight counts as 0.
        let score = match weigh(&element) {
            None => 0.0,
            Some(text) => sort_score(&text).ok_or_else(|| {
                ErrorReply::from_static("ERR One or more scores can't be converted into double")
            })?,
        };
        scored.push((score, element));
    }
    // Equal scores fall back to the elements' bytes, so the order is total.
    scored.sort_by(|(x, a), (y, b)| {
        directed(
            x.partial_cmp(y)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.cmp(b)),
        )
    });
    Ok(scored.into_iter().map(|(_, e)| e).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_redis() {
        // (len, start, count) -> (start, end)
        assert_eq!(limits(5, 0, -1), (0, 4));
        assert_eq!(limits(5, 1, 2), (1, 2));
        assert_eq!(limits(5, -3, 2), (0, 1));
        assert_eq!(limits(5, 3, 100), (3, 4));
        assert_eq!(limits(5, 5, 1), (4, 3));
        assert_eq!(limits(5, i64::MAX, i64::MAX), (4, 3));
        assert_eq!(limits(5, 0, 0), (0, -1));
        assert_eq!(limits(5, 2, -7), (2, 4));
        assert_eq!(limits(0, 0, -1), (-1, -2));
    }
}
