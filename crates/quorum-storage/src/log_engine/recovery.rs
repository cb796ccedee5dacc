//! Recovery checks run by `LogEngine::open` (and offered as `check_recovered`): the log must still
//! reach every index known to have been synced, every stored entry must pass its checksum, and a
//! tail that raft-engine cut from the newest file is reported ([`TailCut`], a warning).
//!
//! Why these checks exist and what they cannot see is in the crate docs; this file is not the
//! place where raft-engine replays its files (that happens inside `Engine::open`).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use raft_engine::env::FileSystem;

use super::{LogEngine, VERIFY_CHUNK_ENTRIES};
use crate::{GroupId, StorageError};

/// Bytes read per step while looking for the end of a log file's written part, from its end.
const SCAN_CHUNK_BYTES: u64 = 64 * 1024;

/// Written bytes that recovery removed from the end of the newest log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailCut {
    /// The log file.
    pub file: PathBuf,
    /// Its length after recovery: where the cut starts.
    pub kept_bytes: u64,
    /// Where its written part (everything before the zero padding) ended before recovery.
    pub written_bytes: u64,
}

/// The newest raft-engine file under `log_dir` and where its written part ends, before the
/// engine opens it (raft-engine preallocates with zeros, so the length alone says nothing).
pub(super) fn newest_file_written_end(
    log_dir: &Path,
) -> Result<Option<(PathBuf, u64)>, StorageError> {
    let read_dir = match std::fs::read_dir(log_dir) {
        Ok(read_dir) => read_dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io("list", log_dir, e)),
    };
    let newest = read_dir
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "raftlog"))
        .max();
    let Some(file) = newest else {
        return Ok(None);
    };
    let end = written_end(&file).map_err(|e| StorageError::io("read", &file, e))?;
    Ok(Some((file, end)))
}

/// Compares the newest file after recovery with what [`newest_file_written_end`] saw: raft-engine
/// truncates the file where the first bad record starts, so a file now shorter than its written
/// part lost records. Logs a warning naming the file: the cut is never silent.
pub(super) fn tail_cut(before: Option<(PathBuf, u64)>) -> Result<Option<TailCut>, StorageError> {
    let Some((file, written_bytes)) = before else {
        return Ok(None);
    };
    let kept_bytes = match std::fs::metadata(&file) {
        Ok(meta) => meta.len(),
        // raft-engine deletes a file it found useless; nothing of it was kept.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(StorageError::io("stat", &file, e)),
    };
    if kept_bytes >= written_bytes {
        return Ok(None);
    }
    tracing::warn!(
        file = %file.display(),
        kept_bytes,
        written_bytes,
        "recovery cut a torn or corrupt tail from the newest Raft log file; entries written in \
         the last sync-mark interval before the crash may be gone and are fetched from the leader"
    );
    Ok(Some(TailCut {
        file,
        kept_bytes,
        written_bytes,
    }))
}

/// Offset just after the last non-zero byte of `file`, reading backwards chunk by chunk.
fn written_end(file: &Path) -> std::io::Result<u64> {
    let mut f = File::open(file)?;
    let mut end = f.metadata()?.len();
    let mut chunk = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(SCAN_CHUNK_BYTES);
        chunk.resize((end - start) as usize, 0);
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut chunk)?;
        if let Some(last) = chunk.iter().rposition(|&b| b != 0) {
            return Ok(start + last as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

impl<F: FileSystem> LogEngine<F> {
    /// `group` must still reach `durable_index` (through entries or a purge).
    pub(super) fn check_durable(
        &self,
        group: GroupId,
        durable_index: u64,
        source_of_truth: &'static str,
    ) -> Result<(), StorageError> {
        let recovered_last = self.span(group)?.map(|s| s.1);
        let reach = recovered_last.max(self.purged_to(group)?);
        if reach.is_some_and(|r| r >= durable_index) {
            return Ok(());
        }
        Err(StorageError::DurableDataLost {
            group,
            recovered_last,
            durable_index,
            source_of_truth,
            dir: self.dir.clone(),
        })
    }

    pub(super) fn check_sync_marks(&self) -> Result<(), StorageError> {
        let marks = self.marks.lock().marks().clone();
        for (group, mark) in marks {
            self.check_durable(group, mark, "sync-mark file")?;
        }
        Ok(())
    }

    /// Reads every entry of every group so that checksums are verified now, not on first read.
    /// A bad entry is an error naming the log directory, the group and the entry's index.
    pub(super) fn verify_entries(&self) -> Result<(), StorageError> {
        for group in self.groups() {
            let Some((first, last)) = self.span(group)? else {
                continue;
            };
            let mut start = first;
            while start <= last {
                let end = last
                    .saturating_add(1)
                    .min(start.saturating_add(VERIFY_CHUNK_ENTRIES));
                if let Err(chunk_error) = self.entries(group, start, end) {
                    return Err(self.locate_bad_entry(group, start, end, chunk_error));
                }
                start = end;
            }
        }
        Ok(())
    }

    /// Re-reads `[start, end)` one entry at a time to name the first bad one (only after a
    /// failed read, so the cost does not matter).
    fn locate_bad_entry(
        &self,
        group: GroupId,
        start: u64,
        end: u64,
        chunk_error: StorageError,
    ) -> StorageError {
        let (index, error) = (start..end)
            .find_map(|i| self.entries(group, i, i + 1).err().map(|e| (i, e)))
            .map_or((None, chunk_error), |(i, e)| (Some(i), e));
        let detail = match error {
            StorageError::Engine { source, .. } => source.to_string(),
            StorageError::CorruptEntry { detail, .. } => detail,
            other => other.to_string(),
        };
        let at = index.map_or(format!("entries [{start}, {end})"), |i| {
            format!("entry {i}")
        });
        StorageError::CorruptLog {
            dir: self.dir.join(super::LOG_DIR_NAME),
            detail: format!("group {group}, {at}: {detail}"),
        }
    }
}
