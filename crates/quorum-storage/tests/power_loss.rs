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

#[test]
fn a_tearing_power_cut_keeps_the_synced_entries_and_at_most_a_prefix_of_the_rest() {
    // Every seed keeps everything synced, and what it keeps beyond is a prefix of what was
    // written: the log opens (a torn last record is cut) with entries 1..=n, 10 <= n <= 20.
    let mut kept = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let power = Arc::new(PowerLossFileSystem::new());
        {
            let log =
                LogEngine::open_with_file_system(dir.path(), config(), power.clone()).unwrap();
            log.append(1, &entries(1, 1, 10)).unwrap();
            log.sync().unwrap();
            for index in 11..=20 {
                log.append(1, &entries(1, index, index)).unwrap();
            }
            power.cut_power_tearing(seed);
        }
        let log = open(dir.path());
        let last = log.last_index(1).expect("the synced entries survive");
        assert!((10..=20).contains(&last), "seed {seed}: last index {last}");
        assert_eq!(log.entries(1, 1, last + 1).unwrap(), entries(1, 1, last));
        kept.insert(last);
    }
    // The prefixes vary with the seed: some cuts keep none of the unsynced entries, some keep
    // some of them.
    assert!(kept.len() > 2, "kept {kept:?}");
}
