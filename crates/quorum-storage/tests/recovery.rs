//! Crash and corruption recovery of `LogEngine` on real files: a torn tail of unsynced writes is
//! cut and the engine works on; corruption of synced data is an open error, never silently lost;
//! truncating the log anywhere yields a prefix of what was written or a clear error.

mod common;

use std::path::Path;

use common::{copy_dir, entries, flip_bit, log_files, open, tear_tail};
use proptest::prelude::*;
use quorum_storage::{LogEngine, StorageError};

#[test]
fn torn_tail_of_unsynced_writes_is_cut_and_the_log_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.append(1, &entries(1, 1, 5)).unwrap();
        log.sync().unwrap();
        for i in 6..=10 {
            log.append(1, &entries(1, i, i)).unwrap();
        }
    }
    let file = log_files(dir.path()).pop().unwrap();
    tear_tail(&file, 5, &[0xAB; 37]);
    {
        let log = open(dir.path());
        let cut = log.tail_cut().expect("the torn tail is reported");
        assert_eq!(cut.file, file);
        assert!(cut.kept_bytes < cut.written_bytes, "{cut:?}");
        let last = log.last_index(1).unwrap();
        assert!((5..10).contains(&last), "recovered last {last}");
        assert_eq!(log.entries(1, 1, last + 1).unwrap(), entries(1, 1, last));
        log.append(1, &entries(1, last + 1, 12)).unwrap();
        log.sync().unwrap();
    }
    let log = open(dir.path());
    assert_eq!(log.entries(1, 1, 13).unwrap(), entries(1, 1, 12));
    assert_eq!(log.tail_cut(), None, "a clean reopen cuts nothing");
}

#[test]
fn zeroed_tail_after_preallocation_opens() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.append(1, &entries(1, 1, 5)).unwrap();
        log.sync().unwrap();
    }
    tear_tail(&log_files(dir.path()).pop().unwrap(), 0, &[0; 4096]);
    let log = open(dir.path());
    assert_eq!(log.entries(1, 1, 6).unwrap(), entries(1, 1, 5));
    assert_eq!(log.tail_cut(), None, "zero padding is not a torn record");
}

#[test]
fn bit_flip_in_an_entry_payload_is_an_error_naming_the_log_directory_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.append(1, &entries(1, 1, 40)).unwrap();
        log.sync().unwrap();
        log.append(1, &entries(1, 41, 42)).unwrap();
        log.sync().unwrap();
    }
    // Entry payloads sit in the first batch's compressed block, after its item headers: a
    // flip a third of the way into the file hits them, below the sync mark.
    let file = log_files(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&file).unwrap().len() as usize;
    flip_bit(&file, len / 3, 2);
    match LogEngine::open(dir.path(), common::config()) {
        Err(err @ StorageError::CorruptLog { .. }) => {
            let text = err.to_string();
            assert!(
                text.contains(&dir.path().join("log").display().to_string()),
                "{text}"
            );
            assert!(text.contains("group 1, entry "), "{text}");
        }
        Err(StorageError::DurableDataLost { .. }) => {
            panic!("the flip hit a batch header, not a payload: pick another offset")
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("opened a log with a flipped payload bit"),
    }
}

/// Writes two groups in several synced batches, as a Raft node would.
fn write_synced_log(dir: &Path) {
    let log = open(dir);
    for round in 0..4u64 {
        log.append(1, &entries(1, round * 3 + 1, round * 3 + 3))
            .unwrap();
        log.append(2, &entries(2, round * 2 + 1, round * 2 + 2))
            .unwrap();
        log.sync().unwrap();
    }
}

fn all_data_intact(log: &LogEngine) -> bool {
    log.entries(1, 1, 13).ok() == Some(entries(1, 1, 12))
        && log.entries(2, 1, 9).ok() == Some(entries(2, 1, 8))
}

