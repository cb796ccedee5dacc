//! The three kinds of range over a sorted set: by score (`zslParseRange`: `(` for
//! exclusive, `-inf`/`+inf`, anything C's `strtod` reads), by member (`zslParseLexRange`:
//! `[a`, `(a`, `-`, `+`) and by rank (negative counts from the end).
//!
//! A walk starts at the first member in range (the last, walking down) and runs on to the
//! end of the set; the caller skips an offset, then stops at the first member past the far
//! bound. That is Redis's own loop, and it matters for lex ranges over members with
//! different scores (which Redis leaves undefined): quorum answers what a small Redis set
//! (a listpack, walked linearly) answers.
//!
//! Not here: the commands (`range.rs`).

use std::ops::Bound;

use bytes::Bytes;
use quorum_keyspace::{ZSetKey, ZSetValue};
use quorum_types::ErrorReply;

use super::score::strtod_whole;

/// Members and scores, one after the other along a walk.
pub(super) type Walk<'a> = Box<dyn Iterator<Item = (&'a Bytes, f64)> + 'a>;

/// A score range (`zrangespec`).
#[derive(Debug, Clone, Copy)]
pub(super) struct ScoreRange {
    min: f64,
    max: f64,
    min_exclusive: bool,
    max_exclusive: bool,
}

fn score_bound(text: &[u8]) -> Option<(f64, bool)> {
    let (text, exclusive) = match text {
        [b'(', rest @ ..] => (rest, true),
        _ => (text, false),
    };
    // C strings end at a NUL byte, and `strtod` reads nothing from an empty one: Redis
    // then finds the end of the string where `strtod` stopped, and takes 0.
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    if text.is_empty() {
        return Some((0.0, exclusive));
    }
    strtod_whole(text).map(|parsed| (parsed.value, exclusive))
}

impl ScoreRange {
    /// Parses `min max` or fails with Redis's `ERR min or max is not a float`.
    pub(super) fn parse(min: &[u8], max: &[u8]) -> Result<Self, ErrorReply> {
        let error = || ErrorReply::from_static("ERR min or max is not a float");
        let (min, min_exclusive) = score_bound(min).ok_or_else(error)?;
        let (max, max_exclusive) = score_bound(max).ok_or_else(error)?;
        Ok(ScoreRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    fn above_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    fn below_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }

    /// The positions in range, as bounds of the set's (score, member) order. Scores equal
    /// to a bound are never `-0` (sets store `0`), so the next double up is the first score
    /// past an inclusive bound.
    fn key_bounds(&self) -> Option<(Bound<ZSetKey>, Bound<ZSetKey>)> {
        let lowest = |score: f64| Bound::Included(ZSetKey::new(score, Bytes::new()));
        let lower = match (self.min, self.min_exclusive) {
            (min, true) if min == f64::INFINITY => return None,
            (min, true) => lowest(min.next_up()),
            (min, false) => lowest(min),
        };
        let upper = match (self.max, self.max_exclusive) {
            (max, false) if max == f64::INFINITY => Bound::Unbounded,
            (max, false) => Bound::Excluded(ZSetKey::new(max.next_up(), Bytes::new())),
            (max, true) => Bound::Excluded(ZSetKey::new(max, Bytes::new())),
        };
        ordered(lower, upper)
    }

    /// The members in range, lowest first (`reverse`: highest first). Scores are ordered,
    /// so this is also where Redis's walk (to the first member past the far bound) ends.
    pub(super) fn walk<'a>(&self, zset: &'a ZSetValue, reverse: bool) -> Walk<'a> {
        match self.key_bounds().filter(|_| !self.is_empty()) {
            None => Box::new(std::iter::empty()),
            Some(bounds) if reverse => Box::new(zset.range(bounds).rev()),
            Some(bounds) => Box::new(zset.range(bounds)),
        }
    }

    /// Whether a walk goes on through `score`.
    pub(super) fn continues(&self, score: f64, reverse: bool) -> bool {
        if reverse {
            self.above_min(score)
        } else {
            self.below_max(score)
        }
    }
}

/// `(lower, upper)` when a B-tree range over them is valid (it panics on inverted bounds).
fn ordered<T: Ord>(lower: Bound<T>, upper: Bound<T>) -> Option<(Bound<T>, Bound<T>)> {
    let valid = match (&lower, &upper) {
        (Bound::Included(l), Bound::Included(u)) => l <= u,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u)) => l < u,
        _ => true,
    };
    valid.then_some((lower, upper))
}

/// One end of a lex range: `-`, `+`, or a member, inclusive (`[`) or not (`(`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum LexEdge {
    Lowest,
    Highest,
    Member(Bytes),
}

impl LexEdge {
    /// Redis's `sdscmplex`: `-` below every member, `+` above, members by bytes.
    fn cmp_member(&self, member: &[u8]) -> std::cmp::Ordering {
        match self {
            LexEdge::Lowest => std::cmp::Ordering::Less,
            LexEdge::Highest => std::cmp::Ordering::Greater,
            LexEdge::Member(m) => m.as_ref().cmp(member),
        }
    }
}

