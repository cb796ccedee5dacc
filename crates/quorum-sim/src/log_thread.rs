//! [`ThreadLog`]: one simulated node's Raft log engine on a thread of its own.
//!
//! raft-engine caches the last block it read in a thread-local, keyed by file id, offset and
//! length but not by engine. With every node of a simulation on one thread, one node's read
//! could be answered from another node's block at the same position (seen: "assertion failed:
//! left 804, right 803" in raft-engine's `read_entry_from_file`). In production each node is
//! its own process, so each engine owns its threads' caches; here each engine gets a thread.
//! The simulation thread waits for every call, so the order of operations, and so the run,
//! stays deterministic.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use quorum_server::seams::{LogHost, LogOpener};
use quorum_storage::{GroupId, MultiGroupLog, StorageError};

type Job = Box<dyn FnOnce(&dyn MultiGroupLog) + Send>;

/// Opens each engine on a new thread ([`LogHost`] for the simulation).
pub struct ThreadLogHost {
    /// The node's name, for the thread's.
    pub name: String,
}

impl LogHost for ThreadLogHost {
    fn open(&self, open: LogOpener) -> Result<Arc<dyn MultiGroupLog>, StorageError> {
        let (jobs, incoming) = mpsc::channel::<Job>();
        let (opened_tx, opened_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("{}-log", self.name))
            .spawn(move || {
                let log = match open() {
                    Ok(log) => {
                        let _ = opened_tx.send(Ok(()));
                        log
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = incoming.recv() {
                    job(&*log);
                }
            })
            .expect("spawning a simulated node's log thread");
        match opened_rx.recv() {
            Ok(Ok(())) => Ok(Arc::new(ThreadLog {
                jobs: Mutex::new(Some(jobs)),
                thread: Mutex::new(Some(thread)),
            })),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                panic!("a simulated node's log thread died while opening the log");
            }
        }
    }
}

/// A log engine living on its own thread; every call runs there and is waited for.
pub struct ThreadLog {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl ThreadLog {
    fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn MultiGroupLog) -> R + Send + 'static,
    ) -> R {
        let (reply_tx, reply_rx) = mpsc::channel();
        let job: Job = Box::new(move |log| {
            let _ = reply_tx.send(f(log));
        });
        self.jobs
            .lock()
            .expect("log jobs")
            .as_ref()
            .expect("log thread running")
            .send(job)
            .expect("log thread alive");
        reply_rx.recv().expect("log thread answered")
    }
}

impl Drop for ThreadLog {
    fn drop(&mut self) {
        // Close the queue, then wait: the engine is dropped (files closed) before this
        // returns, so a restarted node never races its previous incarnation.
        self.jobs.lock().expect("log jobs").take();
        if let Some(thread) = self.thread.lock().expect("log thread").take() {
            let _ = thread.join();
        }
    }
}

impl MultiGroupLog for ThreadLog {
    fn append(&self, group: GroupId, entries: &[(u64, Bytes)]) -> Result<(), StorageError> {
        let entries = entries.to_vec();
        self.run(move |log| log.append(group, &entries))
    }

    fn sync(&self) -> Result<(), StorageError> {
        self.run(|log| log.sync())
    }

    fn truncate_from(&self, group: GroupId, index: u64) -> Result<(), StorageError> {
        self.run(move |log| log.truncate_from(group, index))
    }

    fn purge_to(&self, group: GroupId, index: u64) -> Result<(), StorageError> {
        self.run(move |log| log.purge_to(group, index))
    }

    fn reclaim_space(&self) -> Result<Vec<GroupId>, StorageError> {
        self.run(|log| log.reclaim_space())
    }

    fn entries(
        &self,
        group: GroupId,
        start: u64,
        end_exclusive: u64,
    ) -> Result<Vec<(u64, Bytes)>, StorageError> {
        self.run(move |log| log.entries(group, start, end_exclusive))
    }

    fn first_index(&self, group: GroupId) -> Option<u64> {
        self.run(move |log| log.first_index(group))
    }

    fn last_index(&self, group: GroupId) -> Option<u64> {
        self.run(move |log| log.last_index(group))
    }

    fn put_meta(
        &self,
        group: GroupId,
        key: &[u8],
        value: &[u8],
        sync: bool,
    ) -> Result<(), StorageError> {
        let (key, value) = (key.to_vec(), value.to_vec());
        self.run(move |log| log.put_meta(group, &key, &value, sync))
    }

    fn get_meta(&self, group: GroupId, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let key = key.to_vec();
        self.run(move |log| log.get_meta(group, &key))
    }
}
