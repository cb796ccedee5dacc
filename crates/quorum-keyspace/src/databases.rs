//! [`Databases`]: the numbered databases of one shard (Redis's `SELECT 0..N`), each a
//! [`Keyspace`], and their snapshot encoding.
//!
//! Databases come into being when a write first uses them, so the state is a function of the
//! log alone: nodes configured with different `--databases` still hold identical state (the
//! flag bounds what clients may SELECT on a node; [`DATABASES_MAX`] bounds the state).
//!
//! ```text
//! magic "QDB" | version u8 (1) | count u32 | (db u32 | len u64 | keyspace snapshot)*
//! ```
//! Only databases with keys or remembered deletions are written, in ascending order.
//!
//! Not here: which database a connection uses (the server's session).

use crate::keyspace::Keyspace;
use crate::snapshot::SnapshotDecodeError;

/// Most databases a shard can hold (Redis's `databases` has no hard limit; 1024 keeps a
/// replica's empty databases to a few hundred kilobytes).
pub const DATABASES_MAX: u32 = 1024;

const MAGIC: &[u8; 3] = b"QDB";
const FORMAT_VERSION: u8 = 1;

/// The numbered databases.
#[derive(Debug, Default, Clone)]
pub struct Databases {
    dbs: Vec<Keyspace>,
    write_version: u64,
}

impl Databases {
    /// No data in any database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Database `db`, or `None` when nothing was ever written to it (it reads as empty).
    pub fn get(&self, db: u32) -> Option<&Keyspace> {
        self.dbs.get(db as usize)
    }

    /// Database `db` for writing, created empty if needed. `db` must be below
    /// [`DATABASES_MAX`]: callers check client input first.
    pub fn get_mut(&mut self, db: u32) -> &mut Keyspace {
        assert!(db < DATABASES_MAX, "database {db} is out of range");
        let index = db as usize;
        if self.dbs.len() <= index {
            self.dbs.resize_with(index + 1, Keyspace::new);
        }
        let ks = &mut self.dbs[index];
        ks.set_write_version(self.write_version);
        ks
    }

    /// Sets the version stamped on keys changed from now on, in every database.
    pub fn set_write_version(&mut self, version: u64) {
        self.write_version = version;
        self.dbs
            .iter_mut()
            .for_each(|ks| ks.set_write_version(version));
    }

    /// Every database that exists, with its number (empty ones included).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Keyspace)> {
        self.dbs.iter().enumerate().map(|(i, ks)| (i as u32, ks))
    }

    /// Mutable access to every database that exists.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut Keyspace)> {
        self.dbs
            .iter_mut()
            .enumerate()
            .map(|(i, ks)| (i as u32, ks))
    }

    /// Swaps the contents of two databases (SWAPDB). Both must be below [`DATABASES_MAX`].
    pub fn swap(&mut self, a: u32, b: u32) {
        self.get_mut(a.max(b));
        self.dbs.swap(a as usize, b as usize);
    }

    /// Keys in all databases.
    pub fn key_count(&self) -> usize {
        self.dbs.iter().map(Keyspace::len).sum()
    }

    /// Memory charged in all databases.
    pub fn used_memory_bytes(&self) -> usize {
        self.dbs.iter().map(Keyspace::used_memory_bytes).sum()
    }

    /// Appends the snapshot encoding of every non-empty database.
    pub fn encode_snapshot(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        // A database without keys still has state when it remembers deletions (WATCH).
        let non_empty: Vec<(u32, &Keyspace)> = self
            .iter()
            .filter(|(_, ks)| !ks.is_empty() || ks.has_tombstones())
            .collect();
        out.extend_from_slice(&(non_empty.len() as u32).to_le_bytes());
        for (db, ks) in non_empty {
            out.extend_from_slice(&db.to_le_bytes());
            let len_at = out.len();
            out.extend_from_slice(&0u64.to_le_bytes());
            ks.encode_snapshot(out);
            let len = (out.len() - len_at - 8) as u64;
            out[len_at..len_at + 8].copy_from_slice(&len.to_le_bytes());
        }
    }

    /// Decodes [`Databases::encode_snapshot`]'s bytes, which may come from a peer or a disk.
    pub fn decode_snapshot(bytes: &[u8]) -> Result<Databases, SnapshotDecodeError> {
        let truncated = |offset| SnapshotDecodeError::Truncated { offset };
        if bytes.len() < 8 || &bytes[..3] != MAGIC {
            return Err(SnapshotDecodeError::BadMagic);
        }
        if bytes[3] != FORMAT_VERSION {
            return Err(SnapshotDecodeError::UnsupportedVersion(bytes[3]));
        }
        let count = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        let mut pos = 8;
        let mut dbs = Databases::new();
        let mut previous: Option<u32> = None;
        for _ in 0..count {
            let header = bytes.get(pos..pos + 12).ok_or(truncated(pos))?;
            let db = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
            let len = u64::from_le_bytes(header[4..].try_into().expect("8 bytes"));
            if db >= DATABASES_MAX || previous.is_some_and(|p| p >= db) {
                return Err(SnapshotDecodeError::BadTag {
                    what: "database number",
                    tag: (db & 0xff) as u8,
                    offset: pos,
                });
            }
            previous = Some(db);
            pos += 12;
            let end = usize::try_from(len)
                .ok()
                .and_then(|len| pos.checked_add(len))
                .filter(|&end| end <= bytes.len())
                .ok_or(truncated(pos))?;
            *dbs.get_mut(db) = Keyspace::decode_snapshot(&bytes[pos..end])?;
            pos = end;
        }
        match bytes.len() - pos {
            0 => Ok(dbs),
            n => Err(SnapshotDecodeError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::Value;

    #[test]
    fn databases_grow_on_write_and_round_trip_through_snapshots() {
        let mut dbs = Databases::new();
        assert!(dbs.get(3).is_none());
        dbs.set_write_version(7);
        dbs.get_mut(3).insert(
            Bytes::from_static(b"k"),
            Value::Str(Bytes::from_static(b"v")),
            None,
        );
        dbs.get_mut(0).insert(
            Bytes::from_static(b"a"),
            Value::Str(Bytes::from_static(b"b")),
            Some(9),
        );
        assert_eq!(dbs.get(3).unwrap().get(b"k", 0).unwrap().version, 7);
        dbs.swap(0, 5);
        assert!(dbs.get(0).unwrap().is_empty());
        assert_eq!(dbs.key_count(), 2);

        let mut bytes = Vec::new();
        dbs.encode_snapshot(&mut bytes);
        let decoded = Databases::decode_snapshot(&bytes).unwrap();
        let mut again = Vec::new();
        decoded.encode_snapshot(&mut again);
        assert_eq!(again, bytes);
        assert_eq!(
            decoded.get(5).unwrap().get(b"a", 0).unwrap().expires_at_ms,
            Some(9)
        );
        for cut in 0..bytes.len() {
            assert!(
                Databases::decode_snapshot(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }
}
