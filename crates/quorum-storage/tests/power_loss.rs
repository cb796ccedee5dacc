//! The power-loss emulation: what was synced survives a power cut, what was only written does
//! not, and until the cut every written byte reads back (as through a page cache).

mod common;

use std::sync::Arc;

use common::{config, entries, open};
use quorum_storage::{LogEngine, PowerLossFileSystem};

#[test]
fn a_power_cut_loses_exactly_the_entries_written_after_the_last_sync() {
    let dir = tempfile::tempdir().unwrap();
    let power = Arc::new(PowerLossFileSystem::new());
    {
        let log = LogEngine::open_with_file_system(dir.path(), config(), power.clone()).unwrap();
        log.append(1, &entries(1, 1, 10)).unwrap();
        log.sync().unwrap();
        log.append(1, &entries(1, 11, 20)).unwrap();
        log.put_meta(1, b"committed", b"20", false).unwrap();
        // Unsynced entries read back while the power is on.
        assert_eq!(log.entries(1, 1, 21).unwrap(), entries(1, 1, 20));
        assert_eq!(log.last_index(1), Some(20));
        power.cut_power();
    }
    let log = open(dir.path());
    assert_eq!(log.last_index(1), Some(10));
    assert_eq!(log.entries(1, 1, 11).unwrap(), entries(1, 1, 10));
    assert_eq!(log.get_meta(1, b"committed").unwrap(), None);
}

#[test]
fn without_a_power_cut_closing_keeps_unsynced_entries_like_a_page_cache() {
    let dir = tempfile::tempdir().unwrap();
    {
        let power = Arc::new(PowerLossFileSystem::new());
        let log = LogEngine::open_with_file_system(dir.path(), config(), power).unwrap();
        log.append(1, &entries(1, 1, 10)).unwrap();
        log.sync().unwrap();
        log.append(1, &entries(1, 11, 15)).unwrap();
    }
    // Reopened on the emulation too: it reads what the real files hold.
    let power = Arc::new(PowerLossFileSystem::new());
    let log = LogEngine::open_with_file_system(dir.path(), config(), power).unwrap();
    assert_eq!(log.entries(1, 1, 16).unwrap(), entries(1, 1, 15));
}
