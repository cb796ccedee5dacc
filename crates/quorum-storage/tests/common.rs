//! Helpers shared by the integration tests: opening engines and poking at raft-engine's files.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use quorum_storage::{LogEngine, LogEngineConfig};

/// Tests want the sync marks exact, so they are written on every sync.
pub fn config() -> LogEngineConfig {
    LogEngineConfig {
        sync_mark_interval_ms: 0,
        ..LogEngineConfig::default()
    }
}

pub fn open(dir: &Path) -> LogEngine {
    LogEngine::open(dir, config()).expect("open log engine")
}

/// Entries `from..=to` with payloads derived from group and index.
pub fn entries(group: u64, from: u64, to: u64) -> Vec<(u64, Bytes)> {
    (from..=to).map(|i| (i, payload(group, i))).collect()
}

pub fn payload(group: u64, index: u64) -> Bytes {
    Bytes::from(format!(
        "g{group}-i{index}-{}",
        "x".repeat((index % 7) as usize)
    ))
}

/// raft-engine's append-queue files, oldest first.
pub fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "raftlog"))
        .collect();
    files.sort();
    files
}

/// Cuts `bytes` off the end of `file` and appends `garbage`, like a write torn by a crash.
pub fn tear_tail(file: &Path, bytes: u64, garbage: &[u8]) {
    let f = OpenOptions::new().write(true).open(file).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(bytes)).unwrap();
    drop(f);
    let mut f = OpenOptions::new().append(true).open(file).unwrap();
    f.write_all(garbage).unwrap();
}

pub fn flip_bit(file: &Path, offset: usize, bit: u8) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset] ^= 1 << bit;
    std::fs::write(file, bytes).unwrap();
}

/// Recursively copies a directory (to run many corruptions against one written log).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Where a raft-engine file's written part ends: after its last non-zero byte (the rest is
/// preallocated zeros).
pub fn written_end(file: &Path) -> usize {
    let bytes = std::fs::read(file).unwrap();
    bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)
}
