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
/// The most bytes of the newest file's written part kept in memory before recovery, to judge a
/// cut afterwards (raft-engine truncates the file, so the cut bytes are gone once it opened). A
/// cut that starts further back than this is reported but cannot be judged.
pub(super) const TAIL_KEEP_BYTES: u64 = 32 << 20;
/// A raft-engine (format V2) file header: magic, version, alignment.
const FILE_HEADER_BYTES: u64 = 53 + 8 + 8;
/// A raft-engine write-batch header: `{ u56 len | u8 compression | u64 item offset }`, big-endian.
const BATCH_HEADER_BYTES: u64 = 16;
/// The unit a disk writes whole: a write that never reached the disk reads back as whole
/// sectors of zeros (raft-engine preallocates its file; unwritten extents read as zeros).
const SECTOR_BYTES: u64 = 512;

/// What recovery cut from the end of the newest log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailCut {
    /// The log file.
    pub file: PathBuf,
    /// Its length after recovery: where the cut starts.
    pub kept_bytes: u64,
    /// Where its written part (everything before the zero padding) ended before recovery.
    pub written_bytes: u64,
    /// Whether the first cut record looks torn by a crash or damaged after it was written.
    pub damage: TailDamage,
}

/// The verdict on the first record recovery cut (the one that failed; the rest follow it).
///
/// A crash, even a power cut, leaves the last record *short*: the file ends before the end
/// its header declares, or sectors of it read back as zeros (never written). A record that is
/// all there, non-zero, and still fails its checksum was written whole and damaged afterwards
/// (a bit flip, a bad sector): the records cut with it may have been synced and acknowledged,
/// so the node must not serve or vote with that log. This is etcd's torn-write rule for its WAL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailDamage {
    /// A torn write: only unsynced bytes can be lost this way. Why it looks torn.
    Torn(String),
    /// Damage to a record written whole. What is wrong with it.
    Corrupt(String),
    /// The cut starts before the bytes kept for judging ([`TAIL_KEEP_BYTES`]), or the file
    /// is gone.
    Unjudged,
}

/// The newest raft-engine file as it was before recovery: where its written part ended, and
/// the last bytes of that part (at most [`TAIL_KEEP_BYTES`]) to judge a cut by.
pub(super) struct NewestFile {
    file: PathBuf,
    written_bytes: u64,
    /// The file offset of `tail[0]`.
    tail_start: u64,
    tail: Vec<u8>,
}

/// The newest raft-engine file under `log_dir`, read before the engine opens it (raft-engine
/// preallocates with zeros, so the length alone says nothing of what was written).
pub(super) fn newest_file_before_recovery(
    log_dir: &Path,
) -> Result<Option<NewestFile>, StorageError> {
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
    let read_tail = || -> std::io::Result<NewestFile> {
        let written_bytes = written_end(&file)?;
        let tail_start = written_bytes.saturating_sub(TAIL_KEEP_BYTES);
        let mut tail = vec![0; (written_bytes - tail_start) as usize];
        let mut f = File::open(&file)?;
        f.seek(SeekFrom::Start(tail_start))?;
        f.read_exact(&mut tail)?;
        Ok(NewestFile {
            file: file.clone(),
            written_bytes,
            tail_start,
            tail,
        })
    };
    read_tail()
        .map(Some)
        .map_err(|e| StorageError::io("read", &file, e))
}

/// Compares the newest file after recovery with what [`newest_file_before_recovery`] saw:
/// raft-engine truncates the file where the first bad record starts, so a file now shorter than
/// its written part lost records. Judges the first cut record ([`TailDamage`]) and logs a
/// warning naming the file: the cut is never silent.
pub(super) fn tail_cut(before: Option<NewestFile>) -> Result<Option<TailCut>, StorageError> {
    let Some(NewestFile {
        file,
        written_bytes,
        tail_start,
        tail,
    }) = before
    else {
        return Ok(None);
    };
    let (kept_bytes, deleted) = match std::fs::metadata(&file) {
        Ok(meta) => (meta.len(), false),
        // A file raft-engine removed for reasons of its own: nothing of it was kept, and
        // there is no first bad record to judge.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, true),
        Err(e) => return Err(StorageError::io("stat", &file, e)),
    };
    if kept_bytes >= written_bytes {
        return Ok(None);
    }
    let damage = match kept_bytes.checked_sub(tail_start) {
        Some(from) if !deleted => judge_cut(kept_bytes, &tail[from as usize..]),
        _ => TailDamage::Unjudged,
    };
    tracing::warn!(
        file = %file.display(),
        kept_bytes,
        written_bytes,
        ?damage,
        "recovery cut a torn or corrupt tail from the newest Raft log file; entries written in \
         the last sync-mark interval before the crash may be gone and are fetched from the leader"
    );
    Ok(Some(TailCut {
        file,
        kept_bytes,
        written_bytes,
        damage,
    }))
}

