//! [`ZSetValue`]: a Redis sorted set — members ordered by score, then by member bytes.
//!
//! Two indexes kept in step: member -> score (ZSCORE, ZADD's lookups) and an ordered set of
//! (score, member) (ranges by score, lex and rank). Rank queries walk the ordered set, O(rank)
//! rather than Redis's O(log n) skiplist; ranges from either end are cheap.
//!
//! Scores are never NaN (commands refuse NaN before storing), which is what makes the order
//! total; `f64::total_cmp` orders them (so `-0` sorts just below `0`).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::ops::RangeBounds;

use bytes::Bytes;

/// Bytes charged per member on top of its length (map slot, tree node, score twice).
const MEMBER_OVERHEAD_BYTES: usize = 112;

/// A position in a sorted set's order: score, then member bytes.
#[derive(Debug, Clone)]
pub struct ZSetKey {
    /// The score (never NaN).
    pub score: f64,
    /// The member.
    pub member: Bytes,
}

impl ZSetKey {
    /// The key for `member` at `score`.
    pub fn new(score: f64, member: Bytes) -> Self {
        debug_assert!(!score.is_nan(), "sorted-set scores are never NaN");
        ZSetKey { score, member }
    }
}

impl Ord for ZSetKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| self.member.cmp(&other.member))
    }
}
impl PartialOrd for ZSetKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for ZSetKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ZSetKey {}

/// A sorted set whose memory charge is kept current by every change.
#[derive(Debug, Clone, Default)]
pub struct ZSetValue {
    scores: HashMap<Bytes, f64>,
    order: BTreeSet<ZSetKey>,
    memory_bytes: usize,
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}
impl Eq for ZSetValue {}

impl ZSetValue {
    /// An empty sorted set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether there are no members (the key is then deleted by the command).
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Memory charge of the whole sorted set.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Sets `member`'s score; returns the previous score (`None` when it was added).
    pub fn insert(&mut self, member: Bytes, score: f64) -> Option<f64> {
        debug_assert!(!score.is_nan(), "sorted-set scores are never NaN");
        match self.scores.get_mut(&member) {
            Some(old) => {
                let previous = *old;
                if previous.total_cmp(&score) != Ordering::Equal {
                    *old = score;
                    let removed = self.order.remove(&ZSetKey::new(previous, member.clone()));
                    debug_assert!(removed, "sorted-set indexes out of step");
                    self.order.insert(ZSetKey::new(score, member));
                }
                Some(previous)
            }
            None => {
                self.memory_bytes += MEMBER_OVERHEAD_BYTES + member.len();
                self.scores.insert(member.clone(), score);
                self.order.insert(ZSetKey::new(score, member));
                None
            }
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (member, score) = self.scores.remove_entry(member)?;
        let removed = self.order.remove(&ZSetKey::new(score, member.clone()));
        debug_assert!(removed, "sorted-set indexes out of step");
        self.memory_bytes -= MEMBER_OVERHEAD_BYTES + member.len();
        Some(score)
    }

    /// Members and scores from the lowest score to the highest.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Bytes, f64)> + DoubleEndedIterator {
        self.order.iter().map(|k| (&k.member, k.score))
    }

    /// Members and scores whose (score, member) position lies in `range`, in order.
    pub fn range<R: RangeBounds<ZSetKey>>(
        &self,
        range: R,
    ) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> {
        self.order.range(range).map(|k| (&k.member, k.score))
    }

    /// 0-based rank of `member` from the lowest score (O(rank)).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let key = ZSetKey::new(score, Bytes::copy_from_slice(member));
        Some(self.order.range(..&key).count())
    }
}

impl Drop for ZSetValue {
    /// A large sorted set is freed off the apply path (see `lazy_free.rs`).
    fn drop(&mut self) {
        if self.scores.len() > crate::lazy_free::LAZY_FREE_ELEMENTS_MIN {
            let scores = std::mem::take(&mut self.scores);
            let order = std::mem::take(&mut self.order);
            crate::lazy_free::free_later((scores, order));
        }
    }
}

impl FromIterator<(Bytes, f64)> for ZSetValue {
    fn from_iter<I: IntoIterator<Item = (Bytes, f64)>>(iter: I) -> Self {
        let mut zset = ZSetValue::new();
        for (member, score) in iter {
            zset.insert(member, score);
        }
        zset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn orders_by_score_then_member_and_keeps_indexes_in_step() {
        let mut z = ZSetValue::new();
        z.insert(b("b"), 1.0);
        z.insert(b("a"), 1.0);
        z.insert(b("c"), f64::NEG_INFINITY);
        assert_eq!(z.insert(b("b"), 0.5), Some(1.0));
        let order: Vec<_> = z.iter().map(|(m, s)| (m.clone(), s)).collect();
        assert_eq!(
            order,
            vec![(b("c"), f64::NEG_INFINITY), (b("b"), 0.5), (b("a"), 1.0)]
        );
        assert_eq!(z.rank(b"a"), Some(2));
        assert_eq!(z.rank(b"zz"), None);
        let above: Vec<_> = z
            .range(ZSetKey::new(0.0, Bytes::new())..)
            .map(|(m, _)| m.clone())
            .collect();
        assert_eq!(above, vec![b("b"), b("a")]);
        for m in ["a", "b", "c"] {
            z.remove(m.as_bytes());
        }
        assert_eq!((z.len(), z.memory_bytes(), z.order.len()), (0, 0, 0));
    }
}
