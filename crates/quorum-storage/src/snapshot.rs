//! `SnapshotStore`: one Raft group's snapshot files, written atomically and checksummed.
//!
//! File format (little-endian): magic `QSNP`, format version (u32), id length (u32), meta length
//! (u32), data length uncompressed (u64), data length compressed (u64), id, meta, lz4 block of
//! data, then a CRC32 of everything before it. Files are `snapshot-<seq>.snap` with a sequence
//! number that only grows, so "newest" never depends on clocks or on the caller's id format.
//! It does not interpret `meta` or `data`, and it keeps only the newest snapshot.

use std::fs;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::sync_mark::{sync_dir, write_durably};
use crate::StorageError;

const MAGIC: &[u8; 4] = b"QSNP";
const FORMAT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 4 + 4 + 4 + 4 + 8 + 8;
const CRC_BYTES: usize = 4;
/// lz4 cannot expand data more than 255 times; a larger claimed ratio is corruption.
const LZ4_RATIO_MAX: u64 = 255;
const FILE_PREFIX: &str = "snapshot-";
const FILE_SUFFIX: &str = ".snap";
const TEMP_SUFFIX: &str = ".snap.tmp";

/// A snapshot read back by [`SnapshotStore::load_latest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedSnapshot {
    /// The id given to [`SnapshotStore::save`].
    pub id: String,
    /// Caller metadata (e.g. the encoded Raft snapshot meta).
    pub meta: Vec<u8>,
    /// The state-machine image, decompressed.
    pub data: Vec<u8>,
    /// The file it came from.
    pub path: PathBuf,
}

/// The snapshot directory of one group. Blocking; saves and loads are serialized.
#[derive(Debug)]
pub struct SnapshotStore {
    dir: PathBuf,
    /// Sequence number of the newest file on disk (0 if none). Held by every save and load: a
    /// load must not take a save's temp file for a crash leftover and delete it, and a save must
    /// not delete the file a load is reading (a leader streams its newest snapshot to followers
    /// while it builds the next one).
    newest_seq: Mutex<u64>,
}

