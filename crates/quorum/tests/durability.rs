//! Durability of acknowledged writes across crashes and damaged or missing data directories,
//! with real `quorum node` processes:
//!
//! * `kill9_all_nodes_under_load`: all three nodes are `kill -9`ed during a write load and
//!   restarted from their data directories; every acknowledged write is there, INCRs counted
//!   at most once and never lost.
//! * `torn_tail_garbage_is_truncated` / `torn_tail_cut_short_is_truncated`: a follower is
//!   `kill -9`ed, garbage is appended to (or a few bytes cut from) the end of its newest
//!   raft-engine file; it starts anyway (the torn tail is cut, not fatal), catches up and serves
//!   every acknowledged write. `torn_tail_mid_burst_loses_entries_and_refetches_them` cuts the
//!   file halfway through the last writes, so whole log entries are lost and must be sent
//!   again: entries that were fsynced but lie above the storage's sync mark, the window that
//!   `quorum-storage` documents as indistinguishable from a torn tail. The follower must rejoin
//!   with its shorter log and the leader must survive that.
//!   `bit_flip_in_records_synced_within_the_sync_mark_interval_is_refused` flips one bit in
//!   the same place instead: a record written whole and damaged is not a torn write, so the
//!   follower refuses to start (naming the file) instead of cutting data it acknowledged.
//! * `wiped_follower_is_restored_by_snapshot`: with frequent snapshots and the log purged behind
//!   them, a follower whose data directory is deleted refuses to rejoin under its old id; the
//!   new node that replaces it (`remove-node`, `add-node`) comes back through a snapshot
//!   install.
//! * `whole_cluster_restart_after_snapshots`: after snapshots were taken and more log was
//!   written, every node is `kill -9`ed and restarted: snapshot plus log replay restore it all.
//!
//! Every wait is bounded by a deadline; measured figures go to stderr (`--nocapture` shows them).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use common::load::{
    assert_incr_replies_sane, assert_node_has_acked, connect, info_raft, start_load, status_u64,
    summarize, wait_converged, WriterLog, RUN_PHASE,
};
use common::{cluster as start_cluster, roles};
use quorum_testkit::disk::{newest_raft_log, written_end};
use quorum_testkit::{poll_until, Cluster};

