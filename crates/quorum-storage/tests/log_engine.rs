//! Behaviour of `LogEngine` through its public API, on real files with real fsync: appends,
//! conflicts, truncation, purging, metadata, group isolation and reopening.
//! Corruption and recovery live in `recovery.rs`.

mod common;

use bytes::Bytes;
use common::{entries, open, payload};
use quorum_storage::{StorageError, RESERVED_GROUP};

#[test]
fn append_sync_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        assert_eq!((log.first_index(1), log.last_index(1)), (None, None));
        log.append(1, &entries(1, 1, 5)).unwrap();
        log.append(1, &entries(1, 6, 10)).unwrap();
        assert_eq!(log.entries(1, 3, 8).unwrap(), entries(1, 3, 7));
        log.sync().unwrap();
    }
    let log = open(dir.path());
    assert_eq!((log.first_index(1), log.last_index(1)), (Some(1), Some(10)));
    assert_eq!(log.entries(1, 1, 11).unwrap(), entries(1, 1, 10));
    assert_eq!(log.groups(), vec![1]);
}

#[test]
fn conflicting_append_replaces_the_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let replacement: Vec<_> = (5..=7)
        .map(|i| (i, Bytes::from(format!("new{i}"))))
        .collect();
    {
        let log = open(dir.path());
        log.append(1, &entries(1, 1, 10)).unwrap();
        log.sync().unwrap();
        log.append(1, &replacement).unwrap();
        assert_eq!(log.last_index(1), Some(7));
        log.sync().unwrap();
    }
    let log = open(dir.path());
    assert_eq!(log.last_index(1), Some(7));
    assert_eq!(log.entries(1, 4, 8).unwrap()[1..], replacement[..]);
    assert_eq!(log.entries(1, 1, 5).unwrap(), entries(1, 1, 4));
}

#[test]
fn truncate_then_append_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.append(1, &entries(1, 1, 10)).unwrap();
        log.sync().unwrap();
        log.truncate_from(1, 6).unwrap();
        assert_eq!(log.last_index(1), Some(5));
        assert!(matches!(
            log.entries(1, 5, 7),
            Err(StorageError::OutOfRange { .. })
        ));
        // Appending past the truncation point would leave a hole.
        assert!(matches!(
            log.append(1, &entries(1, 7, 8)),
            Err(StorageError::InvalidAppend { .. })
        ));
        log.sync().unwrap();
    }
    {
        let log = open(dir.path());
        assert_eq!(log.last_index(1), Some(5));
        log.append(1, &[(6, Bytes::from_static(b"six"))]).unwrap();
        log.sync().unwrap();
    }
    let log = open(dir.path());
    assert_eq!(log.last_index(1), Some(6));
    assert_eq!(
        log.entries(1, 6, 7).unwrap(),
        vec![(6, Bytes::from_static(b"six"))]
    );
    assert_eq!(log.entries(1, 1, 6).unwrap(), entries(1, 1, 5));
}

#[test]
fn truncate_everything_then_restart_at_first_index() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.append(1, &entries(1, 3, 9)).unwrap();
        log.sync().unwrap();
        log.truncate_from(1, 3).unwrap();
        assert_eq!(log.last_index(1), None);
        log.sync().unwrap();
    }
    let log = open(dir.path());
    assert_eq!(log.last_index(1), None);
    log.append(1, &entries(1, 3, 4)).unwrap();
    assert_eq!(log.entries(1, 3, 5).unwrap(), entries(1, 3, 4));
}

