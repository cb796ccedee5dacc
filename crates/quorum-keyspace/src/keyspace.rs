//! [`Keyspace`]: the key -> [`Entry`] map with its two ordered indexes (SCAN order and expiry
//! deadlines) and memory accounting, all kept in step by the mutating methods here.
//!
//! Expiry is by absolute unix-millisecond deadlines. Lookups that take `now_ms` treat a key
//! whose deadline is `<= now_ms` as absent but never delete it: deletion happens only through
//! explicit writes ([`Keyspace::remove_if_expired`]), which the Raft log orders, so replicas
//! agree on when a key disappears.
//!
//! Every mutating method records the key it changed ([`Keyspace::take_touched`]): the server
//! wakes clients blocked on those keys and WATCH learns of changes from it, and because the
//! record is made here, no command can change a key without it showing.
//!
//! Redis never keeps an empty hash, list, set or sorted set; [`Keyspace::update_value`]
//! deletes a key whose collection a change emptied, so no command has to remember to.
//!
//! Not here: command semantics, SCAN paging (`scan.rs`), snapshot bytes (`snapshot.rs`).

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;

use crate::scan::scan_hash;
use crate::tombstones::{Tombstones, TOMBSTONES_MAX};
use crate::value::Value;

/// Fixed bytes charged per key on top of key and value lengths: the map slot, the SCAN-order
/// index node and the entry header. A rough figure; it only has to be stable and plausible.
const ENTRY_OVERHEAD_BYTES: usize = 96;
/// Extra bytes charged for a key that has a deadline (its node in the deadline index).
const DEADLINE_OVERHEAD_BYTES: usize = 48;

/// What one key holds: its value and, when it has a time to live, its absolute deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Unix milliseconds at which the key stops existing, or `None` for no expiry.
    pub expires_at_ms: Option<u64>,
    /// The log index of the write that last changed this key (value or deadline): what
    /// WATCH observes and EXEC compares. Replicated state, so it is in snapshots.
    pub version: u64,
}

impl Entry {
    /// Whether the deadline has passed at `now_ms` (a deadline equal to now has passed).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_some_and(|at| at <= now_ms)
    }
}

/// The keyspace of one database.
///
/// The main map uses std's randomly seeded hasher (resistant to hash flooding); no output
/// depends on its iteration order. Everything observable is ordered by the two `BTreeSet`s,
/// whose order depends on contents alone.
#[derive(Debug, Default, Clone)]
pub struct Keyspace {
    pub(crate) entries: HashMap<Bytes, Entry>,
    /// `(scan_hash(key), key)`: SCAN cursors are positions in this order.
    pub(crate) scan_order: BTreeSet<(u64, Bytes)>,
    /// `(deadline_ms, key)` for every key with a deadline.
    deadlines: BTreeSet<(u64, Bytes)>,
    used_memory_bytes: usize,
    /// Keys changed since the last [`Keyspace::take_touched`] (not part of the state).
    touched: Touched,
    /// The version stamped on keys changed from now on (see [`Entry::version`]).
    write_version: u64,
    /// When recently deleted keys were deleted (WATCH of absent keys).
    pub(crate) tombstones: Tombstones,
}

/// A key's version as WATCH sees it: the log index of its last change, whether that change
/// left it present or deleted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeyVersion {
    /// Live, last changed by the write with this index.
    Present(u64),
    /// Absent (or expired), last deleted at this index or earlier (see `tombstones.rs`).
    Absent(u64),
}

/// Keys changed since they were last taken.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Touched {
    /// Each changed key, in the order of the changes (a key may repeat).
    pub keys: Vec<Bytes>,
    /// Whether every key was removed at once (FLUSHDB/FLUSHALL): every key that existed
    /// before counts as changed.
    pub flushed: bool,
}

impl Touched {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && !self.flushed
    }
}

impl Keyspace {
    /// An empty keyspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys, including expired keys not yet removed (as Redis's `DBSIZE`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of keys that have a deadline.
    pub fn expires_count(&self) -> usize {
        self.deadlines.len()
    }

    /// Approximate bytes used by keys, values and index overhead.
    pub fn used_memory_bytes(&self) -> usize {
        self.used_memory_bytes
    }

    /// The live entry under `key`: `None` when absent or expired at `now_ms`.
    pub fn get(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.entries.get(key).filter(|e| !e.is_expired(now_ms))
    }

