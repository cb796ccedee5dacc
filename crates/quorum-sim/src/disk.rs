//! Bit flips of a stopped node's synced log data: one seeded bit at a seeded offset of the
//! written part of one of its raft-engine log files (bit rot, a sector read back wrong). The
//! few lines needed are the ones `quorum-testkit`'s `disk.rs` uses for `quorum chaos`.
//!
//! Only for a node whose host is down after a power cut: its files are closed, and hold the
//! synced bytes plus the torn prefix the cut left.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::Rng;

/// Where a node keeps its raft-engine files, relative to its data directory.
const LOG_FILES_DIR: &str = "raft-log/log";

/// Every `*.raftlog` file under `data_dir`, oldest first (names are zero-padded sequence
/// numbers).
fn raft_log_files(data_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir.join(LOG_FILES_DIR))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "raftlog"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Where the written part of a raft-engine file ends: raft-engine preallocates its active
/// file with zeros, so it ends just after the last non-zero byte.
fn written_end(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)
}

/// Flips one `rng`-chosen bit of one `rng`-chosen byte (never the first) of the written part
/// of one `rng`-chosen log file of the node at `data_dir`. Returns what it did, naming the file
/// by its name only (the run's directory differs between runs), or `None` when the node has
/// no log file with anything written past its first byte.
pub fn flip_log_bit(data_dir: &Path, rng: &mut StdRng) -> anyhow::Result<Option<String>> {
    let files = raft_log_files(data_dir);
    if files.is_empty() {
        return Ok(None);
    }
    let file = &files[rng.gen_range(0..files.len())];
    let bytes = std::fs::read(file)?;
    let end = written_end(&bytes);
    if end < 2 {
        return Ok(None);
    }
    let offset = rng.gen_range(1..end);
    let bit = rng.gen_range(0..8u8);
    let handle = std::fs::OpenOptions::new().write(true).open(file)?;
    handle.write_all_at(&[bytes[offset] ^ (1 << bit)], offset as u64)?;
    handle.sync_all()?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Some(format!(
        "bit {bit} of byte {offset} flipped in its log file {name} ({end} bytes written, file \
         {} of {})",
        files.iter().position(|f| f == file).unwrap_or(0) + 1,
        files.len()
    )))
}