#[test]
fn any_bit_flip_in_synced_data_fails_open_or_changes_nothing() {
    let written = tempfile::tempdir().unwrap();
    write_synced_log(written.path());
    let file_name = log_files(written.path()).pop().unwrap();
    let file_name = file_name.file_name().unwrap();
    let len = std::fs::metadata(log_files(written.path()).pop().unwrap())
        .unwrap()
        .len() as usize;
    let (mut lost, mut checksum, mut harmless) = (0, 0, 0);
    for offset in 0..len {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(written.path(), dir.path());
        flip_bit(
            &dir.path().join("log").join(file_name),
            offset,
            (offset % 8) as u8,
        );
        match LogEngine::open(dir.path(), common::config()) {
            Ok(log) => {
                assert!(
                    all_data_intact(&log),
                    "flip at {offset} opened with wrong or missing data"
                );
                harmless += 1;
            }
            Err(StorageError::DurableDataLost { .. }) => lost += 1,
            Err(StorageError::CorruptLog { dir: named, detail }) => {
                assert_eq!(named, dir.path().join("log"), "flip at {offset}: {detail}");
                checksum += 1;
            }
            Err(other) => panic!("flip at {offset}: unexpected error {other}"),
        }
    }
    eprintln!("flips: lost {lost}, checksum {checksum}, harmless {harmless} of {len}");
    // Both detection paths must have fired; harmless flips hit only the trailing sync record.
    assert!(
        lost > 0 && checksum > 0,
        "lost {lost}, checksum {checksum}, harmless {harmless}"
    );
    assert!(
        harmless < len / 10,
        "lost {lost}, checksum {checksum}, harmless {harmless}"
    );
}

#[test]
fn without_sync_marks_raft_engine_cuts_silently_and_check_recovered_catches_it() {
    let dir = tempfile::tempdir().unwrap();
    write_synced_log(dir.path());
    std::fs::remove_file(dir.path().join("sync-marks")).unwrap();
    let file = log_files(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&file).unwrap().len() as usize;
    // Corrupt the start of the second half: raft-engine treats it as a torn tail.
    let mut bytes = std::fs::read(&file).unwrap();
    for b in &mut bytes[len / 2..len / 2 + 16] {
        *b = !*b;
    }
    std::fs::write(&file, bytes).unwrap();
    let log = open(dir.path());
    assert!(
        log.last_index(1).unwrap() < 12,
        "expected raft-engine to drop the tail"
    );
    let err = log.check_recovered(1, 12).unwrap_err();
    assert!(
        matches!(err, StorageError::DurableDataLost { group: 1, .. }),
        "{err}"
    );
}

#[test]
fn corrupt_sync_mark_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write_synced_log(dir.path());
    flip_bit(&dir.path().join("sync-marks"), 10, 0);
    match LogEngine::open(dir.path(), common::config()) {
        Err(StorageError::CorruptFile { path, .. }) => assert!(path.ends_with("sync-marks")),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("opened with a corrupt sync-mark file"),
    }
}

/// One step of the property test: append `count` entries to `group`, then maybe sync.
#[derive(Clone, Debug)]
struct Step {
    group: u64,
    count: u64,
    payload_len: usize,
    sync: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (1..=3u64, 1..=4u64, 0..400usize, any::<bool>()).prop_map(
        |(group, count, payload_len, sync)| Step {
            group,
            count,
            payload_len,
            sync,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Truncating the newest log file at any offset gives each group a prefix of what was
    /// written, or a `DurableDataLost` error if synced data was cut; never other data.
    #[test]
    fn truncation_at_any_offset_yields_a_prefix(
        steps in proptest::collection::vec(step(), 1..12),
        cut_permille in 0..1000u64,
        keep_marks in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut written: std::collections::BTreeMap<u64, Vec<(u64, bytes::Bytes)>> = Default::default();
        {
            let log = open(dir.path());
            for s in &steps {
                let group_log = written.entry(s.group).or_default();
                let from = group_log.len() as u64 + 1;
                let batch: Vec<_> = (from..from + s.count)
                    .map(|i| (i, bytes::Bytes::from(vec![(i % 251) as u8; s.payload_len])))
                    .collect();
                log.append(s.group, &batch).unwrap();
                group_log.extend(batch);
                if s.sync {
                    log.sync().unwrap();
                }
            }
        }
        if !keep_marks {
            let _ = std::fs::remove_file(dir.path().join("sync-marks"));
        }
        let file = log_files(dir.path()).pop().unwrap();
        let len = std::fs::metadata(&file).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.set_len(len * cut_permille / 1000).unwrap();
        drop(f);
        match LogEngine::open(dir.path(), common::config()) {
            Ok(log) => {
                for (group, expected) in &written {
                    let Some(last) = log.last_index(*group) else { continue };
                    prop_assert_eq!(log.first_index(*group), Some(1));
                    let got = log.entries(*group, 1, last + 1).unwrap();
                    prop_assert_eq!(&got[..], &expected[..got.len()]);
                }
            }
            Err(StorageError::DurableDataLost { .. }) => prop_assert!(keep_marks),
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }
}
