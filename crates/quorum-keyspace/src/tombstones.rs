//! [`Tombstones`]: when recently deleted keys were deleted, so that WATCH sees a key that
//! was created and deleted (or deleted and re-created) between WATCH and EXEC as changed,
//! as Redis does.
//!
//! An absent key's version is its tombstone's (the log index of its deletion) or, without
//! one, the `floor`: every deletion at or below the floor has been forgotten. The record is
//! bounded ([`TOMBSTONES_MAX`]): the oldest deletions are forgotten first and raise the floor,
//! which can only make a WATCH of an absent key abort spuriously, never miss a change.
//! Everything here is a function of the applied log, and it is in snapshots.
//!
//! Not here: live keys' versions (`Entry::version`).

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

/// Most deletions remembered per database.
pub const TOMBSTONES_MAX: usize = 65_536;

/// Recent deletions of one database.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tombstones {
    /// Key -> log index of its latest remembered deletion.
    by_key: HashMap<Bytes, u64>,
    /// Deletions in log order, oldest first (an entry whose key was deleted again later is
    /// stale and skipped when it leaves).
    order: VecDeque<(u64, Bytes)>,
    /// Deletions at or below this index may have been forgotten.
    floor: u64,
}

impl Tombstones {
    /// The version of an absent `key`: its deletion's index, or the floor.
    pub fn version(&self, key: &[u8]) -> u64 {
        self.by_key.get(key).copied().unwrap_or(self.floor)
    }

    /// Records that `key` was deleted by the write with index `version`.
    pub fn record(&mut self, key: Bytes, version: u64) {
        self.by_key.insert(key.clone(), version);
        self.order.push_back((version, key));
        while self.order.len() > TOMBSTONES_MAX {
            let Some((oldest, key)) = self.order.pop_front() else {
                break;
            };
            if self.by_key.get(&key) == Some(&oldest) {
                self.by_key.remove(&key);
            }
            self.floor = self.floor.max(oldest);
        }
    }

    /// Forgets every deletion: every absent key now has version `version` (FLUSHDB, SWAPDB).
    pub fn reset(&mut self, version: u64) {
        self.by_key.clear();
        self.order.clear();
        self.floor = self.floor.max(version);
    }

    /// Appends the snapshot encoding: floor, then the deletions in order, each with whether
    /// it is its key's current tombstone.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.floor.to_le_bytes());
        out.extend_from_slice(&(self.order.len() as u64).to_le_bytes());
        for (version, key) in &self.order {
            out.extend_from_slice(&version.to_le_bytes());
            out.push(u8::from(self.by_key.get(key) == Some(version)));
            out.extend_from_slice(&(key.len() as u64).to_le_bytes());
            out.extend_from_slice(key);
        }
    }

    /// Rebuilds from [`Tombstones::encode`]'s parts (the reader checks lengths).
    pub(crate) fn from_parts(floor: u64, order: Vec<(u64, bool, Bytes)>) -> Self {
        let mut tombstones = Tombstones {
            floor,
            ..Tombstones::default()
        };
        for (version, current, key) in order {
            if current {
                tombstones.by_key.insert(key.clone(), version);
            }
            tombstones.order.push_back((version, key));
        }
        tombstones
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_keys_take_their_deletion_or_the_floor_and_the_record_stays_bounded() {
        let mut t = Tombstones::default();
        assert_eq!(t.version(b"k"), 0);
        t.record(Bytes::from_static(b"k"), 7);
        assert_eq!(t.version(b"k"), 7);
        t.record(Bytes::from_static(b"k"), 9);
        assert_eq!(t.version(b"k"), 9);
        for i in 0..TOMBSTONES_MAX as u64 {
            t.record(Bytes::from(format!("x{i}")), 10 + i);
        }
        assert!(t.order.len() <= TOMBSTONES_MAX);
        // `k`'s deletions were the oldest: forgotten, and the floor passed them.
        assert!(t.version(b"k") >= 9);
        assert_eq!(t.version(b"never"), t.floor);
        t.reset(1_000_000);
        assert_eq!(t.version(b"x5"), 1_000_000);
    }
}