/// A lex range (`zlexrangespec`).
#[derive(Debug, Clone)]
pub(super) struct LexRange {
    min: LexEdge,
    max: LexEdge,
    min_exclusive: bool,
    max_exclusive: bool,
}

fn lex_edge(text: &Bytes) -> Option<(LexEdge, bool)> {
    match text.as_ref() {
        b"+" => Some((LexEdge::Highest, true)),
        b"-" => Some((LexEdge::Lowest, true)),
        [b'(', ..] => Some((LexEdge::Member(text.slice(1..)), true)),
        [b'[', ..] => Some((LexEdge::Member(text.slice(1..)), false)),
        _ => None,
    }
}

impl LexRange {
    /// Parses `min max` or fails with `ERR min or max not valid string range item`.
    pub(super) fn parse(min: &Bytes, max: &Bytes) -> Result<Self, ErrorReply> {
        let error = || ErrorReply::from_static("ERR min or max not valid string range item");
        let (min, min_exclusive) = lex_edge(min).ok_or_else(error)?;
        let (max, max_exclusive) = lex_edge(max).ok_or_else(error)?;
        Ok(LexRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    fn above_min(&self, member: &[u8]) -> bool {
        let order = self.min.cmp_member(member).reverse();
        if self.min_exclusive {
            order.is_gt()
        } else {
            order.is_ge()
        }
    }

    fn below_max(&self, member: &[u8]) -> bool {
        let order = self.max.cmp_member(member).reverse();
        if self.max_exclusive {
            order.is_lt()
        } else {
            order.is_le()
        }
    }

    /// Whether a walk goes on through `member`.
    pub(super) fn continues(&self, member: &[u8], reverse: bool) -> bool {
        if reverse {
            self.above_min(member)
        } else {
            self.below_max(member)
        }
    }

    /// Redis's test for a range that is always empty (`min` above `max`, or equal with
    /// an exclusive end); `-` and `+` equal themselves.
    fn is_empty(&self) -> bool {
        let order = match (&self.min, &self.max) {
            (LexEdge::Member(min), _) => self.max.cmp_member(min).reverse(),
            (_, LexEdge::Member(max)) => self.min.cmp_member(max),
            (min, max) if min == max => std::cmp::Ordering::Equal,
            (LexEdge::Lowest, _) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        order.is_gt() || (order.is_eq() && (self.min_exclusive || self.max_exclusive))
    }

    /// From the first member in range to the end of the set (`reverse`: from the last one
    /// down), for a walk the caller stops with [`LexRange::continues`]. The start is where
    /// Redis's `zzlFirstInLexRange` / `zzlLastInLexRange` find it: after checking the range
    /// against the set's two ends, the first member (from that end) within the near bound,
    /// if it is also within the far one.
    pub(super) fn walk<'a>(&self, zset: &'a ZSetValue, reverse: bool) -> Walk<'a> {
        let (Some((first, first_score)), Some((last, last_score))) =
            (zset.iter().next(), zset.iter().next_back())
        else {
            return Box::new(std::iter::empty());
        };
        if self.is_empty() || !self.above_min(last) || !self.below_max(first) {
            return Box::new(std::iter::empty());
        }
        if first_score == last_score {
            // One score: member order is the set's order, so a B-tree range finds the start.
            return self.walk_one_score(zset, first_score, reverse);
        }
        let mut walk: Walk<'a> = if reverse {
            Box::new(zset.iter().rev())
        } else {
            Box::new(zset.iter())
        };
        while let Some((member, score)) = walk.next() {
            let near_side = if reverse {
                self.below_max(member)
            } else {
                self.above_min(member)
            };
            if near_side {
                if !self.continues(member, reverse) {
                    break;
                }
                return Box::new(std::iter::once((member, score)).chain(walk));
            }
        }
        Box::new(std::iter::empty())
    }

    /// [`LexRange::walk`] when every member has `score`.
    fn walk_one_score<'a>(&self, zset: &'a ZSetValue, score: f64, reverse: bool) -> Walk<'a> {
        let at = |m: &Bytes| ZSetKey::new(score, m.clone());
        let bounds = if reverse {
            let upper = match (&self.max, self.max_exclusive) {
                (LexEdge::Member(m), true) => Bound::Excluded(at(m)),
                (LexEdge::Member(m), false) => Bound::Included(at(m)),
                _ => Bound::Unbounded,
            };
            (Bound::Unbounded, upper)
        } else {
            let lower = match (&self.min, self.min_exclusive) {
                (LexEdge::Member(m), true) => Bound::Excluded(at(m)),
                (LexEdge::Member(m), false) => Bound::Included(at(m)),
                _ => Bound::Unbounded,
            };
            (lower, Bound::Unbounded)
        };
        if reverse {
            Box::new(zset.range(bounds).rev())
        } else {
            Box::new(zset.range(bounds))
        }
    }
}

