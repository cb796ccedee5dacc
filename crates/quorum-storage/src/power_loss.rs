//! [`PowerLossFileSystem`]: a raft-engine file system under which `kill -9` loses exactly what
//! was never fsynced, as a power cut would (the LazyFS idea, in process).
//!
//! `kill -9` alone loses nothing that was written: the kernel's page cache keeps it. So bytes
//! written to a log file are held here, in the process's memory, and reach the real file only
//! when the file is synced. A process killed with unsynced bytes takes them with it. Reads see
//! the unsynced bytes, as they would through the page cache.
//!
//! What it does not emulate, and why that is fine for the log: file creation, deletion,
//! renaming and truncation reach the disk at once (raft-engine truncates only when closing a
//! file, right before syncing it, or when recovering), and no write is torn (raft-engine's
//! checksums and tail recovery are tested separately). Only the log goes through it: the
//! snapshot store and the sync-mark file fsync every file and directory they write before
//! using it, so a power cut cannot lose anything of theirs that a `kill -9` keeps.
//!
//! Not for production: a node that runs on it is correct, only slower to sync (every byte is
//! copied once more) and loses more on a crash.

use std::fs::{File, OpenOptions};
use std::io::{Read, Result as IoResult, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use raft_engine::env::{FileSystem, Handle, Permission, WriteExt};

/// Unsynced bytes one file may hold before they are written to the real file anyway, like the
/// kernel writing back dirty pages: it bounds memory, and a real page cache also makes
/// unsynced data durable sooner or later (just not when anyone asked).
const UNSYNCED_BYTES_MAX: usize = 64 << 20;

/// A raft-engine file system that keeps written-but-unsynced bytes in memory; see the module
/// docs. Use it through [`crate::LogEngine::open_with_file_system`].
#[derive(Debug, Default)]
pub struct PowerLossFileSystem {
    power: Arc<Power>,
}

/// Whether the power is still on; shared by every file of one file system.
#[derive(Debug, Default)]
struct Power {
    cut: AtomicBool,
    /// After [`PowerLossFileSystem::cut_power_tearing`]: the generator that decides how much of
    /// each file's unsynced bytes reached the disk anyway (xorshift64 state, never 0).
    tear: Mutex<Option<u64>>,
}

impl Power {
    /// How many of `unsynced` bytes survive the cut: none, or a seeded prefix when tearing.
    fn surviving(&self, unsynced: usize) -> usize {
        let mut tear = self.tear.lock();
        let Some(state) = tear.as_mut() else {
            return 0;
        };
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state % (unsynced as u64 + 1)) as usize
    }
}

impl PowerLossFileSystem {
    /// A file system with the power on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cuts the power: every unsynced byte of every file is dropped and nothing written from
    /// now on reaches the disk. For tests that emulate a crash without killing the process;
    /// a killed process loses the unsynced bytes anyway.
    pub fn cut_power(&self) {
        self.power.cut.store(true, Ordering::SeqCst);
    }

    /// Cuts the power as [`PowerLossFileSystem::cut_power`] does, except that each file keeps
    /// a prefix of its unsynced bytes, of a length drawn from `seed`: the kernel had written
    /// back part of the dirty data, possibly ending in the middle of a record (a torn write).
    /// The prefixes reach the disk when the files are closed. For simulations.
    pub fn cut_power_tearing(&self, seed: u64) {
        *self.power.tear.lock() = Some(seed | 1);
        self.cut_power();
    }

    fn wrap(&self, file: File) -> PowerLossFile {
        let size = file.metadata().map_or(0, |m| m.len());
        PowerLossFile {
            file,
            power: self.power.clone(),
            unsynced: Mutex::new(Unsynced {
                writes: Vec::new(),
                bytes: 0,
                size,
            }),
        }
    }
}

/// One open log file: the real file plus the writes it has not been given yet.
#[derive(Debug)]
pub struct PowerLossFile {
    file: File,
    power: Arc<Power>,
    unsynced: Mutex<Unsynced>,
}

/// Writes held in memory, in order.
#[derive(Debug)]
struct Unsynced {
    /// `(offset, bytes)` in write order; a write that continues the previous one is merged.
    writes: Vec<(u64, Vec<u8>)>,
    /// Total bytes in `writes`.
    bytes: usize,
    /// The file's size as a reader sees it: the real size grown by the unsynced writes.
    size: u64,
}

