//! Disk faults on a stopped node's data directory: a torn last log record, a flipped bit or a
//! truncation in the Raft log or the newest snapshot.
//!
//! Functions take the data directory (`Node::data_dir`, or a namespace node's) rather than a
//! [`crate::Node`], so `quorum chaos` uses them for every kind of cluster. They know the layout
//! a node writes (`raft-log/log/*.raftlog`, `raft-log/sync-marks`, `snapshots/*.snap`) but not
//! the formats inside, except that raft-engine preallocates its active file with zeros. Each
//! fault returns a sentence saying exactly what it did, for test output and chaos reports.
//! Never use them on a running node: it would overwrite or re-read the damage unpredictably.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Where a node keeps its Raft log files, relative to its data directory.
const RAFT_LOG_DIR: &str = "raft-log";
/// Where a node keeps its snapshot files, relative to its data directory.
const SNAPSHOT_DIR: &str = "snapshots";
/// The most bytes [`tear_last_record`] cuts: less than any raft-engine record (a batch header
/// alone is 16 bytes), so the cut always lands inside the last record, never between two.
const TEAR_BYTES_MAX: u64 = 12;

/// Which file a corruption hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptTarget {
    /// A raft-engine log file (the written part of the newest one).
    Log,
    /// The newest snapshot file.
    Snapshot,
}

/// How the file is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// One bit flipped (bit rot, a bad sector read back wrong).
    BitFlip,
    /// The file cut short (a lost write, a file system repair that dropped blocks).
    Truncate,
}

/// Every `*.raftlog` file of the node, oldest first (names are zero-padded sequence numbers).
pub fn raft_log_files(data_dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect_files(&data_dir.join(RAFT_LOG_DIR), "raftlog", &mut files);
    files.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
    files
}

/// The newest raft-engine log file: the active one, which a crash can leave torn.
pub fn newest_raft_log(data_dir: &Path) -> anyhow::Result<PathBuf> {
    raft_log_files(data_dir)
        .pop()
        .with_context(|| format!("no *.raftlog under {}", data_dir.display()))
}

/// The newest snapshot file (`snapshot-<seq>.snap`, zero-padded), if the node took one.
pub fn newest_snapshot(data_dir: &Path) -> Option<PathBuf> {
    let mut files = Vec::new();
    collect_files(&data_dir.join(SNAPSHOT_DIR), "snap", &mut files);
    files.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
    files.pop()
}

/// Where the written part of a raft-engine file ends. raft-engine preallocates its active file
/// with zeros, so after `kill -9` the file is longer than what was written: the written part
/// ends just after the last non-zero byte.
pub fn written_end(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)
}

/// Cuts the newest log file `seed`-chosen 1..=12 bytes before the end of what was written, so
/// its last record is torn in the middle, as a crash during a write leaves it.
pub fn tear_last_record(data_dir: &Path, seed: u64) -> anyhow::Result<String> {
    let file = newest_raft_log(data_dir)?;
    let end = written_end(&read(&file)?) as u64;
    let cut = 1 + seed % TEAR_BYTES_MAX;
    if end <= cut {
        bail!("{} holds no record to tear", file.display());
    }
    set_len(&file, end - cut)?;
    Ok(format!(
        "tore the last record of {}: cut to {} bytes ({cut} bytes before the end of its \
         written part)",
        file.display(),
        end - cut
    ))
}

