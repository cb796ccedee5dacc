//! `LogEngine`: many Raft groups' logs and metadata in one raft-engine instance per node.
//!
//! What it adds over raft-engine: checked appends (no holes, no overwrite of purged entries, never
//! a raft-engine panic), `truncate_from` (raft-engine only truncates by overwriting), a real
//! `sync` (raft-engine 0.4.2's `Engine::sync` returns early on an empty batch and never fsyncs),
//! and the recovery checks of the crate docs (sync marks, `check_recovered`, entry verification).
//! It is not Raft-aware: terms, votes and log ids are opaque payloads and metadata to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use raft_engine::env::{DefaultFileSystem, FileSystem};
use raft_engine::{Command, Config, Engine, LogBatch, ReadableSize, RecoveryMode};

use crate::entry::{self, EntryCodec};

mod recovery;
pub use recovery::{TailCut, TailDamage};

use crate::sync_mark::SyncMarks;
use crate::{GroupId, StorageError};

/// Group id reserved for this crate's own records (the sync record); callers may not use it.
pub const RESERVED_GROUP: GroupId = u64::MAX;

/// Key prefixes inside a group's raft-engine key space ("__" is reserved by raft-engine itself).
const USER_META_PREFIX: &[u8] = b"m/";
const TRUNCATED_FROM_KEY: &[u8] = b"q/truncated_from";
const PURGED_TO_KEY: &[u8] = b"q/purged_to";
const SYNC_KEY: &[u8] = b"q/sync";
/// Entries read per raft-engine call while verifying the log on open.
const VERIFY_CHUNK_ENTRIES: u64 = 512;
/// Sub-directory of the engine directory that raft-engine owns.
const LOG_DIR_NAME: &str = "log";

/// Settings for [`LogEngine`]; `Default` suits production.
#[derive(Clone, Debug)]
pub struct LogEngineConfig {
    /// Size at which raft-engine starts a new log file. Only the newest file may lose a corrupt
    /// tail on recovery, so smaller files narrow that window at the cost of more files.
    pub target_file_size_bytes: u64,
    /// Minimum time between two rewrites of the sync-mark file (each costs two fsyncs). Corruption
    /// of data synced within this window before a crash looks like a torn tail. 0 = every sync.
    pub sync_mark_interval_ms: u64,
    /// Read and checksum every stored entry on open. raft-engine verifies an entry's block only
    /// when it is read, except for the last batch; this turns bit rot into a startup error.
    pub verify_entries_on_open: bool,
    /// Threads raft-engine uses to replay its files on open.
    pub recovery_threads: usize,
}

impl Default for LogEngineConfig {
    fn default() -> Self {
        LogEngineConfig {
            target_file_size_bytes: 128 << 20,
            sync_mark_interval_ms: 1000,
            verify_entries_on_open: true,
            recovery_threads: 2,
        }
    }
}

/// One node's durable Raft logs, for any number of groups; see the crate docs for the guarantees.
///
/// All methods block on disk I/O. Calls for different groups may run concurrently; calls that
/// change one group's log must not race each other (Raft has one log writer per group).
/// `F` is the disk seam: [`LogEngine::open_with_file_system`] takes any raft-engine `FileSystem`.
pub struct LogEngine<F: FileSystem = DefaultFileSystem> {
    engine: Engine<F>,
    dir: PathBuf,
    marks: Mutex<SyncMarks>,
    sync_mark_interval: Duration,
    tail_cut: Option<TailCut>,
}

impl LogEngine<DefaultFileSystem> {
    /// Opens (creating if needed) the engine under `dir` on the real file system and runs the
    /// recovery checks; an error means the data must not be used as is.
    pub fn open(dir: &Path, config: LogEngineConfig) -> Result<Self, StorageError> {
        Self::open_with_file_system(dir, config, Arc::new(DefaultFileSystem))
    }
}