impl SnapshotStore {
    /// Opens (creating if needed) the directory and removes temp files left by a crash mid-save.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        fs::create_dir_all(dir).map_err(|e| StorageError::io("create directory", dir, e))?;
        let store = SnapshotStore {
            dir: dir.to_path_buf(),
            newest_seq: Mutex::new(0),
        };
        let files = store.scan_and_clean()?;
        *store.newest_seq.lock() = files.last().map_or(0, |(seq, _)| *seq);
        Ok(store)
    }

    /// Writes a new snapshot durably (temp file, fsync, rename, directory fsync), then deletes
    /// older ones. When it returns, a crash leaves this snapshot as the newest.
    pub fn save(&self, id: &str, meta: &[u8], data: &[u8]) -> Result<(), StorageError> {
        let mut newest = self.newest_seq.lock();
        let seq = *newest + 1;
        let bytes = encode(id, meta, data)?;
        let path = self.dir.join(file_name(seq, FILE_SUFFIX));
        write_durably(&self.dir.join(file_name(seq, TEMP_SUFFIX)), &path, &bytes)?;
        *newest = seq;
        let mut removed = false;
        for (old_seq, old_path) in self.scan_and_clean()? {
            if old_seq < seq {
                fs::remove_file(&old_path).map_err(|e| StorageError::io("remove", &old_path, e))?;
                removed = true;
            }
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Returns the newest snapshot, `None` if there is none. A newest file that is corrupt is an
    /// error naming it: falling back to an older one would silently rewind the state.
    pub fn load_latest(&self) -> Result<Option<LoadedSnapshot>, StorageError> {
        let _no_save_meanwhile = self.newest_seq.lock();
        let files = self.scan_and_clean()?;
        let Some((_, path)) = files.last() else {
            return Ok(None);
        };
        let bytes = fs::read(path).map_err(|e| StorageError::io("read", path, e))?;
        let (id, meta, data) = decode(&bytes).map_err(|detail| StorageError::CorruptFile {
            path: path.clone(),
            detail,
        })?;
        Ok(Some(LoadedSnapshot {
            id,
            meta,
            data,
            path: path.clone(),
        }))
    }

    /// Lists snapshot files oldest first, deleting temp leftovers on the way. Callers hold
    /// `newest_seq` (or have the store to themselves, in `open`), so no save is in progress.
    fn scan_and_clean(&self) -> Result<Vec<(u64, PathBuf)>, StorageError> {
        let read_dir =
            fs::read_dir(&self.dir).map_err(|e| StorageError::io("list", &self.dir, e))?;
        let mut files = Vec::new();
        for dir_entry in read_dir {
            let dir_entry = dir_entry.map_err(|e| StorageError::io("list", &self.dir, e))?;
            let name = dir_entry.file_name().to_string_lossy().into_owned();
            let path = dir_entry.path();
            if name.starts_with(FILE_PREFIX) && name.ends_with(TEMP_SUFFIX) {
                fs::remove_file(&path).map_err(|e| StorageError::io("remove temp", &path, e))?;
            } else if let Some(seq) = parse_seq(&name) {
                files.push((seq, path));
            }
        }
        files.sort_unstable();
        Ok(files)
    }
}

fn file_name(seq: u64, suffix: &str) -> String {
    format!("{FILE_PREFIX}{seq:020}{suffix}")
}

fn parse_seq(name: &str) -> Option<u64> {
    name.strip_prefix(FILE_PREFIX)?
        .strip_suffix(FILE_SUFFIX)?
        .parse()
        .ok()
}

fn encode(id: &str, meta: &[u8], data: &[u8]) -> Result<Vec<u8>, StorageError> {
    let too_big =
        |what: &str| StorageError::InvalidArgument(format!("snapshot {what} exceeds 4 GiB"));
    let id_len = u32::try_from(id.len()).map_err(|_| too_big("id"))?;
    let meta_len = u32::try_from(meta.len()).map_err(|_| too_big("meta"))?;
    let compressed = lz4_flex::block::compress(data);
    let mut out =
        Vec::with_capacity(HEADER_BYTES + id.len() + meta.len() + compressed.len() + CRC_BYTES);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&id_len.to_le_bytes());
    out.extend_from_slice(&meta_len.to_le_bytes());
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    out.extend_from_slice(&(compressed.len() as u64).to_le_bytes());
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(meta);
    out.extend_from_slice(&compressed);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes a snapshot file; every length is checked against the file size before it is used.
fn decode(bytes: &[u8]) -> Result<(String, Vec<u8>, Vec<u8>), String> {
    if bytes.len() < HEADER_BYTES + CRC_BYTES {
        return Err(format!("{} bytes is shorter than a header", bytes.len()));
    }
    if &bytes[..4] != MAGIC {
        return Err("not a quorum snapshot (bad magic)".to_owned());
    }
    let (body, crc) = bytes.split_at(bytes.len() - CRC_BYTES);
    let stored_crc = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
    if crc32fast::hash(body) != stored_crc {
        return Err("checksum mismatch".to_owned());
    }
    let u32_at = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().expect("8 bytes"));
    let version = u32_at(4);
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}, this build reads {FORMAT_VERSION}"
        ));
    }
    let id_len = u32_at(8) as u64;
    let meta_len = u32_at(12) as u64;
    let data_len = u64_at(16);
    let compressed_len = u64_at(24);
    let payload_len = (body.len() - HEADER_BYTES) as u64;
    if id_len + meta_len + compressed_len != payload_len {
        return Err(format!(
            "lengths id {id_len} + meta {meta_len} + data {compressed_len} != payload {payload_len}"
        ));
    }
    if data_len > compressed_len.saturating_mul(LZ4_RATIO_MAX) + 16 {
        return Err(format!(
            "claims {data_len} bytes from {compressed_len} compressed"
        ));
    }
    let (id, rest) = body[HEADER_BYTES..].split_at(id_len as usize);
    let (meta, compressed) = rest.split_at(meta_len as usize);
    let id = String::from_utf8(id.to_vec()).map_err(|_| "id is not UTF-8".to_owned())?;
    let data = lz4_flex::block::decompress(compressed, data_len as usize)
        .map_err(|e| format!("lz4: {e}"))?;
    if data.len() as u64 != data_len {
        return Err(format!(
            "data is {} bytes, header says {data_len}",
            data.len()
        ));
    }
    Ok((id, meta.to_vec(), data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let bytes = encode("1-2-3", b"meta", &[7u8; 300]).unwrap();
        assert_eq!(
            decode(&bytes).unwrap(),
            ("1-2-3".to_owned(), b"meta".to_vec(), vec![7u8; 300])
        );
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                assert!(
                    decode(&flipped).is_err(),
                    "flip of bit {bit} at byte {i} accepted"
                );
            }
        }
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "truncation to {len} accepted"
            );
        }
    }
}
