//! Crash and corruption recovery of `LogEngine` on real files: a torn tail of unsynced writes is
//! cut and the engine works on; corruption of synced data is an open error, never silently lost;
//! truncating the log anywhere yields a prefix of what was written or a clear error.

mod common;

use std::path::Path;

use common::{copy_dir, entries, flip_bit, log_files, open, tear_tail};
use proptest::prelude::*;
use quorum_storage::{LogEngine, LogEngineConfig, StorageError, TailDamage};

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
    // A crash leaves the last record short: its end never reached the disk, and what the
    // file holds past the written part reads as zeros.
    tear_tail(&file, 5, &[0; 37]);
    {
        let log = open(dir.path());
        let cut = log.tail_cut().expect("the torn tail is reported");
        assert_eq!(cut.file, file);
        assert!(cut.kept_bytes < cut.written_bytes, "{cut:?}");
        assert!(matches!(cut.damage, TailDamage::Torn(_)), "{cut:?}");
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

/// The log of a node whose sync mark lags (raised at most once an hour): two synced batches,
/// then a third, synced too but above the mark, as after a crash within the mark's interval.
/// Returns the newest file and where the third batch's record starts in it.
fn log_with_records_above_the_sync_mark(dir: &Path) -> (std::path::PathBuf, usize) {
    let config = LogEngineConfig {
        sync_mark_interval_ms: 3_600_000,
        ..common::config()
    };
    let log = LogEngine::open(dir, config).unwrap();
    log.append(1, &entries(1, 1, 5)).unwrap();
    log.sync().unwrap();
    log.append(1, &entries(1, 6, 8)).unwrap();
    log.sync().unwrap();
    let file = log_files(dir).pop().unwrap();
    let third_at = common::written_end(&file);
    let marks = dir.join("sync-marks");
    let lagging_marks = std::fs::read(&marks).unwrap();
    log.append(1, &entries(1, 9, 12)).unwrap();
    log.sync().unwrap();
    // A crash: a clean close would have written the pending mark.
    drop(log);
    std::fs::write(&marks, lagging_marks).unwrap();
    (file, third_at)
}

/// The blind spot the sync mark leaves: synced records above a lagging mark. A bit flip in a
/// record that was written whole is not a torn write, so the node must not open with the
/// records cut (it acknowledged them); a torn write of the same record opens.
#[test]
fn bit_flip_in_synced_records_above_the_sync_mark_is_an_error_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (file, third_at) = log_with_records_above_the_sync_mark(dir.path());
    let end = common::written_end(&file);
    let mut judged_cuts = 0;
    // Not the high bytes of a record's length: a flip there makes the record run past the
    // written part, which is what a torn write looks like (see `TailDamage`).
    for offset in [
        third_at + 6,
        third_at + 7,
        third_at + 9,
        (third_at + end) / 2,
        end - 1,
    ] {
        let damaged = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), damaged.path());
        let damaged_file = damaged.path().join("log").join(file.file_name().unwrap());
        flip_bit(&damaged_file, offset, 5);
        match LogEngine::open(damaged.path(), common::config()) {
            // Either the judged cut, or (a flip in an entry payload that recovery does not
            // check) the checksum pass over every entry.
            Err(StorageError::CorruptLog { detail, .. }) => {
                judged_cuts += usize::from(detail.contains("not for a torn write"));
            }
            Err(other) => panic!("flip at {offset}: unexpected error {other}"),
            Ok(log) => panic!(
                "flip at {offset} of {end}: opened with last index {:?}, cut {:?}",
                log.last_index(1),
                log.tail_cut()
            ),
        }
    }
    assert!(
        judged_cuts >= 3,
        "only {judged_cuts} flips were judged as a cut"
    );
    // The same record torn by a crash (cut short) opens without it.
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len((third_at + (end - third_at) / 2) as u64).unwrap();
    drop(f);
    let log = open(dir.path());
    assert_eq!(log.last_index(1), Some(8));
    assert!(matches!(
        log.tail_cut().unwrap().damage,
        TailDamage::Torn(_)
    ));
}

/// Bytes that are neither the record nor zeros where a record's end should be: not what a
/// crash leaves on a preallocated file, so not taken for a torn write.
#[test]
fn garbage_over_a_records_end_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = log_with_records_above_the_sync_mark(dir.path());
    tear_tail(&file, 5, &[0xAB; 37]);
    match LogEngine::open(dir.path(), common::config()) {
        Err(StorageError::CorruptLog { detail, .. }) => {
            assert!(detail.contains("not for a torn write"), "{detail}")
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(log) => panic!("opened, cut {:?}", log.tail_cut()),
    }
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
    // Cut the file in half: raft-engine treats it as a torn tail.
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(len as u64 / 2).unwrap();
    drop(f);
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