    /// The entry under `key` whether or not its deadline has passed.
    pub fn get_including_expired(&self, key: &[u8]) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Whether `key` exists and is live at `now_ms`.
    pub fn contains(&self, key: &[u8], now_ms: u64) -> bool {
        self.get(key, now_ms).is_some()
    }

    /// Stores `value` under `key` with the given deadline, replacing any previous entry
    /// (and its deadline), and returns the previous entry.
    pub fn insert(
        &mut self,
        key: Bytes,
        value: Value,
        expires_at_ms: Option<u64>,
    ) -> Option<Entry> {
        debug_assert!(
            !value.is_empty_collection(),
            "empty collections are never stored"
        );
        self.touched.keys.push(key.clone());
        if let Some(entry) = self.entries.get_mut(&key) {
            // Overwriting an existing key (the common SET): the SCAN-order node stays where it
            // is (same key, same position), so only the value and the deadline change.
            let previous = std::mem::replace(
                entry,
                Entry {
                    value,
                    expires_at_ms,
                    version: self.write_version,
                },
            );
            self.used_memory_bytes = self.used_memory_bytes
                - entry_memory_bytes(&key, &previous.value, previous.expires_at_ms)
                + entry_memory_bytes(&key, &entry.value, expires_at_ms);
            if previous.expires_at_ms != expires_at_ms {
                if let Some(at) = previous.expires_at_ms {
                    let removed = self.deadlines.remove(&(at, key.clone()));
                    debug_assert!(removed, "deadline index out of step with entries");
                }
                if let Some(at) = expires_at_ms {
                    self.deadlines.insert((at, key));
                }
            }
            return Some(previous);
        }
        self.used_memory_bytes += entry_memory_bytes(&key, &value, expires_at_ms);
        if let Some(at) = expires_at_ms {
            self.deadlines.insert((at, key.clone()));
        }
        self.scan_order.insert((scan_hash(&key), key.clone()));
        self.entries.insert(
            key,
            Entry {
                value,
                expires_at_ms,
                version: self.write_version,
            },
        );
        None
    }

    /// Replaces the value under an existing `key`, keeping its deadline. Returns `false`
    /// (and stores nothing) when the key does not exist.
    pub fn replace_value(&mut self, key: &[u8], value: Value) -> bool {
        self.update_value(key, |v| *v = value).is_some()
    }

    /// Runs `f` on the value under an existing `key` (expired or not: callers remove expired
    /// keys first) and re-measures its memory (O(1): values keep their own size). A
    /// collection that `f` leaves empty is deleted with its key. `None` when the key does not
    /// exist.
    ///
    /// The key counts as touched whether or not `f` changed anything: callers that only look
    /// use [`Keyspace::get`].
    pub fn update_value<R>(&mut self, key: &[u8], f: impl FnOnce(&mut Value) -> R) -> Option<R> {
        let key = self.entries.get_key_value(key)?.0.clone();
        let entry = self.entries.get_mut(&key).expect("looked up above");
        entry.version = self.write_version;
        let before = entry.value.memory_bytes();
        let result = f(&mut entry.value);
        let after = entry.value.memory_bytes();
        self.used_memory_bytes = self.used_memory_bytes - before + after;
        if entry.value.is_empty_collection() {
            self.remove(&key);
        } else {
            self.touched.keys.push(key);
        }
        Some(result)
    }

    /// Runs `f` on the value under `key`, first storing `create()` (without a deadline) when
    /// the key does not exist; as [`Keyspace::update_value`] otherwise. A created value that
    /// `f` leaves an empty collection is not kept.
    pub fn upsert_value<R>(
        &mut self,
        key: &Bytes,
        create: impl FnOnce() -> Value,
        f: impl FnOnce(&mut Value) -> R,
    ) -> R {
        if !self.entries.contains_key(key) {
            let mut value = create();
            let result = f(&mut value);
            if !value.is_empty_collection() {
                self.insert(key.clone(), value, None);
            }
            return result;
        }
        self.update_value(key, f)
            .expect("the key exists: checked above")
    }