impl<F: FileSystem> LogEngine<F> {
    /// Opens the engine with raft-engine's log files going through `file_system` (the sync-mark
    /// file uses `std::fs`).
    pub fn open_with_file_system(
        dir: &Path,
        config: LogEngineConfig,
        file_system: Arc<F>,
    ) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::io("create directory", dir, e))?;
        let log_dir = dir.join(LOG_DIR_NAME);
        let engine_config = Config {
            dir: log_dir.to_string_lossy().into_owned(),
            // Tolerates a torn write in the newest file only; see the crate docs for what we add.
            recovery_mode: RecoveryMode::TolerateTailCorruption,
            recovery_threads: config.recovery_threads.max(1),
            target_file_size: ReadableSize(config.target_file_size_bytes),
            // Recycled files keep stale bytes after the written part; plain files keep the format simple.
            enable_log_recycle: false,
            ..Config::default()
        };
        let tail_before = recovery::newest_file_before_recovery(&log_dir)?;
        let engine =
            Engine::open_with_file_system(engine_config, file_system).map_err(|e| match e {
                raft_engine::Error::Corruption(detail) => StorageError::CorruptLog {
                    dir: log_dir.clone(),
                    detail: format!("replaying the files: {detail}"),
                },
                e => StorageError::engine("open", None, e),
            })?;
        let tail_cut = recovery::tail_cut(tail_before)?;
        let marks = SyncMarks::load(dir)?;
        let log = LogEngine {
            engine,
            dir: dir.to_path_buf(),
            marks: Mutex::new(marks),
            sync_mark_interval: Duration::from_millis(config.sync_mark_interval_ms),
            tail_cut,
        };
        log.check_sync_marks()?;
        if let Some(TailCut {
            file,
            kept_bytes,
            damage: TailDamage::Corrupt(why),
            ..
        }) = &log.tail_cut
        {
            return Err(StorageError::CorruptLog {
                dir: log_dir,
                detail: format!(
                    "recovery cut the newest file {} at byte {kept_bytes}, and not for a torn \
                     write: {why}; entries synced before the crash may be lost with it",
                    file.display()
                ),
            });
        }
        if config.verify_entries_on_open {
            log.verify_entries()?;
        }
        Ok(log)
    }

    /// Writes `entries` (index, payload) to `group`'s log without fsync; they are readable at once
    /// and durable after the next [`sync`](Self::sync). Indexes must be consecutive and start
    /// within `first_index..=last_index + 1` (any index for an empty log);
    /// existing entries from the first given index on are replaced (Raft conflict truncation).
    pub fn append(&self, group: GroupId, entries: &[(u64, Bytes)]) -> Result<(), StorageError> {
        let Some(&(start, _)) = entries.first() else {
            return Ok(());
        };
        check_group(group)?;
        let invalid = |index, reason: String| StorageError::InvalidAppend {
            group,
            index,
            reason,
        };
        for (offset, (index, _)) in entries.iter().enumerate() {
            if Some(*index) != start.checked_add(offset as u64) {
                return Err(invalid(
                    *index,
                    format!("indexes not consecutive from {start}"),
                ));
            }
        }
        let overwrites = match self.span(group)? {
            Some((first, last)) if start < first || start > last + 1 => {
                return Err(invalid(start, format!("log holds [{first}, {last}]")));
            }
            Some((first, last)) => (start <= last).then_some(first),
            // An empty log may restart anywhere: openraft itself appends below the purge point
            // after it purged a log whose entries all lay behind the state machine (its storage
            // suite checks exactly that).
            None => None,
        };
        let messages: Vec<_> = entries
            .iter()
            .map(|(index, payload)| entry::encode(*index, payload))
            .collect();
        let mut batch = LogBatch::default();
        batch
            .add_entries::<EntryCodec>(group, &messages)
            .map_err(|e| StorageError::engine("append", Some(group), e))?;
        if self.truncated_from(group)?.is_some() {
            // The new entries overwrite everything from `start` (<= the marker) on.
            batch.delete(group, TRUNCATED_FROM_KEY.to_vec());
        }
        match overwrites {
            Some(first) => self.write_lowering(group, start, first, "append", &mut batch),
            None => self.write(group, "append", &mut batch, false),
        }
    }

    /// Fsyncs everything written so far, for all groups (one fsync covers concurrent callers).
    pub fn sync(&self) -> Result<(), StorageError> {
        // Read the spans before syncing: only what was written before the fsync is durable after
        // it. The epoch detects a truncation that lands between this read and the raise below.
        let (epoch, spans) = {
            let marks = self.marks.lock();
            let spans: Vec<_> = self
                .groups()
                .into_iter()
                .filter_map(|g| self.span(g).ok().flatten().map(|(_, last)| (g, last)))
                .collect();
            (marks.epoch(), spans)
        };
        // raft-engine skips empty batches entirely, fsync included, so write a tiny record.
        let mut batch = LogBatch::default();
        batch
            .put(RESERVED_GROUP, SYNC_KEY.to_vec(), Vec::new())
            .map_err(|e| StorageError::engine("sync", None, e))?;
        self.write(RESERVED_GROUP, "sync", &mut batch, true)?;
        let mut marks = self.marks.lock();
        if marks.epoch() == epoch {
            for (group, last) in spans {
                marks.raise(group, last);
            }
        }
        marks.persist_if_due(self.sync_mark_interval)
    }

    /// Drops `group`'s entries with index >= `index`. Durable with the next sync; the log is one
    /// sequence, so any later entry that is durable implies the truncation is too.
    pub fn truncate_from(&self, group: GroupId, index: u64) -> Result<(), StorageError> {
        check_group(group)?;
        let Some((first, last)) = self.span(group)? else {
            return Ok(());
        };
        if index > last {
            return Ok(());
        }
        let mut batch = LogBatch::default();
        if index <= first {
            // Empty the log; a marker at or below `first` would let an append go below raft-engine's first index.
            self.compact_all(group, &mut batch)?;
        } else {
            batch
                .put(
                    group,
                    TRUNCATED_FROM_KEY.to_vec(),
                    index.to_be_bytes().to_vec(),
                )
                .map_err(|e| StorageError::engine("truncate", Some(group), e))?;
        }
        self.write_lowering(group, index, first, "truncate", &mut batch)
    }

    /// Drops `group`'s entries with index <= `index` (after a snapshot covers them) and remembers
    /// `index`, so that an append may later start at `index + 1` even if the log is empty.
    /// Disk space comes back through [`reclaim_space`](Self::reclaim_space).
    pub fn purge_to(&self, group: GroupId, index: u64) -> Result<(), StorageError> {
        check_group(group)?;
        let mut batch = LogBatch::default();
        match self.span(group)? {
            Some((_, last)) if index >= last => self.compact_all(group, &mut batch)?,
            Some(_) => batch.add_command(group, Command::Compact { index: index + 1 }),
            None => {}
        }
        let purged = self.purged_to(group)?.map_or(index, |p| p.max(index));
        batch
            .put(group, PURGED_TO_KEY.to_vec(), purged.to_be_bytes().to_vec())
            .map_err(|e| StorageError::engine("purge", Some(group), e))?;
        self.write(group, "purge", &mut batch, false)
    }

    /// Lets raft-engine delete or rewrite log files that hold only purged entries; call it now
    /// and then (it may copy live entries). Returns groups that hold back old files.
    pub fn reclaim_space(&self) -> Result<Vec<GroupId>, StorageError> {
        self.engine
            .purge_expired_files()
            .map_err(|e| StorageError::engine("purge expired files", None, e))
    }

    /// Reads `group`'s entries with `start <= index < end_exclusive`; all of them must exist.
    pub fn entries(
        &self,
        group: GroupId,
        start: u64,
        end_exclusive: u64,
    ) -> Result<Vec<(u64, Bytes)>, StorageError> {
        if start >= end_exclusive {
            return Ok(Vec::new());
        }
        let span = self.span(group)?;
        match span {
            Some((first, last)) if first <= start && end_exclusive - 1 <= last => {}
            _ => {
                return Err(StorageError::OutOfRange {
                    group,
                    start,
                    end: end_exclusive,
                    first: span.map(|s| s.0),
                    last: span.map(|s| s.1),
                })
            }
        }
        let mut messages = Vec::with_capacity((end_exclusive - start).min(4096) as usize);
        self.engine
            .fetch_entries_to::<EntryCodec>(group, start, end_exclusive, None, &mut messages)
            .map_err(|e| StorageError::engine("read entries", Some(group), e))?;
        let mut out = Vec::with_capacity(messages.len());
        for (expected, message) in (start..end_exclusive).zip(messages) {
            match entry::decode(message) {
                Some((index, payload)) if index == expected => out.push((index, payload)),
                other => {
                    return Err(StorageError::CorruptEntry {
                        group,
                        index: expected,
                        detail: format!("stored entry decodes as {:?}", other.map(|e| e.0)),
                    })
                }
            }
        }
        if out.len() as u64 != end_exclusive - start {
            return Err(StorageError::CorruptEntry {
                group,
                index: start + out.len() as u64,
                detail: "missing from the log engine".to_owned(),
            });
        }
        Ok(out)
    }

    /// Index of `group`'s first entry, `None` if its log is empty.
    pub fn first_index(&self, group: GroupId) -> Option<u64> {
        self.span(group).ok().flatten().map(|s| s.0)
    }

    /// Index of `group`'s last entry, `None` if its log is empty.
    pub fn last_index(&self, group: GroupId) -> Option<u64> {
        self.span(group).ok().flatten().map(|s| s.1)
    }

    /// The highest index given to [`purge_to`](Self::purge_to) for `group`, if any.
    pub fn purged_index(&self, group: GroupId) -> Option<u64> {
        self.purged_to(group).ok().flatten()
    }

    /// Stores a small metadata value (vote, committed index, ...) for `group`, fsynced before
    /// returning if `sync`. Ordered with the group's entries: durable entries imply earlier metas.
    pub fn put_meta(
        &self,
        group: GroupId,
        key: &[u8],
        value: &[u8],
        sync: bool,
    ) -> Result<(), StorageError> {
        check_group(group)?;
        let mut batch = LogBatch::default();
        batch
            .put(group, meta_key(key), value.to_vec())
            .map_err(|e| StorageError::engine("put meta", Some(group), e))?;
        self.write(group, "put meta", &mut batch, sync)
    }

    /// Reads a metadata value stored with [`put_meta`](Self::put_meta).
    pub fn get_meta(&self, group: GroupId, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.engine.get(group, &meta_key(key)))
    }

    /// Fails with [`StorageError::DurableDataLost`] if `group`'s recovered log ends before
    /// `committed_index`, which the caller knows was durable (e.g. its saved committed index).
    /// Complements the sync marks; see the crate docs.
    pub fn check_recovered(
        &self,
        group: GroupId,
        committed_index: u64,
    ) -> Result<(), StorageError> {
        self.check_durable(
            group,
            committed_index,
            "committed index given by the caller",
        )
    }

    /// What recovery cut from the end of the newest log file when this engine opened, if
    /// anything: a torn write, or corruption of the newest records (see the crate docs).
    pub fn tail_cut(&self) -> Option<&TailCut> {
        self.tail_cut.as_ref()
    }

    /// Groups that have entries or metadata, without the reserved group.
    pub fn groups(&self) -> Vec<GroupId> {
        let mut groups = self.engine.raft_groups();
        groups.retain(|g| *g != RESERVED_GROUP);
        groups.sort_unstable();
        groups
    }

    fn write(
        &self,
        group: GroupId,
        op: &'static str,
        batch: &mut LogBatch,
        sync: bool,
    ) -> Result<(), StorageError> {
        self.engine
            .write(batch, sync)
            .map(|_| ())
            .map_err(|e| StorageError::engine(op, Some(group), e))
    }

    /// Lowers `group`'s sync mark below `index_from` durably, then writes `batch` (which removes
    /// entries from `index_from` on), both under the marks lock so that no concurrent `sync` reads
    /// the old span and raises the mark again after the write.
    fn write_lowering(
        &self,
        group: GroupId,
        index_from: u64,
        first: u64,
        op: &'static str,
        batch: &mut LogBatch,
    ) -> Result<(), StorageError> {
        let mut marks = self.marks.lock();
        marks.lower_below(group, index_from, first)?;
        self.write(group, op, batch, false)
    }

    /// Adds to `batch` what empties `group`'s log in raft-engine (entries and truncation marker).
    fn compact_all(&self, group: GroupId, batch: &mut LogBatch) -> Result<(), StorageError> {
        if let Some(engine_last) = self.engine.last_index(group) {
            batch.add_command(
                group,
                Command::Compact {
                    index: engine_last + 1,
                },
            );
        }
        batch.delete(group, TRUNCATED_FROM_KEY.to_vec());
        Ok(())
    }

    /// The visible `(first, last)` of `group`: raft-engine's span cut at the truncation marker.
    fn span(&self, group: GroupId) -> Result<Option<(u64, u64)>, StorageError> {
        let (Some(first), Some(engine_last)) = (
            self.engine.first_index(group),
            self.engine.last_index(group),
        ) else {
            return Ok(None);
        };
        let last = match self.truncated_from(group)? {
            Some(from) if from <= engine_last => from.saturating_sub(1),
            _ => engine_last,
        };
        Ok((last >= first).then_some((first, last)))
    }

    fn truncated_from(&self, group: GroupId) -> Result<Option<u64>, StorageError> {
        self.internal_u64(group, TRUNCATED_FROM_KEY)
    }

    fn purged_to(&self, group: GroupId) -> Result<Option<u64>, StorageError> {
        self.internal_u64(group, PURGED_TO_KEY)
    }

    fn internal_u64(&self, group: GroupId, key: &[u8]) -> Result<Option<u64>, StorageError> {
        let Some(value) = self.engine.get(group, key) else {
            return Ok(None);
        };
        let bytes: [u8; 8] =
            value
                .as_slice()
                .try_into()
                .map_err(|_| StorageError::CorruptEntry {
                    group,
                    index: 0,
                    detail: format!(
                        "internal key {} holds {} bytes",
                        String::from_utf8_lossy(key),
                        value.len()
                    ),
                })?;
        Ok(Some(u64::from_be_bytes(bytes)))
    }
}

impl<F: FileSystem> Drop for LogEngine<F> {
    fn drop(&mut self) {
        // Marks only ever hold synced indexes, so writing the pending ones is always safe.
        if let Err(e) = self.marks.lock().persist_if_due(Duration::ZERO) {
            tracing::warn!(error = %e, "could not persist sync marks on close");
        }
    }
}

fn check_group(group: GroupId) -> Result<(), StorageError> {
    if group == RESERVED_GROUP {
        return Err(StorageError::InvalidArgument(format!(
            "group {group} is reserved"
        )));
    }
    Ok(())
}

fn meta_key(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(USER_META_PREFIX.len() + key.len());
    out.extend_from_slice(USER_META_PREFIX);
    out.extend_from_slice(key);
    out
}