/// A rank range after Redis's sanitizing: negative ranks count from the end, the start
/// is clamped to 0 and the end to the last rank; `None` when empty.
pub(super) fn rank_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 {
        len_i.saturating_add(start)
    } else {
        start
    }
    .max(0);
    let end = if end < 0 {
        len_i.saturating_add(end)
    } else {
        end
    };
    if start > end || start >= len_i {
        return None;
    }
    let end = end.min(len_i - 1);
    Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
}

/// The members at ranks `start..=end` (from the highest score when `reverse`), walking in
/// from whichever end of the set is nearer.
pub(super) fn by_rank(
    zset: &ZSetValue,
    start: usize,
    end: usize,
    reverse: bool,
) -> Vec<(&Bytes, f64)> {
    let len = zset.len();
    let count = end + 1 - start;
    // Ranks start..=end from the low end are len-1-end..=len-1-start from the high end.
    let (low_start, low_end) = if reverse {
        (len - 1 - end, len - 1 - start)
    } else {
        (start, end)
    };
    let mut items: Vec<(&Bytes, f64)> = if low_start <= len - 1 - low_end {
        zset.iter().skip(low_start).take(count).collect()
    } else {
        let mut items: Vec<_> = zset
            .iter()
            .rev()
            .skip(len - 1 - low_end)
            .take(count)
            .collect();
        items.reverse();
        items
    };
    if reverse {
        items.reverse();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[(f64, &str)]) -> ZSetValue {
        items
            .iter()
            .map(|&(s, m)| (Bytes::copy_from_slice(m.as_bytes()), s))
            .collect()
    }

    fn names(walk: Walk<'_>) -> Vec<String> {
        walk.map(|(m, _)| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    #[test]
    fn score_ranges_cover_exclusive_and_infinite_bounds() {
        let z = set(&[(1.0, "a"), (2.0, "b"), (2.0, "c"), (f64::INFINITY, "d")]);
        let walk = |min: &str, max: &str, rev| {
            names(
                ScoreRange::parse(min.as_bytes(), max.as_bytes())
                    .unwrap()
                    .walk(&z, rev),
            )
        };
        assert_eq!(walk("(1", "2", false), ["b", "c"]);
        assert_eq!(walk("1", "(2", false), ["a"]);
        assert_eq!(walk("(2", "+inf", true), ["d"]);
        assert_eq!(walk("(inf", "+inf", false), Vec::<String>::new());
        assert_eq!(walk("2", "1", false), Vec::<String>::new());
        assert_eq!(walk("(2", "2", false), Vec::<String>::new());
        assert_eq!(walk("-inf", "(inf", true), ["c", "b", "a"]);
        assert!(ScoreRange::parse(b"nan", b"1").is_err());
        assert!(ScoreRange::parse(b"(", b"").is_ok());
    }

    #[test]
    fn lex_walks_follow_a_linear_scan_when_scores_differ() {
        // Order by score: a d b c. Redis's listpack answers [b [d with d b c.
        let z = set(&[(1.0, "b"), (0.0, "a"), (2.0, "c"), (0.0, "d")]);
        let range = LexRange::parse(&Bytes::from("[b"), &Bytes::from("[d")).unwrap();
        let walked: Vec<_> = names(range.walk(&z, false));
        assert_eq!(walked, ["d", "b", "c"]);
        let one = set(&[(0.0, "a"), (0.0, "b"), (0.0, "c")]);
        let range = LexRange::parse(&Bytes::from("(a"), &Bytes::from("+")).unwrap();
        assert_eq!(names(range.walk(&one, false)), ["b", "c"]);
        assert_eq!(names(range.walk(&one, true)), ["c", "b", "a"]);
    }

    #[test]
    fn rank_bounds_sanitize_like_redis() {
        assert_eq!(rank_bounds(0, -1, 3), Some((0, 2)));
        assert_eq!(rank_bounds(-100, 100, 3), Some((0, 2)));
        assert_eq!(rank_bounds(2, 1, 3), None);
        assert_eq!(rank_bounds(3, 5, 3), None);
        assert_eq!(rank_bounds(0, -4, 3), None);
        assert_eq!(rank_bounds(i64::MIN, i64::MAX, 3), Some((0, 2)));
        let z = set(&[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]);
        let pick = |s, e, rev| -> Vec<String> {
            by_rank(&z, s, e, rev)
                .into_iter()
                .map(|(m, _)| String::from_utf8_lossy(m).into_owned())
                .collect()
        };
        assert_eq!(pick(1, 2, false), ["b", "c"]);
        assert_eq!(pick(2, 3, false), ["c", "d"]);
        assert_eq!(pick(0, 1, true), ["d", "c"]);
        assert_eq!(pick(2, 3, true), ["b", "a"]);
    }
}