    /// Removes `key` (expired or not) and returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (key, entry) = self.entries.remove_entry(key)?;
        self.touched.keys.push(key.clone());
        self.tombstones.record(key.clone(), self.write_version);
        self.used_memory_bytes -= entry_memory_bytes(&key, &entry.value, entry.expires_at_ms);
        if let Some(at) = entry.expires_at_ms {
            let removed = self.deadlines.remove(&(at, key.clone()));
            debug_assert!(removed, "deadline index out of step with entries");
        }
        let removed = self.scan_order.remove(&(scan_hash(&key), key));
        debug_assert!(removed, "scan index out of step with entries");
        Some(entry)
    }

    /// Sets or clears the deadline of an existing `key`. Returns `false` when the key does
    /// not exist.
    pub fn set_expiry(&mut self, key: &[u8], expires_at_ms: Option<u64>) -> bool {
        let Some((key, entry)) = self.entries.get_key_value(key) else {
            return false;
        };
        let key = key.clone();
        let old = entry.expires_at_ms;
        if old == expires_at_ms {
            return true;
        }
        if let Some(at) = old {
            self.deadlines.remove(&(at, key.clone()));
            self.used_memory_bytes -= DEADLINE_OVERHEAD_BYTES;
        }
        if let Some(at) = expires_at_ms {
            self.deadlines.insert((at, key.clone()));
            self.used_memory_bytes += DEADLINE_OVERHEAD_BYTES;
        }
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.expires_at_ms = expires_at_ms;
            entry.version = self.write_version;
        }
        self.touched.keys.push(key);
        true
    }

    /// Removes `key` if its deadline is `<= now_ms`; returns whether it did.
    pub fn remove_if_expired(&mut self, key: &[u8], now_ms: u64) -> bool {
        let expired = self.entries.get(key).is_some_and(|e| e.is_expired(now_ms));
        if expired {
            self.remove(key);
        }
        expired
    }

    /// Up to `max` keys whose deadline is `<= now_ms`, earliest deadline first. Cheap: walks
    /// the deadline index from its start and stops at the first live deadline.
    pub fn expired_keys(&self, now_ms: u64, max: usize) -> Vec<Bytes> {
        self.deadlines
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .take(max)
            .map(|(_, key)| key.clone())
            .collect()
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        let flushed = !self.entries.is_empty() || self.touched.flushed;
        let mut touched = std::mem::take(&mut self.touched);
        let write_version = self.write_version;
        let mut old = std::mem::take(self);
        let removed: Option<Vec<Bytes>> = (old.scan_order.len() <= TOMBSTONES_MAX)
            .then(|| old.scan_order.iter().map(|(_, key)| key.clone()).collect());
        if old.entries.len() > crate::lazy_free::LAZY_FREE_ELEMENTS_MIN {
            // FLUSHALL of millions of keys: freed off the apply path (lazy_free.rs).
            let entries = std::mem::take(&mut old.entries);
            let scan_order = std::mem::take(&mut old.scan_order);
            let deadlines = std::mem::take(&mut old.deadlines);
            crate::lazy_free::free_later((entries, scan_order, deadlines));
        }
        touched.flushed = flushed;
        self.touched = touched;
        self.write_version = write_version;
        self.tombstones = old.tombstones;
        // Every removed key is deleted now; absent keys stay as they were, as Redis's flush
        // touches only keys that existed. A flush larger than the tombstone record forgets
        // them all instead (a WATCH of an absent key then aborts spuriously: safe).
        match removed {
            // In SCAN order: deterministic on every replica.
            Some(keys) => keys
                .into_iter()
                .for_each(|key| self.tombstones.record(key, write_version)),
            None => self.tombstones.reset(write_version),
        }
    }

    /// Sets the version that keys changed from now on carry: the log index of the write
    /// being applied (see [`Entry::version`]).
    pub fn set_write_version(&mut self, version: u64) {
        self.write_version = version;
    }

    /// Marks every key changed (SWAPDB): each takes the current write version, and the
    /// touched record says "everything".
    pub fn touch_all(&mut self) {
        let version = self.write_version;
        self.entries.values_mut().for_each(|e| e.version = version);
        self.tombstones.reset(version);
        self.touched.flushed = true;
    }

    /// The version of `key` at `now_ms` that WATCH records and EXEC compares: it changes
    /// whenever the key is written, expires or is deleted, including a key created and
    /// deleted again in between. An expired key not yet deleted keeps its entry's version.
    pub fn watch_version(&self, key: &[u8], now_ms: u64) -> KeyVersion {
        match self.entries.get(key) {
            Some(entry) if !entry.is_expired(now_ms) => KeyVersion::Present(entry.version),
            Some(entry) => KeyVersion::Absent(entry.version),
            None => KeyVersion::Absent(self.tombstones.version(key)),
        }
    }

    /// Whether deletions are remembered (state a snapshot must keep even without keys).
    pub fn has_tombstones(&self) -> bool {
        self.tombstones != Tombstones::default()
    }

    /// The keys changed since the last call (see the module docs), leaving the record empty.
    pub fn take_touched(&mut self) -> Touched {
        std::mem::take(&mut self.touched)
    }

    /// Live entries in SCAN order (a content-determined order), e.g. for `KEYS`.
    pub fn iter_live(&self, now_ms: u64) -> impl Iterator<Item = (&Bytes, &Entry)> + '_ {
        self.scan_order.iter().filter_map(move |(_, key)| {
            let entry = self.entries.get(key)?;
            (!entry.is_expired(now_ms)).then_some((key, entry))
        })
    }

    /// All entries (expired or not) sorted by key: the snapshot order.
    pub(crate) fn sorted_entries(&self) -> Vec<(&Bytes, &Entry)> {
        let mut all: Vec<_> = self.entries.iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all
    }
}

