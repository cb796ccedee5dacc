//! Bit flips of a stopped node's synced log data: one seeded bit at a seeded offset of the
//! written part of one of its raft-engine log files (bit rot, a sector read back wrong), with
//! the file helpers `quorum chaos` uses (`quorum_testkit::disk`).
//!
//! Only for a node whose host is down after a power cut: its files are closed, and hold the
//! synced bytes plus the torn prefix the cut left.

use std::path::Path;

use quorum_testkit::disk::{flip_bit, raft_log_files, written_end};
use rand::rngs::StdRng;
use rand::Rng;

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
    flip_bit(file, offset as u64, bit)?;
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