/// Damages `target` as `how` says, at a `seed`-chosen place; the byte is chosen among those
/// written (never in a log file's zero padding), in any log file for [`CorruptTarget::Log`].
/// Fails if the target does not exist (no snapshot taken yet, say).
pub fn corrupt(
    data_dir: &Path,
    target: CorruptTarget,
    how: Corruption,
    seed: u64,
) -> anyhow::Result<String> {
    let file = match target {
        CorruptTarget::Log => {
            let files = raft_log_files(data_dir);
            if files.is_empty() {
                bail!("no *.raftlog under {}", data_dir.display());
            }
            files[(seed % files.len() as u64) as usize].clone()
        }
        CorruptTarget::Snapshot => newest_snapshot(data_dir)
            .with_context(|| format!("no snapshot under {}", data_dir.display()))?,
    };
    let end = written_end(&read(&file)?) as u64;
    if end < 2 {
        bail!("{} is empty", file.display());
    }
    // Past the first byte, so a truncation always leaves something and a flip is mid-file.
    let offset = 1 + mix(seed) % (end - 1);
    match how {
        Corruption::BitFlip => {
            let bit = (mix(seed ^ 0xb17) % 8) as u8;
            flip_bit(&file, offset, bit)?;
            Ok(format!(
                "flipped bit {bit} of byte {offset} in {} ({end} bytes written)",
                file.display()
            ))
        }
        Corruption::Truncate => {
            set_len(&file, offset)?;
            Ok(format!(
                "truncated {} to {offset} of its {end} written bytes",
                file.display()
            ))
        }
    }
}

/// Flips bit `bit` (0-7) of the byte at `offset` in `file`, in place, and fsyncs.
pub fn flip_bit(file: &Path, offset: u64, bit: u8) -> anyhow::Result<()> {
    let bytes = read(file)?;
    let Some(byte) = usize::try_from(offset).ok().and_then(|o| bytes.get(o)) else {
        bail!("offset {offset} is past the end of {}", file.display());
    };
    let mut f = OpenOptions::new()
        .write(true)
        .open(file)
        .with_context(|| format!("cannot open {}", file.display()))?;
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(&[byte ^ (1 << (bit % 8))])?;
    f.sync_all()
        .with_context(|| format!("cannot fsync {}", file.display()))
}

fn set_len(file: &Path, len: u64) -> anyhow::Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(file)
        .with_context(|| format!("cannot open {}", file.display()))?;
    f.set_len(len)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot truncate {}", file.display()))
}

fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

/// A seed spread over all 64 bits (splitmix64's finalizer), so nearby seeds pick distant bytes.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Every file with extension `ext` under `dir`, recursively.
fn collect_files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_dir_with(log: &[u8], snapshot: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = dir.path().join(RAFT_LOG_DIR).join("log");
        std::fs::create_dir_all(&log_dir).unwrap();
        std::fs::write(log_dir.join("0000000000000001.raftlog"), log).unwrap();
        let snap_dir = dir.path().join(SNAPSHOT_DIR);
        std::fs::create_dir_all(&snap_dir).unwrap();
        std::fs::write(
            snap_dir.join("snapshot-00000000000000000002.snap"),
            snapshot,
        )
        .unwrap();
        dir
    }

    #[test]
    fn tear_cuts_inside_the_written_part_and_ignores_padding() {
        let mut log = vec![7u8; 100];
        log.extend([0u8; 50]);
        let dir = data_dir_with(&log, b"snap");
        for seed in 0..20 {
            let file = newest_raft_log(dir.path()).unwrap();
            std::fs::write(&file, &log).unwrap();
            tear_last_record(dir.path(), seed).unwrap();
            let len = std::fs::metadata(&file).unwrap().len();
            assert!(
                (100 - TEAR_BYTES_MAX..100).contains(&len),
                "seed {seed}: {len}"
            );
        }
    }

    #[test]
    fn corruptions_change_only_the_written_part_of_the_chosen_file() {
        let dir = data_dir_with(&[1u8; 64], &[2u8; 32]);
        let snap = newest_snapshot(dir.path()).unwrap();
        let what = corrupt(dir.path(), CorruptTarget::Snapshot, Corruption::BitFlip, 3).unwrap();
        assert!(what.contains("snapshot-"), "{what}");
        let bytes = std::fs::read(&snap).unwrap();
        assert_eq!(bytes.iter().filter(|b| **b != 2).count(), 1, "{what}");
        let what = corrupt(dir.path(), CorruptTarget::Log, Corruption::Truncate, 5).unwrap();
        let len = std::fs::metadata(newest_raft_log(dir.path()).unwrap())
            .unwrap()
            .len();
        assert!((1..64).contains(&len), "{what}");
        assert!(corrupt(
            tempfile::tempdir().unwrap().path(),
            CorruptTarget::Snapshot,
            Corruption::BitFlip,
            1
        )
        .is_err());
    }
}
