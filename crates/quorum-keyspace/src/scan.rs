//! SCAN cursors and RANDOMKEY over the keyspace's content-ordered index.
//!
//! Keys are ordered by `(scan_hash(key), key)`, where `scan_hash` is a fixed function (not
//! seeded) so that every replica, and every restart, agrees on the order. A cursor is the hash
//! at which the next page starts, which gives Redis's guarantees: a key present for the whole
//! iteration sits at a fixed position, so it is returned exactly once; cursor 0 starts and a
//! returned 0 ends; a page costs O(count · log n) whatever the keyspace size.
//!
//! Not here: MATCH and TYPE filters and expiry filtering (the SCAN command applies them to
//! each page, as Redis does after collecting a page).

use bytes::Bytes;

use crate::keyspace::{Entry, Keyspace};

/// One page of a SCAN iteration.
#[derive(Debug)]
pub struct ScanPage<'a> {
    /// The cursor to pass next; 0 when the iteration is complete.
    pub cursor: u64,
    /// The entries visited by this page, expired ones included.
    pub entries: Vec<(&'a Bytes, &'a Entry)>,
}

/// The fixed position of `key` in SCAN order: FNV-1a, then a SplitMix64 finaliser to spread
/// similar keys. Never 0, so that a returned cursor of 0 always means "done".
pub(crate) fn scan_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix64(h).max(1)
}

/// SplitMix64's finaliser: a bijection on u64 with good avalanche.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Keyspace {
    /// Visits about `count` keys starting at `cursor` (at least one when any remain). Keys
    /// sharing one hash are returned in the same page so that a cursor never splits them.
    pub fn scan(&self, cursor: u64, count: usize) -> ScanPage<'_> {
        let count = count.max(1);
        let mut entries = Vec::with_capacity(count.min(1024));
        let mut last_hash = None;
        for (hash, key) in self.scan_order.range((cursor, Bytes::new())..) {
            if entries.len() >= count && last_hash != Some(*hash) {
                return ScanPage {
                    cursor: *hash,
                    entries,
                };
            }
            last_hash = Some(*hash);
            if let Some(entry) = self.entries.get(key) {
                entries.push((key, entry));
            }
        }
        ScanPage { cursor: 0, entries }
    }

    /// A live key chosen by `seed` (decided on the leader, so replicas agree), or `None` when
    /// no live key exists. Keys are picked by position in SCAN order, so the choice is
    /// uniform enough for RANDOMKEY's purposes, not exactly uniform.
    pub fn random_key(&self, seed: u64, now_ms: u64) -> Option<Bytes> {
        // A few random probes, then a walk, so a keyspace full of expired keys still
        // answers (Redis gives up after 100 probes on a replica in a similar way).
        let mut state = seed;
        for _ in 0..16 {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let start = mix64(state);
            let found = self
                .scan_order
                .range((start, Bytes::new())..)
                .chain(self.scan_order.iter())
                .take(8)
                .find(|(_, key)| self.contains(key, now_ms));
            if let Some((_, key)) = found {
                return Some(key.clone());
            }
        }
        self.iter_live(now_ms).next().map(|(key, _)| key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use std::collections::BTreeSet;

    fn keyspace(n: usize) -> Keyspace {
        let mut ks = Keyspace::new();
        for i in 0..n {
            let key = Bytes::from(format!("key:{i}"));
            ks.insert(key, Value::Str(Bytes::from_static(b"v")), None);
        }
        ks
    }

    #[test]
    fn full_iteration_returns_every_key_once_and_ends_at_zero() {
        let ks = keyspace(1000);
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut pages = 0;
        loop {
            let page = ks.scan(cursor, 10);
            assert!(page.entries.len() <= 11);
            seen.extend(page.entries.iter().map(|(k, _)| (*k).clone()));
            pages += 1;
            cursor = page.cursor;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(pages, 100);
        let unique: BTreeSet<_> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), 1000);
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn keys_present_throughout_survive_concurrent_changes() {
        let mut ks = keyspace(200);
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let page = ks.scan(cursor, 7);
            seen.extend(page.entries.iter().map(|(k, _)| (*k).clone()));
            cursor = page.cursor;
            // Churn: add and remove keys that are not part of the stable set.
            ks.insert(
                Bytes::from(format!("new:{round}")),
                Value::Str(Bytes::new()),
                None,
            );
            ks.remove(format!("new:{}", round / 2).as_bytes());
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..200 {
            assert!(seen.contains(format!("key:{i}").as_bytes()));
        }
    }

    #[test]
    fn random_key_is_deterministic_and_skips_expired() {
        let mut ks = keyspace(50);
        assert_eq!(ks.random_key(7, 0), ks.random_key(7, 0));
        assert!(ks.random_key(7, 0).is_some());
        ks.clear();
        ks.insert(
            Bytes::from_static(b"dead"),
            Value::Str(Bytes::new()),
            Some(5),
        );
        assert_eq!(ks.random_key(1, 10), None);
        assert_eq!(ks.random_key(1, 4), Some(Bytes::from_static(b"dead")));
    }
}