impl PowerLossFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> IoResult<usize> {
        let mut unsynced = self.unsynced.lock();
        match unsynced.writes.last_mut() {
            Some((start, bytes)) if *start + bytes.len() as u64 == offset => {
                bytes.extend_from_slice(data);
            }
            _ => unsynced.writes.push((offset, data.to_vec())),
        }
        unsynced.bytes += data.len();
        unsynced.size = unsynced.size.max(offset + data.len() as u64);
        if unsynced.bytes > UNSYNCED_BYTES_MAX {
            self.write_back(&mut unsynced)?;
        }
        Ok(data.len())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> IoResult<usize> {
        let unsynced = self.unsynced.lock();
        let end = unsynced.size.min(offset.saturating_add(buf.len() as u64));
        if offset >= end {
            return Ok(0);
        }
        let buf = &mut buf[..(end - offset) as usize];
        // The real file first (it may be shorter than the unsynced size: zeros there, as in a
        // sparse file), then every unsynced write over it, oldest first.
        let mut filled = 0;
        while filled < buf.len() {
            match self
                .file
                .read_at(&mut buf[filled..], offset + filled as u64)
            {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf[filled..].fill(0);
        for (start, bytes) in &unsynced.writes {
            let from = offset.max(*start);
            let to = end.min(*start + bytes.len() as u64);
            if from < to {
                buf[(from - offset) as usize..(to - offset) as usize]
                    .copy_from_slice(&bytes[(from - start) as usize..(to - start) as usize]);
            }
        }
        Ok(buf.len())
    }

    /// Gives the real file every unsynced write (no fsync: the kernel now holds them, which a
    /// `kill -9` does not undo). After a power cut, drops them instead.
    fn write_back(&self, unsynced: &mut Unsynced) -> IoResult<()> {
        let writes = std::mem::take(&mut unsynced.writes);
        let mut surviving = std::mem::take(&mut unsynced.bytes);
        if self.power.cut.load(Ordering::SeqCst) {
            // Nothing, or a torn prefix (`cut_power_tearing`), in write order.
            surviving = self.power.surviving(surviving);
        }
        for (offset, bytes) in writes {
            let take = bytes.len().min(surviving);
            if take == 0 {
                break;
            }
            self.file.write_all_at(&bytes[..take], offset)?;
            surviving -= take;
        }
        Ok(())
    }
}

impl Handle for PowerLossFile {
    fn truncate(&self, offset: usize) -> IoResult<()> {
        let mut unsynced = self.unsynced.lock();
        self.write_back(&mut unsynced)?;
        if !self.power.cut.load(Ordering::SeqCst) {
            self.file.set_len(offset as u64)?;
        }
        unsynced.size = offset as u64;
        Ok(())
    }

    fn file_size(&self) -> IoResult<usize> {
        Ok(self.unsynced.lock().size as usize)
    }

    fn sync(&self) -> IoResult<()> {
        self.write_back(&mut self.unsynced.lock())?;
        if self.power.cut.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.file.sync_data()
    }
}

impl Drop for PowerLossFile {
    fn drop(&mut self) {
        // Closing a file does not lose its writes while the process lives (the page cache
        // keeps them); only dying does.
        if let Err(e) = self.write_back(&mut self.unsynced.lock()) {
            tracing::warn!(error = %e, "writing back unsynced log bytes on close failed");
        }
    }
}

/// A reader or writer of one [`PowerLossFile`] with its own position.
#[derive(Debug)]
pub struct PowerLossCursor {
    file: Arc<PowerLossFile>,
    offset: u64,
}

impl Read for PowerLossCursor {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        let n = self.file.read_at(self.offset, buf)?;
        self.offset += n as u64;
        Ok(n)
    }
}

impl Write for PowerLossCursor {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        let n = self.file.write_at(self.offset, buf)?;
        self.offset += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> IoResult<()> {
        Ok(())
    }
}

impl Seek for PowerLossCursor {
    fn seek(&mut self, pos: SeekFrom) -> IoResult<u64> {
        let base = |delta: i64, from: u64| {
            from.checked_add_signed(delta).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
            })
        };
        self.offset = match pos {
            SeekFrom::Start(offset) => offset,
            SeekFrom::Current(delta) => base(delta, self.offset)?,
            SeekFrom::End(delta) => base(delta, self.file.file_size()? as u64)?,
        };
        Ok(self.offset)
    }
}

impl WriteExt for PowerLossCursor {
    fn truncate(&mut self, offset: usize) -> IoResult<()> {
        self.file.truncate(offset)?;
        self.offset = offset as u64;
        Ok(())
    }

    fn allocate(&mut self, _offset: usize, _size: usize) -> IoResult<()> {
        // Preallocation is only a hint to raft-engine (it trims the file to what it wrote when
        // closing it); skipping it keeps the real file's size equal to what was synced.
        Ok(())
    }
}

impl FileSystem for PowerLossFileSystem {
    type Handle = PowerLossFile;
    type Reader = PowerLossCursor;
    type Writer = PowerLossCursor;

    fn create<P: AsRef<Path>>(&self, path: P) -> IoResult<Self::Handle> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Ok(self.wrap(file))
    }

    fn open<P: AsRef<Path>>(&self, path: P, perm: Permission) -> IoResult<Self::Handle> {
        let file = OpenOptions::new()
            .read(true)
            .write(perm == Permission::ReadWrite)
            .open(path)?;
        Ok(self.wrap(file))
    }

    fn delete<P: AsRef<Path>>(&self, path: P) -> IoResult<()> {
        std::fs::remove_file(path)
    }

    fn rename<P: AsRef<Path>>(&self, src_path: P, dst_path: P) -> IoResult<()> {
        std::fs::rename(src_path, dst_path)
    }

    fn new_reader(&self, handle: Arc<Self::Handle>) -> IoResult<Self::Reader> {
        Ok(PowerLossCursor {
            file: handle,
            offset: 0,
        })
    }

    fn new_writer(&self, handle: Arc<Self::Handle>) -> IoResult<Self::Writer> {
        Ok(PowerLossCursor {
            file: handle,
            offset: 0,
        })
    }
}