#[test]
fn purge_then_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.append(1, &entries(1, 1, 10)).unwrap();
        log.purge_to(1, 4).unwrap();
        assert_eq!((log.first_index(1), log.last_index(1)), (Some(5), Some(10)));
        assert!(matches!(
            log.entries(1, 4, 6),
            Err(StorageError::OutOfRange { .. })
        ));
        log.sync().unwrap();
    }
    {
        let log = open(dir.path());
        assert_eq!((log.first_index(1), log.last_index(1)), (Some(5), Some(10)));
        assert_eq!(log.entries(1, 5, 11).unwrap(), entries(1, 5, 10));
        // A snapshot beyond the log: everything goes, the purge point stays.
        log.purge_to(1, 12).unwrap();
        assert_eq!((log.first_index(1), log.last_index(1)), (None, None));
        log.sync().unwrap();
        log.reclaim_space().unwrap();
    }
    let log = open(dir.path());
    assert_eq!(log.purged_index(1), Some(12));
    // An empty log restarts wherever openraft says (it may append at or below the purge point).
    log.append(1, &entries(1, 12, 12)).unwrap();
    log.append(1, &entries(1, 13, 14)).unwrap();
    assert_eq!(log.entries(1, 12, 15).unwrap(), entries(1, 12, 14));
    // Overwriting purged entries is refused, never a raft-engine panic.
    assert!(matches!(
        log.append(1, &entries(1, 11, 13)),
        Err(StorageError::InvalidAppend { .. })
    ));
}

#[test]
fn groups_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        for i in 1..=10 {
            log.append(1, &entries(1, i, i)).unwrap();
            log.append(2, &entries(2, i + 100, i + 100)).unwrap();
        }
        log.put_meta(1, b"vote", b"one", true).unwrap();
        log.put_meta(2, b"vote", b"two", false).unwrap();
        log.truncate_from(1, 4).unwrap();
        log.purge_to(2, 105).unwrap();
        log.sync().unwrap();
    }
    let log = open(dir.path());
    assert_eq!((log.first_index(1), log.last_index(1)), (Some(1), Some(3)));
    assert_eq!(
        (log.first_index(2), log.last_index(2)),
        (Some(106), Some(110))
    );
    assert_eq!(log.entries(2, 106, 111).unwrap(), entries(2, 106, 110));
    assert_eq!(log.get_meta(1, b"vote").unwrap(), Some(b"one".to_vec()));
    assert_eq!(log.get_meta(2, b"vote").unwrap(), Some(b"two".to_vec()));
    assert_eq!(log.get_meta(3, b"vote").unwrap(), None);
    assert_eq!(log.purged_index(1), None);
}

#[test]
fn meta_overwrite_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.put_meta(7, b"committed", &5u64.to_be_bytes(), false)
            .unwrap();
        log.put_meta(7, b"committed", &9u64.to_be_bytes(), true)
            .unwrap();
    }
    let log = open(dir.path());
    assert_eq!(
        log.get_meta(7, b"committed").unwrap(),
        Some(9u64.to_be_bytes().to_vec())
    );
}

#[test]
fn bad_appends_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(1, &entries(1, 5, 6)).unwrap();
    let hole = log.append(1, &entries(1, 8, 9));
    assert!(
        matches!(hole, Err(StorageError::InvalidAppend { index: 8, .. })),
        "{hole:?}"
    );
    let below = log.append(1, &entries(1, 4, 4));
    assert!(
        matches!(below, Err(StorageError::InvalidAppend { .. })),
        "{below:?}"
    );
    let gap = log.append(1, &[(7, payload(1, 7)), (9, payload(1, 9))]);
    assert!(
        matches!(gap, Err(StorageError::InvalidAppend { .. })),
        "{gap:?}"
    );
    assert!(log.append(RESERVED_GROUP, &entries(1, 1, 1)).is_err());
    assert!(log.entries(1, 5, 8).is_err());
    assert_eq!(log.last_index(1), Some(6));
    log.append(1, &[]).unwrap();
}

#[test]
fn concurrent_groups_share_syncs() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        std::thread::scope(|s| {
            for group in 1..=4u64 {
                let log = &log;
                s.spawn(move || {
                    for i in 1..=50 {
                        log.append(group, &entries(group, i, i)).unwrap();
                        log.sync().unwrap();
                    }
                });
            }
        });
    }
    let log = open(dir.path());
    for group in 1..=4 {
        assert_eq!(log.entries(group, 1, 51).unwrap(), entries(group, 1, 50));
    }
}

#[test]
fn check_recovered_compares_with_the_callers_committed_index() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(1, &entries(1, 1, 10)).unwrap();
    log.check_recovered(1, 10).unwrap();
    let err = log.check_recovered(1, 11).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::DurableDataLost {
                group: 1,
                durable_index: 11,
                ..
            }
        ),
        "{err}"
    );
    assert!(log.check_recovered(2, 1).is_err());
}
