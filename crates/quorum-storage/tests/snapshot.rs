//! `SnapshotStore` on real files: round trip, replacement of older snapshots, corruption is an
//! error naming the file, and temp files from an interrupted save are cleaned up.

mod common;

use common::flip_bit;
use quorum_storage::{SnapshotStore, StorageError};

fn snapshot_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn save_load_round_trip_keeps_only_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..100_000u32)
        .flat_map(|i| (i % 97).to_le_bytes())
        .collect();
    {
        let store = SnapshotStore::open(dir.path()).unwrap();
        assert_eq!(store.load_latest().unwrap(), None);
        store.save("1-10-1", b"meta one", b"old").unwrap();
        store.save("2-20-2", b"meta two", &data).unwrap();
    }
    assert_eq!(snapshot_files(dir.path()).len(), 1);
    let store = SnapshotStore::open(dir.path()).unwrap();
    let loaded = store.load_latest().unwrap().unwrap();
    assert_eq!(
        (loaded.id.as_str(), &loaded.meta[..]),
        ("2-20-2", &b"meta two"[..])
    );
    assert_eq!(loaded.data, data);
    store.save("3-30-3", b"", b"").unwrap();
    let loaded = store.load_latest().unwrap().unwrap();
    assert_eq!(
        (loaded.id.as_str(), loaded.meta.len(), loaded.data.len()),
        ("3-30-3", 0, 0)
    );
}

#[test]
fn corrupt_snapshot_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    store.save("1-1-1", b"meta", &[42u8; 5000]).unwrap();
    let path = dir.path().join(&snapshot_files(dir.path())[0]);
    flip_bit(&path, 40, 3);
    match store.load_latest() {
        Err(StorageError::CorruptFile { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected a corrupt-file error, got {other:?}"),
    }
    let message = store.load_latest().unwrap_err().to_string();
    assert!(message.contains(path.to_str().unwrap()), "{message}");
}

#[test]
fn truncated_snapshot_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    store.save("1-1-1", b"meta", &[1u8; 5000]).unwrap();
    let path = dir.path().join(&snapshot_files(dir.path())[0]);
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    assert!(matches!(
        store.load_latest(),
        Err(StorageError::CorruptFile { .. })
    ));
}

#[test]
fn temp_leftovers_are_removed_and_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SnapshotStore::open(dir.path()).unwrap();
        store.save("1-1-1", b"m", b"committed").unwrap();
    }
    // A save interrupted before its rename, with a higher sequence number.
    std::fs::write(
        dir.path().join("snapshot-00000000000000000009.snap.tmp"),
        b"half written",
    )
    .unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    assert_eq!(
        snapshot_files(dir.path()),
        vec!["snapshot-00000000000000000001.snap".to_owned()]
    );
    assert_eq!(store.load_latest().unwrap().unwrap().data, b"committed");
    std::fs::write(
        dir.path().join("snapshot-00000000000000000009.snap.tmp"),
        b"again",
    )
    .unwrap();
    assert_eq!(store.load_latest().unwrap().unwrap().id, "1-1-1");
    assert_eq!(snapshot_files(dir.path()).len(), 1);
}

/// A leader streams its newest snapshot to a follower (`load_latest`) while it saves the next
/// one: the load used to delete the save's temp file as a crash leftover, and the save could
/// delete the file the load was about to read; either error stopped the Raft core (found by
/// the openraft #511 regression scenario, which snapshots after every entry).
#[test]
fn loads_and_saves_at_the_same_time_never_fail() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SnapshotStore::open(dir.path()).unwrap());
    store.save("0", b"meta", &[0u8; 4096]).unwrap();
    let saver = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 1..=200u32 {
                store
                    .save(&i.to_string(), b"meta", &i.to_le_bytes().repeat(1024))
                    .unwrap_or_else(|e| panic!("save {i}: {e}"));
            }
        })
    };
    for round in 0..2_000 {
        let loaded = store
            .load_latest()
            .unwrap_or_else(|e| panic!("load {round}: {e}"))
            .expect("a snapshot");
        assert_eq!(loaded.meta, b"meta");
        if saver.is_finished() {
            break;
        }
    }
    saver.join().expect("saver");
    assert_eq!(store.load_latest().unwrap().unwrap().id, "200");
}