/// Writes `key-<t>-<i> = i` for `per_thread` values of `i` from threads `first_thread..`, one
/// thread per entry of `nodes`, with plain sequential SETs (one request per round trip, so many
/// small log entries). No fault is running, so every write must succeed.
fn fill(cluster: &Cluster, nodes: &[u64], first_thread: usize, per_thread: u64) -> Vec<WriterLog> {
    let handles: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, &node)| {
            let addr = cluster.node(node).resp_addr();
            let thread = first_thread + n;
            std::thread::spawn(move || {
                let mut conn = connect(addr).expect("connect");
                for i in 0..per_thread {
                    let reply: redis::Value = redis::cmd("SET")
                        .arg(format!("key-{thread}-{i}"))
                        .arg(i)
                        .query(&mut conn)
                        .unwrap_or_else(|e| panic!("SET on node {node} without a fault: {e}"));
                    assert_eq!(reply, redis::Value::Okay);
                }
                WriterLog {
                    thread,
                    node,
                    acked_sets: (0..per_thread).collect(),
                    ..WriterLog::default()
                }
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("fill thread panicked"))
        .collect()
}

fn info_u64(info: &BTreeMap<String, String>, field: &str) -> u64 {
    info.get(field).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Waits until node `id` reports `field` (an `/admin/status` number) above zero.
fn wait_status_positive(cluster: &Cluster, id: u64, field: &str, timeout: Duration) -> u64 {
    poll_until(
        &format!("node {id} to report {field} > 0"),
        timeout,
        Duration::from_millis(50),
        || {
            let s = cluster.node(id).status().map_err(|e| format!("{e:#}"))?;
            let v = status_u64(&s, field);
            Ok((v > 0).then_some(v))
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
}

// ---------------------------------------------------------------------------------------------
// Raw log files.
// ---------------------------------------------------------------------------------------------

/// The sync marks (group -> index known fsynced) from `<data-dir>/raft-log/sync-marks`:
/// magic, u32 count, count x (u64 group, u64 index), crc32, little-endian.
fn sync_marks(data_dir: &Path) -> Vec<(u64, u64)> {
    let Ok(bytes) = std::fs::read(data_dir.join("raft-log").join("sync-marks")) else {
        return Vec::new();
    };
    if bytes.len() < 16 {
        return Vec::new();
    }
    bytes[12..bytes.len() - 4]
        .chunks_exact(16)
        .map(|r| {
            let group = u64::from_le_bytes(r[..8].try_into().expect("8 bytes"));
            let index = u64::from_le_bytes(r[8..].try_into().expect("8 bytes"));
            (group, index)
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tear {
    /// Bytes that are not a valid record written where the next record would go.
    Garbage,
    /// The last few bytes of the last record cut off.
    CutShort,
    /// The file cut in the middle of the bytes the burst wrote: a torn write that loses
    /// log entries (not just trailing metadata), which the leader must send again.
    MidBurst,
    /// One bit flipped in the header of the burst's second record: synced, acknowledged data
    /// damaged, not a torn write. The node must refuse to start rather than cut it.
    BitFlip,
}

/// Damages the tail of `file`; `burst_from` is where the file's written part ended before the
/// burst.
fn tear(file: &Path, how: Tear, burst_from: usize) -> String {
    let bytes = std::fs::read(file).expect("read raftlog");
    let end = written_end(&bytes);
    assert!(end > 64, "{} holds no records", file.display());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .expect("open raftlog");
    match how {
        Tear::Garbage => {
            // Deterministic pseudo-random bytes (xorshift), no zero runs that look like padding.
            let mut x = 0x9E37_79B9_7F4A_7C15u64;
            let garbage: Vec<u8> = (0..97)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x as u8) | 1
                })
                .collect();
            f.seek(SeekFrom::Start(end as u64)).expect("seek");
            f.write_all(&garbage).expect("write garbage");
            f.sync_all().expect("fsync");
            format!(
                "wrote {} garbage bytes at offset {end} of {} (file {} bytes)",
                garbage.len(),
                file.display(),
                bytes.len()
            )
        }
        Tear::MidBurst => {
            assert!(
                end > burst_from,
                "the burst wrote nothing to {}",
                file.display()
            );
            let at = burst_from + (end - burst_from) / 2;
            f.set_len(at as u64).expect("truncate");
            f.sync_all().expect("fsync");
            format!(
                "cut {} from {} bytes to {at}, halfway through the {} bytes the burst wrote",
                file.display(),
                bytes.len(),
                end - burst_from
            )
        }
        Tear::BitFlip => {
            // The burst's first record holds the entry the sync mark was raised to (the
            // mark's interval had passed), so damage there is caught by the mark alone; the
            // second record lies above the mark. raft-engine frames a record with a
            // big-endian `len << 8 | compression` header; byte 12 of a record is a high byte
            // of its item offset, zero in any record of this size: flipped, the header is
            // invalid.
            let first_len = u64::from_be_bytes(
                bytes[burst_from..burst_from + 8]
                    .try_into()
                    .expect("8 bytes"),
            ) >> 8;
            let at = burst_from + first_len as usize + 12;
            assert!(
                end > at + 16,
                "the burst wrote nothing to {}",
                file.display()
            );
            f.seek(SeekFrom::Start(at as u64)).expect("seek");
            f.write_all(&[bytes[at] ^ 0x40]).expect("flip");
            f.sync_all().expect("fsync");
            format!(
                "flipped bit 6 of byte {at} of {} (the burst wrote bytes {burst_from}..{end})",
                file.display()
            )
        }
        Tear::CutShort => {
            let cut = 7;
            f.set_len((end - cut) as u64).expect("truncate");
            f.sync_all().expect("fsync");
            format!(
                "cut {} from {} bytes to {} (the last {cut} written bytes)",
                file.display(),
                bytes.len(),
                end - cut
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn kill9_all_nodes_under_load() {
    let started = Instant::now();
    let mut cluster = start_cluster(&[]);
    let load = start_load(&cluster);
    load.wait_acks(400, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going");
    // Every node dies at once, mid-write: nothing gets a chance to flush or step down.
    let ids = cluster.ids();
    for &id in &ids {
        cluster.node_mut(id).kill9().expect("kill -9");
    }
    let logs = load.finish();
    summarize(&logs);

    let restarted_at = Instant::now();
    for &id in &ids {
        cluster.node_mut(id).restart().expect("restart");
    }
    let leader = cluster
        .wait_for_leader(Duration::from_secs(20))
        .expect("a leader after restarting all nodes");
    let leader_after = restarted_at.elapsed();
    let index = wait_converged(&cluster, &ids, Duration::from_secs(20)).expect("converge");
    assert_incr_replies_sane(&logs);
    let mut counters = BTreeSet::new();
    for &id in &ids {
        counters.insert(assert_node_has_acked(&cluster, id, true, &logs));
    }
    assert_node_has_acked(&cluster, leader, false, &logs);
    assert_eq!(counters.len(), 1, "nodes disagree on counter: {counters:?}");
    eprintln!(
        "kill9_all_nodes_under_load: {} SETs and {} INCRs acknowledged before the crash; after \
         restart node {leader} led in {leader_after:?}, all nodes at index {index} hold every \
         one, counter {counters:?} ({} INCRs sent); test took {:?}",
        logs.iter().map(|l| l.acked_sets.len()).sum::<usize>(),
        logs.iter().map(|l| l.incr_replies.len()).sum::<usize>(),
        logs.iter().map(|l| l.incr_sent).sum::<u64>(),
        started.elapsed()
    );
}

fn torn_tail(how: Tear) {
    let started = Instant::now();
    let mut cluster = start_cluster(&[]);
    let (leader, followers) = roles(&mut cluster);
    let follower = followers[0];
    let ids = cluster.ids();

    let load = start_load(&cluster);
    load.wait_acks(300, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going");
    let mut logs = load.finish();
    wait_converged(&cluster, &ids, Duration::from_secs(15)).expect("converge");

    // The storage keeps, outside the log, an index known to be fsynced (its "sync mark"),
    // rewritten at most once a second, and refuses to start if recovery cuts the log below it:
    // that is synced data lost, not a torn tail. A real torn tail only holds unsynced bytes. So
    // the damaged records must lie above the mark: stay idle past the 1 s interval (the next
    // fsync then moves the mark at once), write a short burst, and kill the follower well
    // within a second of the burst's first write, before the mark can move again.
    std::thread::sleep(Duration::from_millis(1200));
    let data_dir = cluster.node(follower).data_dir().to_path_buf();
    let burst_from = written_end(
        &std::fs::read(newest_raft_log(&data_dir).expect("the follower's newest log file"))
            .expect("read raftlog"),
    );
    let mut conn = cluster.client(leader).expect("client");
    let burst_at = Instant::now();
    let burst = 20u64;
    for i in 0..burst {
        let reply: redis::Value = redis::cmd("SET")
            .arg(format!("key-1000-{i}"))
            .arg(i)
            .query(&mut conn)
            .expect("burst SET");
        assert_eq!(reply, redis::Value::Okay);
    }
    logs.push(WriterLog {
        thread: 1000,
        node: leader,
        acked_sets: (0..burst).collect(),
        ..WriterLog::default()
    });
    let leader_last = status_u64(
        &cluster.node(leader).status().expect("status"),
        "last_log_index",
    );
    let follower_last = poll_until(
        "the follower to append the burst",
        Duration::from_millis(600),
        Duration::from_millis(5),
        || {
            let s = cluster
                .node(follower)
                .status()
                .map_err(|e| format!("{e:#}"))?;
            let last = status_u64(&s, "last_log_index");
            Ok((last >= leader_last).then_some(last))
        },
    )
    .expect("follower appends the burst");
    cluster
        .node_mut(follower)
        .kill9()
        .expect("kill -9 follower");
    let killed_after = burst_at.elapsed();
    let marks = sync_marks(&data_dir);
    eprintln!(
        "torn tail ({how:?}): follower {follower} killed {killed_after:?} after the burst began, \
         last log index {follower_last}, sync marks {marks:?}"
    );
    assert!(
        killed_after < Duration::from_millis(900),
        "test precondition: the follower must die within the sync-mark interval of the burst"
    );

    let what = tear(
        &newest_raft_log(&data_dir).expect("the follower's newest log file"),
        how,
        burst_from,
    );
    eprintln!("  {what}");
    let log_len_before = cluster.node(follower).log().len();
    let restarted_at = Instant::now();
    cluster.node_mut(follower).restart().expect("restart");
    if how == Tear::BitFlip {
        let err = cluster
            .node_mut(follower)
            .wait_serving(Duration::from_secs(15))
            .expect_err("a follower whose synced records were damaged must not start");
        poll_until(
            "the damaged follower to exit",
            Duration::from_secs(10),
            Duration::from_millis(50),
            || Ok((!cluster.node_mut(follower).is_running()).then_some(())),
        )
        .unwrap_or_else(|e| panic!("{e:#}; it neither served nor exited: {err:#}"));
        let new_log = cluster.node(follower).log();
        let refusal = new_log[log_len_before.min(new_log.len())..]
            .lines()
            .find(|l| l.contains("not for a torn write"))
            .unwrap_or_else(|| panic!("no refusal naming the damage in:\n{new_log}"))
            .to_string();
        assert!(
            refusal.contains(&data_dir.display().to_string()),
            "{refusal}"
        );
        // The two others still hold and serve every acknowledged write.
        wait_converged(&cluster, &[leader, followers[1]], Duration::from_secs(20))
            .expect("the two undamaged nodes converge");
        assert_node_has_acked(&cluster, leader, false, &logs);
        eprintln!("  refused: {refusal}; test took {:?}", started.elapsed());
        return;
    }
    cluster
        .node_mut(follower)
        .wait_serving(Duration::from_secs(15))
        .expect("the follower starts despite the torn tail");
    let s = cluster.node(follower).status().expect("status");
    // Informational only: the leader may already have sent the lost entries again.
    let recovered_last = status_u64(&s, "last_log_index");
    // raft-engine says when recovery cut a broken batch: proof that the damage was seen and
    // the tail dropped, rather than the bytes being ignored.
    let new_log = cluster.node(follower).log();
    let recovery_lines: Vec<String> = new_log[log_len_before.min(new_log.len())..]
        .lines()
        .filter(|l| l.contains("Truncating log file"))
        .map(str::to_string)
        .collect();
    assert!(
        !recovery_lines.is_empty(),
        "the restarted follower did not report truncating its torn tail"
    );

    // More writes through the restarted node (forwarded to the leader) while it catches up.
    let more = fill(&cluster, &[follower], 1001, 50);
    logs.extend(more);
    let index = wait_converged(&cluster, &ids, Duration::from_secs(20)).unwrap_or_else(|e| {
        panic!(
            "the cluster did not converge after the follower restarted: {e:#}\npanics in node \
             logs: {:#?}",
            panics(&cluster)
        )
    });
    let caught_up = restarted_at.elapsed();
    assert_node_has_acked(&cluster, follower, true, &logs);
    eprintln!(
        "  restarted with last log index {recovered_last} (was {follower_last}), caught up to \
         {index} in {caught_up:?}; every acknowledged write present (READONLY); test took \
         {:?}; recovery: {recovery_lines:#?}",
        started.elapsed()
    );
}

/// Panic messages in any node's log (a panic inside the Raft core leaves the process up).
fn panics(cluster: &Cluster) -> Vec<String> {
    let mut out = Vec::new();
    for node in cluster.nodes() {
        let log = node.log();
        let lines: Vec<&str> = log.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains("panicked at") {
                let next = lines.get(i + 1).copied().unwrap_or("");
                out.push(format!("node {}: {line} {next}", node.id()));
            }
        }
    }
    out
}

#[test]
fn torn_tail_garbage_is_truncated() {
    torn_tail(Tear::Garbage);
}

#[test]
fn torn_tail_cut_short_is_truncated() {
    torn_tail(Tear::CutShort);
}

#[test]
fn torn_tail_mid_burst_loses_entries_and_refetches_them() {
    torn_tail(Tear::MidBurst);
}

#[test]
fn bit_flip_in_records_synced_within_the_sync_mark_interval_is_refused() {
    torn_tail(Tear::BitFlip);
}

/// Snapshot every 500 applied entries and keep only 100 behind it, so a few thousand writes
/// produce several snapshots and purge the start of the log.
const SNAPSHOT_ARGS: [&str; 4] = [
    "--snapshot-logs-since-last",
    "500",
    "--logs-to-keep-after-snapshot",
    "100",
];

#[test]
fn wiped_follower_is_restored_by_snapshot() {
    let started = Instant::now();
    let mut cluster = start_cluster(&SNAPSHOT_ARGS);
    let (leader, followers) = roles(&mut cluster);
    let follower = followers[0];
    let ids = cluster.ids();

    let fill_at = Instant::now();
    let mut logs = fill(&cluster, &[leader, leader, leader, leader], 0, 750);
    let filled_in = fill_at.elapsed();
    let snapshot =
        wait_status_positive(&cluster, leader, "snapshot_index", Duration::from_secs(10));
    // The start of the log must be gone, or the wiped node could catch up by log replay alone.
    let purged = poll_until(
        "the leader to purge its log behind a snapshot",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            let info = info_raft(&cluster, leader).map_err(|e| format!("{e:#}"))?;
            let purged = info_u64(&info, "raft_purged_index");
            Ok((purged > 0).then_some(purged))
        },
    )
    .expect("log purged");
    eprintln!(
        "wiped_follower_is_restored_by_snapshot: 3000 keys in {filled_in:?}; leader {leader} \
         snapshot index {snapshot}, purged up to {purged}"
    );

    cluster.node_mut(follower).stop().expect("stop follower");
    cluster.node_mut(follower).wipe_data().expect("wipe");
    let others: Vec<u64> = ids.iter().copied().filter(|&i| i != follower).collect();
    logs.extend(fill(&cluster, &others, 4, 500));

    // Under its old id it must refuse to rejoin (it would vote with amnesia, see
    // `tests/rejoin.rs`); it is replaced by a new node, as its error says.
    cluster.node_mut(follower).restart().expect("restart");
    let status = cluster
        .node_mut(follower)
        .wait_exit(Duration::from_secs(30))
        .expect("the wiped follower refuses to rejoin");
    assert!(!status.success(), "wiped follower exited with {status}");
    cluster
        .remove_node(follower)
        .expect("remove the wiped follower");
    let restarted_at = Instant::now();
    let follower = cluster.add_node().expect("add a new node");
    let ids: Vec<u64> = others.iter().copied().chain([follower]).collect();
    let index = wait_converged(&cluster, &ids, Duration::from_secs(30)).expect("catch up");
    let caught_up = restarted_at.elapsed();
    assert_node_has_acked(&cluster, follower, true, &logs);
    let s = cluster.node(follower).status().expect("status");
    let info = info_raft(&cluster, follower).expect("INFO raft");
    eprintln!(
        "  new node {follower} in place of the wiped follower caught up to index {index} in {caught_up:?}: status \
         snapshot_index {}, INFO raft_snapshot_index {}, raft_purged_index {}; all 4000 keys \
         present (READONLY); test took {:?}",
        status_u64(&s, "snapshot_index"),
        info_u64(&info, "raft_snapshot_index"),
        info_u64(&info, "raft_purged_index"),
        started.elapsed()
    );
    assert!(
        status_u64(&s, "snapshot_index") > 0,
        "restored follower reports no snapshot: {s}"
    );
    assert!(
        info_u64(&info, "raft_snapshot_index") > 0,
        "INFO raft shows no snapshot on the restored follower: {info:?}"
    );
}

#[test]
fn whole_cluster_restart_after_snapshots() {
    let started = Instant::now();
    let mut cluster = start_cluster(&SNAPSHOT_ARGS);
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("leader");
    let ids = cluster.ids();
    let mut logs = fill(&cluster, &[leader, leader, leader, leader], 0, 750);
    for &id in &ids {
        wait_status_positive(&cluster, id, "snapshot_index", Duration::from_secs(10));
    }
    // Then less than one snapshot interval more, which only the log holds.
    logs.extend(fill(&cluster, &ids, 4, 60));
    let index = wait_converged(&cluster, &ids, Duration::from_secs(15)).expect("converge");
    let mut before = BTreeMap::new();
    for &id in &ids {
        let s = cluster.node(id).status().expect("status");
        before.insert(id, status_u64(&s, "snapshot_index"));
    }
    eprintln!(
        "whole_cluster_restart_after_snapshots: 3180 keys, applied index {index}, snapshot \
         indexes before the crash {before:?}"
    );

    for &id in &ids {
        cluster.node_mut(id).kill9().expect("kill -9");
    }
    let restarted_at = Instant::now();
    for &id in &ids {
        cluster.node_mut(id).restart().expect("restart");
    }
    cluster
        .wait_for_leader(Duration::from_secs(20))
        .expect("a leader after restart");
    let index_after = wait_converged(&cluster, &ids, Duration::from_secs(20)).expect("converge");
    let back_in = restarted_at.elapsed();
    assert!(
        index_after >= index,
        "applied index went back: {index} -> {index_after}"
    );
    for &id in &ids {
        assert_node_has_acked(&cluster, id, true, &logs);
        let s = cluster.node(id).status().expect("status");
        let snap = status_u64(&s, "snapshot_index");
        eprintln!(
            "  node {id}: snapshot index {snap}, applied {} after restart",
            status_u64(&s, "applied_index")
        );
        assert!(
            snap > 0,
            "node {id} lost its snapshot across the restart: {s}"
        );
    }
    let replayed = ids.iter().any(|id| before[id] < index);
    eprintln!(
        "  all keys on all nodes (READONLY) {back_in:?} after restart; log replay past a \
         snapshot needed: {replayed}; test took {:?}",
        started.elapsed()
    );
    assert!(
        replayed,
        "test precondition: some entries should lie past every snapshot, to exercise replay"
    );
}
