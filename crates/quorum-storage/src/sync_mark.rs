//! The sync-mark file: for each group, an index that is known to have been fsynced in the log.
//!
//! It lives next to the log, outside raft-engine, on purpose: raft-engine truncates its active
//! file at the first bad record it finds on recovery, and any guard written *inside* that file
//! after the bad record would be truncated with it. A guard outside the log survives, so after
//! recovery "log ends before the mark" proves that synced data was lost (see the crate docs).
//! It is rewritten atomically (temp file, fsync, rename, directory fsync), at most once per
//! configured interval when raised, and at once when lowered (before a truncation is written).
//! It is not a general metadata store: Raft metadata goes through `LogEngine::put_meta`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{GroupId, StorageError};

const MAGIC: &[u8; 8] = b"QSYNCMK1";
const FILE_NAME: &str = "sync-marks";
const TEMP_FILE_NAME: &str = "sync-marks.tmp";
/// Bytes of one `(group, index)` record.
const RECORD_BYTES: usize = 16;

/// In-memory copy of the sync-mark file plus its write schedule.
#[derive(Debug)]
pub(crate) struct SyncMarks {
    dir: PathBuf,
    marks: BTreeMap<GroupId, u64>,
    dirty: bool,
    last_persist: Option<Instant>,
    epoch: u64,
}

impl SyncMarks {
    /// Reads the marks under `dir` (none if the file does not exist yet); removes a leftover temp file.
    pub(crate) fn load(dir: &Path) -> Result<Self, StorageError> {
        let temp = dir.join(TEMP_FILE_NAME);
        if temp.exists() {
            fs::remove_file(&temp).map_err(|e| StorageError::io("remove", &temp, e))?;
        }
        let path = dir.join(FILE_NAME);
        let marks = match fs::read(&path) {
            Ok(bytes) => decode(&bytes).map_err(|detail| StorageError::CorruptFile {
                path: path.clone(),
                detail,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(StorageError::io("read", &path, e)),
        };
        Ok(SyncMarks {
            dir: dir.to_path_buf(),
            marks,
            dirty: false,
            last_persist: None,
            epoch: 0,
        })
    }

    /// All marks, by group.
    pub(crate) fn marks(&self) -> &BTreeMap<GroupId, u64> {
        &self.marks
    }

    /// Counts lowerings; a sync that saw an older value must not raise marks (see `LogEngine::sync`).
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Records that `group`'s log up to `index` has been synced.
    pub(crate) fn raise(&mut self, group: GroupId, index: u64) {
        let mark = self.marks.entry(group).or_insert_with(|| {
            self.dirty = true;
            index
        });
        if index > *mark {
            *mark = index;
            self.dirty = true;
        }
    }

    /// Lowers `group`'s mark below `index_from` and persists at once, so that a truncation written
    /// afterwards can never be mistaken for data loss. `first` is the log's first index: when the
    /// truncation empties the log, the mark goes away (an empty log reaches no index).
    pub(crate) fn lower_below(
        &mut self,
        group: GroupId,
        index_from: u64,
        first: u64,
    ) -> Result<(), StorageError> {
        self.epoch += 1;
        match self.marks.get(&group).copied() {
            Some(mark) if mark >= index_from => {
                if index_from <= first {
                    self.marks.remove(&group);
                } else {
                    self.marks.insert(group, index_from - 1);
                }
                self.persist()
            }
            _ => Ok(()),
        }
    }

    /// Persists if something changed and the last write is older than `interval`.
    pub(crate) fn persist_if_due(&mut self, interval: Duration) -> Result<(), StorageError> {
        let due = self.last_persist.is_none_or(|at| at.elapsed() >= interval);
        if self.dirty && due {
            self.persist()?;
        }
        Ok(())
    }

    /// Writes the marks atomically and durably.
    pub(crate) fn persist(&mut self) -> Result<(), StorageError> {
        let temp = self.dir.join(TEMP_FILE_NAME);
        let path = self.dir.join(FILE_NAME);
        write_durably(&temp, &path, &encode(&self.marks))?;
        self.dirty = false;
        self.last_persist = Some(Instant::now());
        Ok(())
    }
}

/// Writes `bytes` to `temp`, fsyncs, renames over `path` and fsyncs the directory.
pub(crate) fn write_durably(temp: &Path, path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let mut file = fs::File::create(temp).map_err(|e| StorageError::io("create", temp, e))?;
    file.write_all(bytes)
        .map_err(|e| StorageError::io("write", temp, e))?;
    file.sync_all()
        .map_err(|e| StorageError::io("fsync", temp, e))?;
    drop(file);
    fs::rename(temp, path).map_err(|e| StorageError::io("rename", temp, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Fsyncs a directory so that a rename or delete inside it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StorageError::io("fsync directory", dir, e))
}

fn encode(marks: &BTreeMap<GroupId, u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + marks.len() * RECORD_BYTES + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(marks.len() as u32).to_le_bytes());
    for (group, index) in marks {
        out.extend_from_slice(&group.to_le_bytes());
        out.extend_from_slice(&index.to_le_bytes());
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn decode(bytes: &[u8]) -> Result<BTreeMap<GroupId, u64>, String> {
    let header = MAGIC.len() + 4;
    if bytes.len() < header + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("bad magic or too short".to_owned());
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
    if crc32fast::hash(body) != stored {
        return Err("checksum mismatch".to_owned());
    }
    let count = u32::from_le_bytes(body[MAGIC.len()..header].try_into().expect("4 bytes")) as usize;
    let records = &body[header..];
    if records.len() != count.saturating_mul(RECORD_BYTES) {
        return Err(format!(
            "{count} records do not fit {} bytes",
            records.len()
        ));
    }
    Ok(records
        .chunks_exact(RECORD_BYTES)
        .map(|r| {
            let group = u64::from_le_bytes(r[..8].try_into().expect("8 bytes"));
            let index = u64::from_le_bytes(r[8..].try_into().expect("8 bytes"));
            (group, index)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_and_reject_flips() {
        let marks: BTreeMap<_, _> = [(1, 10), (u64::MAX - 1, 3)].into_iter().collect();
        let bytes = encode(&marks);
        assert_eq!(decode(&bytes).unwrap(), marks);
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assert!(decode(&flipped).is_err(), "flip at {i} accepted");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