fn entry_memory_bytes(key: &[u8], value: &Value, expires_at_ms: Option<u64>) -> usize {
    let deadline = if expires_at_ms.is_some() {
        DEADLINE_OVERHEAD_BYTES
    } else {
        0
    };
    ENTRY_OVERHEAD_BYTES + key.len() + value.memory_bytes() + deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(Bytes::copy_from_slice(v.as_bytes()))
    }

    #[test]
    fn expired_keys_are_absent_but_kept_until_removed() {
        let mut ks = Keyspace::new();
        ks.insert(Bytes::from_static(b"a"), s("1"), Some(100));
        ks.insert(Bytes::from_static(b"b"), s("2"), None);
        assert!(ks.contains(b"a", 99));
        assert!(!ks.contains(b"a", 100));
        assert_eq!(ks.len(), 2);
        assert_eq!(ks.expired_keys(100, 10), vec![Bytes::from_static(b"a")]);
        assert!(ks.expired_keys(99, 10).is_empty());
        assert!(!ks.remove_if_expired(b"b", 1000));
        assert!(ks.remove_if_expired(b"a", 100));
        assert_eq!(ks.len(), 1);
        assert_eq!(ks.expires_count(), 0);
    }

    #[test]
    fn memory_returns_to_zero_and_indexes_stay_in_step() {
        let mut ks = Keyspace::new();
        ks.insert(Bytes::from_static(b"k"), s("hello"), None);
        assert!(ks.set_expiry(b"k", Some(5)));
        assert!(ks.set_expiry(b"k", Some(7)));
        assert_eq!(ks.expires_count(), 1);
        ks.update_value(b"k", |v| *v = s("a much longer value"));
        assert!(ks.used_memory_bytes() > 0);
        ks.insert(Bytes::from_static(b"k"), s("x"), None);
        assert_eq!(ks.expires_count(), 0);
        ks.remove(b"k");
        assert_eq!(ks.used_memory_bytes(), 0);
        assert!(ks.scan_order.is_empty());
        assert!(!ks.set_expiry(b"k", Some(1)));
    }

    #[test]
    fn overwriting_a_key_moves_its_deadline_and_keeps_one_scan_node() {
        let mut ks = Keyspace::new();
        ks.insert(Bytes::from_static(b"k"), s("1"), Some(5));
        let previous = ks.insert(Bytes::from_static(b"k"), s("22"), Some(9));
        assert_eq!(previous.map(|e| e.expires_at_ms), Some(Some(5)));
        assert!(ks.expired_keys(6, 10).is_empty());
        assert_eq!(ks.expired_keys(9, 10), vec![Bytes::from_static(b"k")]);
        assert_eq!(
            (ks.len(), ks.expires_count(), ks.scan_order.len()),
            (1, 1, 1)
        );
        let mut fresh = Keyspace::new();
        fresh.insert(Bytes::from_static(b"k"), s("22"), Some(9));
        assert_eq!(ks.used_memory_bytes(), fresh.used_memory_bytes());
        ks.insert(Bytes::from_static(b"k"), s("3"), None);
        assert_eq!(ks.expires_count(), 0);
        ks.remove(b"k");
        assert_eq!(ks.used_memory_bytes(), 0);
    }
}
