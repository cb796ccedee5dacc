//! [`ListValue`]: a Redis list, a double-ended sequence of elements.

use std::collections::VecDeque;

use bytes::Bytes;

/// Bytes charged per element on top of its length (a byte handle in the ring buffer).
const ELEMENT_OVERHEAD_BYTES: usize = 40;

/// A list whose memory charge is kept current by every change. Mutation goes through these
/// methods only, so the charge cannot drift.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListValue {
    elements: VecDeque<Bytes>,
    memory_bytes: usize,
}

fn charge(element: &[u8]) -> usize {
    ELEMENT_OVERHEAD_BYTES + element.len()
}

impl ListValue {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether there are no elements (the key is then deleted by the command).
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// Memory charge of the whole list.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// The element at `index` (0 = head).
    pub fn get(&self, index: usize) -> Option<&Bytes> {
        self.elements.get(index)
    }

    /// Elements from head to tail.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Bytes> + DoubleEndedIterator {
        self.elements.iter()
    }

    /// Pushes at the head (LPUSH).
    pub fn push_front(&mut self, element: Bytes) {
        self.memory_bytes += charge(&element);
        self.elements.push_front(element);
    }

    /// Pushes at the tail (RPUSH).
    pub fn push_back(&mut self, element: Bytes) {
        self.memory_bytes += charge(&element);
        self.elements.push_back(element);
    }

    /// Pops the head.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        let element = self.elements.pop_front()?;
        self.memory_bytes -= charge(&element);
        Some(element)
    }

    /// Pops the tail.
    pub fn pop_back(&mut self) -> Option<Bytes> {
        let element = self.elements.pop_back()?;
        self.memory_bytes -= charge(&element);
        Some(element)
    }

    /// Replaces the element at `index`; returns the old one, or `None` when out of range.
    pub fn set(&mut self, index: usize, element: Bytes) -> Option<Bytes> {
        let slot = self.elements.get_mut(index)?;
        let new_charge = charge(&element);
        let old = std::mem::replace(slot, element);
        self.memory_bytes = self.memory_bytes - charge(&old) + new_charge;
        Some(old)
    }

    /// Inserts `element` before position `index` (`index == len` appends).
    pub fn insert(&mut self, index: usize, element: Bytes) {
        debug_assert!(index <= self.elements.len());
        self.memory_bytes += charge(&element);
        self.elements.insert(index, element);
    }

    /// Removes and returns the element at `index`.
    pub fn remove(&mut self, index: usize) -> Option<Bytes> {
        let element = self.elements.remove(index)?;
        self.memory_bytes -= charge(&element);
        Some(element)
    }

    /// Keeps only the elements in `start..end` (LTRIM), dropping the rest.
    pub fn retain_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.elements.len());
        let start = start.min(end);
        let dropped: usize = self
            .elements
            .iter()
            .take(start)
            .chain(self.elements.iter().skip(end))
            .map(|e| charge(e))
            .sum();
        self.elements.truncate(end);
        self.elements.drain(..start);
        self.memory_bytes -= dropped;
    }
}

impl Drop for ListValue {
    /// A large collection is freed off the apply path (see `lazy_free.rs`).
    fn drop(&mut self) {
        if self.elements.len() > crate::lazy_free::LAZY_FREE_ELEMENTS_MIN {
            crate::lazy_free::free_later(std::mem::take(&mut self.elements));
        }
    }
}

impl FromIterator<Bytes> for ListValue {
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> Self {
        let mut list = ListValue::new();
        for element in iter {
            list.push_back(element);
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> ListValue {
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn memory_follows_every_change_and_returns_to_zero() {
        let mut l = list(&["a", "bb", "ccc", "d"]);
        l.set(0, Bytes::from_static(b"aaaa"));
        l.insert(1, Bytes::from_static(b"x"));
        l.retain_range(1, 4);
        assert_eq!(l, list(&["x", "bb", "ccc"]));
        assert_eq!(l.memory_bytes(), list(&["x", "bb", "ccc"]).memory_bytes());
        l.remove(1);
        l.pop_back();
        l.pop_front();
        assert_eq!(l.memory_bytes(), 0);
    }
}
