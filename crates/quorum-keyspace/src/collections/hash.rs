//! [`HashValue`]: a Redis hash, field -> value, in insertion order with swap-removal.

use bytes::Bytes;
use indexmap::IndexMap;

/// Bytes charged per field on top of its field and value lengths (index slot, entry hash,
/// two byte handles). Rough on purpose; it only has to be stable and plausible.
const FIELD_OVERHEAD_BYTES: usize = 80;

/// A field -> value map whose memory charge is kept current by every change.
#[derive(Debug, Clone, Default)]
pub struct HashValue {
    fields: IndexMap<Bytes, Bytes>,
    memory_bytes: usize,
}

impl PartialEq for HashValue {
    /// Equal when they hold the same fields and values, whatever the order.
    fn eq(&self, other: &Self) -> bool {
        self.fields.len() == other.fields.len()
            && self
                .fields
                .iter()
                .all(|(f, v)| other.fields.get(f) == Some(v))
    }
}
impl Eq for HashValue {}

fn charge(field: &[u8], value: &[u8]) -> usize {
    FIELD_OVERHEAD_BYTES + field.len() + value.len()
}

impl HashValue {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields (the key is then deleted by the command).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Memory charge of the whole hash.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        self.fields.get(field)
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.fields.contains_key(field)
    }

    /// Sets `field` to `value`; returns the previous value.
    pub fn insert(&mut self, field: Bytes, value: Bytes) -> Option<Bytes> {
        let added = charge(&field, &value);
        match self.fields.get_mut(&field) {
            Some(slot) => {
                let old = std::mem::replace(slot, value);
                self.memory_bytes = self.memory_bytes - charge(&field, &old) + added;
                Some(old)
            }
            None => {
                self.memory_bytes += added;
                self.fields.insert(field, value);
                None
            }
        }
    }

    /// Removes `field`; returns its value.
    pub fn remove(&mut self, field: &[u8]) -> Option<Bytes> {
        let (field, value) = self.fields.swap_remove_entry(field)?;
        self.memory_bytes -= charge(&field, &value);
        Some(value)
    }

    /// Fields and values in the hash's (deterministic) order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Bytes, &Bytes)> + DoubleEndedIterator {
        self.fields.iter()
    }

    /// The field and value at position `index` of [`HashValue::iter`]'s order.
    pub fn get_index(&self, index: usize) -> Option<(&Bytes, &Bytes)> {
        self.fields.get_index(index)
    }

    /// One HSCAN page of about `count` fields from `cursor`, and the next cursor (0 = done).
    pub fn scan(&self, cursor: u64, count: usize) -> (Vec<(&Bytes, &Bytes)>, u64) {
        let (indexes, next) = super::scan_page(self.fields.len(), cursor, count);
        let page = indexes
            .into_iter()
            .filter_map(|i| self.fields.get_index(i))
            .collect();
        (page, next)
    }
}

impl Drop for HashValue {
    /// A large collection is freed off the apply path (see `lazy_free.rs`).
    fn drop(&mut self) {
        if self.fields.len() > crate::lazy_free::LAZY_FREE_ELEMENTS_MIN {
            crate::lazy_free::free_later(std::mem::take(&mut self.fields));
        }
    }
}

impl FromIterator<(Bytes, Bytes)> for HashValue {
    fn from_iter<I: IntoIterator<Item = (Bytes, Bytes)>>(iter: I) -> Self {
        let mut hash = HashValue::new();
        for (field, value) in iter {
            hash.insert(field, value);
        }
        hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_follows_every_change_and_returns_to_zero() {
        let mut h = HashValue::new();
        assert_eq!(
            h.insert(Bytes::from_static(b"f"), Bytes::from_static(b"v")),
            None
        );
        assert_eq!(h.memory_bytes(), FIELD_OVERHEAD_BYTES + 2);
        h.insert(Bytes::from_static(b"f"), Bytes::from_static(b"longer"));
        h.insert(Bytes::from_static(b"g"), Bytes::from_static(b""));
        let fresh: HashValue = h.iter().map(|(f, v)| (f.clone(), v.clone())).collect();
        assert_eq!(fresh.memory_bytes(), h.memory_bytes());
        assert_eq!(h.remove(b"f"), Some(Bytes::from_static(b"longer")));
        h.remove(b"g");
        assert!(h.is_empty());
        assert_eq!(h.memory_bytes(), 0);
    }
}
