//! [`SetValue`]: a Redis set of distinct members, in insertion order with swap-removal.

use bytes::Bytes;
use indexmap::IndexSet;

/// Bytes charged per member on top of its length (index slot, entry hash, byte handle).
const MEMBER_OVERHEAD_BYTES: usize = 56;

/// A set of members whose memory charge is kept current by every change.
#[derive(Debug, Clone, Default)]
pub struct SetValue {
    members: IndexSet<Bytes>,
    memory_bytes: usize,
}

impl PartialEq for SetValue {
    /// Equal when they hold the same members, whatever the order.
    fn eq(&self, other: &Self) -> bool {
        self.members.len() == other.members.len()
            && self.members.iter().all(|m| other.members.contains(m))
    }
}
impl Eq for SetValue {}

impl SetValue {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members (the key is then deleted by the command).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Memory charge of the whole set.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.contains(member)
    }

    /// Adds `member`; returns whether it was new.
    pub fn insert(&mut self, member: Bytes) -> bool {
        let len = member.len();
        let added = self.members.insert(member);
        if added {
            self.memory_bytes += MEMBER_OVERHEAD_BYTES + len;
        }
        added
    }

    /// Removes `member`; returns whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let removed = self.members.swap_remove(member);
        if removed {
            self.memory_bytes -= MEMBER_OVERHEAD_BYTES + member.len();
        }
        removed
    }

    /// Removes and returns the member at `index` of [`SetValue::iter`]'s order (SPOP).
    pub fn remove_index(&mut self, index: usize) -> Option<Bytes> {
        let member = self.members.swap_remove_index(index)?;
        self.memory_bytes -= MEMBER_OVERHEAD_BYTES + member.len();
        Some(member)
    }

    /// Members in the set's (deterministic) order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Bytes> + DoubleEndedIterator {
        self.members.iter()
    }

    /// The member at position `index` of [`SetValue::iter`]'s order.
    pub fn get_index(&self, index: usize) -> Option<&Bytes> {
        self.members.get_index(index)
    }

    /// One SSCAN page of about `count` members from `cursor`, and the next cursor (0 = done).
    pub fn scan(&self, cursor: u64, count: usize) -> (Vec<&Bytes>, u64) {
        let (indexes, next) = super::scan_page(self.members.len(), cursor, count);
        let page = indexes
            .into_iter()
            .filter_map(|i| self.members.get_index(i))
            .collect();
        (page, next)
    }
}

impl Drop for SetValue {
    /// A large collection is freed off the apply path (see `lazy_free.rs`).
    fn drop(&mut self) {
        if self.members.len() > crate::lazy_free::LAZY_FREE_ELEMENTS_MIN {
            crate::lazy_free::free_later(std::mem::take(&mut self.members));
        }
    }
}

impl FromIterator<Bytes> for SetValue {
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> Self {
        let mut set = SetValue::new();
        for member in iter {
            set.insert(member);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_follows_every_change_and_returns_to_zero() {
        let mut s: SetValue = [b"a".as_slice(), b"bb", b"a"]
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect();
        assert_eq!(s.len(), 2);
        assert_eq!(s.memory_bytes(), 2 * MEMBER_OVERHEAD_BYTES + 3);
        assert!(!s.remove(b"zz"));
        assert!(s.remove(b"a"));
        assert_eq!(s.remove_index(0), Some(Bytes::from_static(b"bb")));
        assert_eq!(s.memory_bytes(), 0);
    }
}