/// Judges the first cut record, which starts at file offset `at`; `cut` holds the written
/// bytes from there to the end of the file's written part.
pub(super) fn judge_cut(at: u64, cut: &[u8]) -> TailDamage {
    let available = cut.len() as u64;
    let header_bytes = if at == 0 {
        FILE_HEADER_BYTES
    } else {
        BATCH_HEADER_BYTES
    };
    if available < header_bytes {
        return TailDamage::Torn(format!(
            "the written part ends {available} bytes into a {header_bytes}-byte header"
        ));
    }
    let declared = if at == 0 {
        Some(FILE_HEADER_BYTES)
    } else {
        let len_and_type = u64::from_be_bytes(cut[..8].try_into().expect("8 bytes"));
        Some(len_and_type >> 8).filter(|len| *len >= BATCH_HEADER_BYTES)
    };
    if let Some(len) = declared.filter(|len| *len > available) {
        return TailDamage::Torn(format!(
            "the written part ends {} bytes before the end of the {len}-byte record",
            len - available
        ));
    }
    // An unreadable length: judge the header alone.
    let record = &cut[..declared.unwrap_or(header_bytes) as usize];
    if let Some((from, to)) = zero_piece(at, record) {
        return TailDamage::Torn(format!(
            "bytes {from}..{to} of the {}-byte record read as zeros: never written",
            record.len()
        ));
    }
    TailDamage::Corrupt(match declared {
        Some(len) => format!(
            "the {len}-byte record at byte {at} was written whole (no zero sectors) but fails \
             its checksum"
        ),
        None => format!("the record header at byte {at} is invalid and not zeros"),
    })
}

/// A part of `record` (which starts at file offset `at`) within one disk sector that reads as
/// zeros and is long enough to mean a lost write rather than zero bytes in the data: a whole
/// sector, the record's last piece (a record ends in a checksum), or a piece longer than a
/// batch header (a record's first bytes are often zeros: high bytes of its length).
/// Offsets returned are relative to the record.
fn zero_piece(at: u64, record: &[u8]) -> Option<(u64, u64)> {
    let end = record.len() as u64;
    let mut from = 0;
    while from < end {
        let sector_end = ((at + from) / SECTOR_BYTES + 1) * SECTOR_BYTES - at;
        let to = sector_end.min(end);
        let piece = &record[from as usize..to as usize];
        let counts = to - from == SECTOR_BYTES || to == end || to - from > BATCH_HEADER_BYTES;
        if counts && piece.iter().all(|&b| b == 0) {
            return Some((from, to));
        }
        from = to;
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch of `len` bytes as raft-engine frames it: big-endian `len << 8 | compression`,
    /// the item offset, then non-zero bytes.
    fn record(len: u64) -> Vec<u8> {
        let mut bytes = (len << 8).to_be_bytes().to_vec();
        bytes.extend_from_slice(&(len / 2).to_be_bytes());
        bytes.extend((16..len).map(|i| (i % 251) as u8 | 1));
        bytes
    }

    fn torn(damage: &TailDamage) -> bool {
        matches!(damage, TailDamage::Torn(_))
    }

    #[test]
    fn a_record_cut_short_is_torn() {
        let r = record(900);
        for keep in [0, 5, 15, 16, 17, 511, 899] {
            assert!(torn(&judge_cut(4096, &r[..keep])), "kept {keep}");
        }
    }

    #[test]
    fn a_whole_record_with_a_flipped_bit_is_corrupt() {
        for at in [69, 500, 4096, 4095] {
            for flip in [20, 300, 899] {
                let mut r = record(900);
                r[flip] ^= 0x10;
                let damage = judge_cut(at, &r);
                assert!(
                    matches!(damage, TailDamage::Corrupt(_)),
                    "at {at}, flip {flip}: {damage:?}"
                );
            }
        }
    }

    #[test]
    fn a_whole_record_followed_by_more_records_is_judged_by_itself() {
        let mut bytes = record(900);
        bytes[100] ^= 1;
        bytes.extend(record(300));
        assert!(matches!(judge_cut(4096, &bytes), TailDamage::Corrupt(_)));
    }

    #[test]
    fn a_sector_of_zeros_inside_a_record_is_a_lost_write() {
        let mut r = record(2000);
        // At file offset 4096 + 100, the record's bytes 412..924 are file sector 4608..5120.
        r[412..924].fill(0);
        assert!(torn(&judge_cut(4096 + 100, &r)));
        // The record's last piece, from a sector boundary to its end.
        let mut r = record(2000);
        r[1948..].fill(0);
        assert!(
            torn(&judge_cut(4096 + 100, &r)),
            "{:?}",
            judge_cut(4196, &r)
        );
    }

    #[test]
    fn a_few_zero_bytes_at_a_sector_boundary_are_data_not_a_lost_write() {
        // The record starts 3 bytes before a sector boundary: its first 3 bytes (high bytes of
        // its length) are zeros in any record, and must not read as a lost sector.
        let mut r = record(900);
        r[500] ^= 4;
        assert!(matches!(judge_cut(512 - 3, &r), TailDamage::Corrupt(_)));
    }

    #[test]
    fn a_zero_or_garbage_header() {
        // Zeros where a header should be: a write that never landed.
        let zeros = [0u8; 40];
        assert!(torn(&judge_cut(4096, &zeros)));
        // Garbage that declares a length far past the written part: torn (etcd's rule).
        let garbage: Vec<u8> = (0..97u8).map(|i| i.wrapping_mul(37) | 1).collect();
        assert!(torn(&judge_cut(4096, &garbage)));
        // A non-zero header with an impossible length, in a record that is all there.
        let mut bad = record(64);
        bad[..8].copy_from_slice(&(3u64 << 8).to_be_bytes());
        assert!(matches!(judge_cut(4096, &bad), TailDamage::Corrupt(_)));
    }

    #[test]
    fn the_file_header() {
        let mut header = b"RAFT-LOG-FILE-HEADER-9986AB3E47F320B394C8E84916EB0ED5".to_vec();
        header.extend_from_slice(&2u64.to_be_bytes());
        header.extend_from_slice(&0u64.to_be_bytes());
        assert_eq!(header.len() as u64, FILE_HEADER_BYTES);
        assert!(torn(&judge_cut(0, &header[..30])));
        let mut flipped = header.clone();
        flipped[3] ^= 1;
        assert!(matches!(judge_cut(0, &flipped), TailDamage::Corrupt(_)));
    }
}
