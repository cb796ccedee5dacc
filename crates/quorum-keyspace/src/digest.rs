//! `DEBUG DIGEST`: a fingerprint of the whole keyspace that replicas at the same applied index
//! must share (the chaos checker's replica-divergence test relies on it).
//!
//! Like Redis, the digest is order-independent: each key's SHA-1 over its name, type, value
//! and deadline is XORed into the total, so neither the map's iteration order nor the order
//! in which keys were written matters. An empty keyspace digests to twenty zero bytes, which
//! Redis prints as forty `0`s. Expired keys not yet removed count: their removal is a
//! replicated write, so replicas agree on them too.

use bytes::Bytes;

use crate::keyspace::{Entry, Keyspace};
use crate::value::Value;

/// Length of a digest in bytes (SHA-1).
pub const DIGEST_BYTES: usize = 20;

impl Keyspace {
    /// The order-independent digest of every entry (see the module docs).
    pub fn digest(&self) -> [u8; DIGEST_BYTES] {
        let mut total = [0u8; DIGEST_BYTES];
        for (key, entry) in &self.entries {
            for (t, k) in total.iter_mut().zip(entry_digest(key, entry)) {
                *t ^= k;
            }
        }
        total
    }

    /// The digest of one key's value and deadline, or `None` when the key does not exist
    /// (`DEBUG DIGEST-VALUE`).
    pub fn key_digest(&self, key: &[u8]) -> Option<[u8; DIGEST_BYTES]> {
        let (key, entry) = self.entries.get_key_value(key)?;
        Some(entry_digest(key, entry))
    }
}

fn entry_digest(key: &Bytes, entry: &Entry) -> [u8; DIGEST_BYTES] {
    let mut sha = sha1_smol::Sha1::new();
    // Length prefixes keep ("ab","c") and ("a","bc") apart.
    sha.update(&(key.len() as u64).to_le_bytes());
    sha.update(key);
    sha.update(entry.value.type_name().as_bytes());
    match &entry.value {
        Value::Str(bytes) => put(&mut sha, bytes),
        Value::List(list) => {
            sha.update(&(list.len() as u64).to_le_bytes());
            list.iter().for_each(|e| put(&mut sha, e));
        }
        Value::ZSet(zset) => {
            sha.update(&(zset.len() as u64).to_le_bytes());
            for (member, score) in zset.iter() {
                put(&mut sha, member);
                sha.update(&score.to_bits().to_le_bytes());
            }
        }
        // Hashes and sets are unordered to their users (replicas agree on the order anyway):
        // XOR of one digest per element, as Redis's DEBUG DIGEST does.
        Value::Hash(hash) => {
            let fields = hash.iter().map(|(f, v)| element_digest(&[f, v]));
            sha.update(&xor_all(hash.len(), fields));
        }
        Value::Set(set) => {
            let members = set.iter().map(|m| element_digest(&[m]));
            sha.update(&xor_all(set.len(), members));
        }
    }
    match entry.expires_at_ms {
        Some(at) => {
            sha.update(b"!!expire!!");
            sha.update(&at.to_le_bytes());
        }
        None => sha.update(b"!!persist!!"),
    }
    sha.digest().bytes()
}

/// Feeds a length-prefixed byte string (length prefixes keep ("ab","c") and ("a","bc") apart).
fn put(sha: &mut sha1_smol::Sha1, bytes: &[u8]) {
    sha.update(&(bytes.len() as u64).to_le_bytes());
    sha.update(bytes);
}

fn element_digest(parts: &[&Bytes]) -> [u8; DIGEST_BYTES] {
    let mut sha = sha1_smol::Sha1::new();
    parts.iter().for_each(|p| put(&mut sha, p));
    sha.digest().bytes()
}

/// The element count followed by the XOR of the element digests.
fn xor_all(
    count: usize,
    digests: impl Iterator<Item = [u8; DIGEST_BYTES]>,
) -> [u8; DIGEST_BYTES + 8] {
    let mut out = [0u8; DIGEST_BYTES + 8];
    out[..8].copy_from_slice(&(count as u64).to_le_bytes());
    for digest in digests {
        for (o, d) in out[8..].iter_mut().zip(digest) {
            *o ^= d;
        }
    }
    out
}

/// Lowercase hex of a digest, as `DEBUG DIGEST` prints it.
pub fn digest_hex(digest: &[u8; DIGEST_BYTES]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_value(s: &str) -> Value {
        Value::Str(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn empty_keyspace_digests_to_zeros() {
        assert_eq!(digest_hex(&Keyspace::new().digest()), "0".repeat(40));
    }

    #[test]
    fn digest_ignores_insertion_order_and_sees_every_difference() {
        let mut a = Keyspace::new();
        a.insert(Bytes::from_static(b"k1"), str_value("v1"), None);
        a.insert(Bytes::from_static(b"k2"), str_value("v2"), Some(10));
        let mut b = Keyspace::new();
        b.insert(Bytes::from_static(b"k2"), str_value("v2"), Some(10));
        b.insert(Bytes::from_static(b"k1"), str_value("v1"), None);
        assert_eq!(a.digest(), b.digest());

        let mut other_value = b.clone();
        other_value.insert(Bytes::from_static(b"k1"), str_value("v1 "), None);
        assert_ne!(a.digest(), other_value.digest());

        let mut other_deadline = b.clone();
        other_deadline.set_expiry(b"k2", Some(11));
        assert_ne!(a.digest(), other_deadline.digest());

        let mut split_differently = Keyspace::new();
        split_differently.insert(Bytes::from_static(b"k"), str_value("1v1"), None);
        assert_ne!(
            split_differently.key_digest(b"k"),
            a.key_digest(b"k1"),
            "length prefixes separate key from value"
        );
        assert_eq!(a.key_digest(b"missing"), None);
    }
}
