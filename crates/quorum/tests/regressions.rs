//! Regression scenarios: one test per historical bug of the systems quorum is measured against,
//! kept forever, in the style of etcd's `test-robustness-issueNNNN` (a scenario named after the
//! bug it guards against). Each test is named `<project>_<issue>_<what must hold>` and its doc
//! comment says what the original bug was, how the test recreates its conditions against real
//! `quorum node` processes, and which invariant breaks if quorum had the bug.
//!
//! A new scenario goes here when a bug report of Redis-Raft, openraft, etcd, NATS or quorum
//! itself describes a failure that quorum could plausibly share. Scenarios use the testkit's
//! faults (kill -9, SIGSTOP/SIGCONT, restart, membership, `quorum_testkit::disk`) and the load
//! and checks of `common::load`; each stays well under 30 s on a 2-core machine.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::load::{
    assert_incr_replies_sane, assert_node_has_acked, info_raft, missing_acked_sets, start_load,
    status_u64, summarize, wait_converged, Load, WriterLog, RUN_PHASE,
};
use common::{cluster, readonly_client, roles, set, wait_value, Raw, QUORUM};
use quorum_testkit::disk::{corrupt, CorruptTarget, Corruption};
use quorum_testkit::{poll_until, Cluster};

/// How long a restarted or newly added node gets to serve or to converge.
const CATCH_UP: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Checks shared by the scenarios.
// ---------------------------------------------------------------------------------------------

/// Panics if `id` lacks a write acknowledged in `logs`, read with default (linearizable)
/// reads: what a client of that node would see.
fn assert_acked_readable(cluster: &Cluster, id: u64, logs: &[WriterLog], when: &str) {
    let mut conn = cluster.client(id).expect("connect");
    let (missing, examples) =
        missing_acked_sets(&mut conn, logs).unwrap_or_else(|e| panic!("{when}: MGET: {e}"));
    let acked: usize = logs.iter().map(|l| l.acked_sets.len()).sum();
    assert_eq!(
        missing, 0,
        "{when}: node {id} lacks {missing} of {acked} acknowledged SETs, e.g. {examples:?}"
    );
}

/// Every node in `ids` answers `DEBUG DIGEST` (local state, READONLY) with the same value.
fn assert_same_digest(cluster: &Cluster, ids: &[u64]) {
    let mut conns: Vec<_> = ids.iter().map(|&id| readonly_client(cluster, id)).collect();
    poll_until(
        "every replica's DEBUG DIGEST to match",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            let digests: BTreeSet<String> = conns
                .iter_mut()
                .map(|conn| redis::cmd("DEBUG").arg("DIGEST").query(conn))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            if digests.len() == 1 {
                Ok(Some(()))
            } else {
                Err(format!("digests of {ids:?}: {digests:?}"))
            }
        },
    )
    .unwrap();
}

/// The end of a scenario: once every node caught up, each holds every acknowledged INCR, all
/// hold the same state, and none panicked.
fn assert_every_node_kept_every_ack(cluster: &Cluster, ids: &[u64], logs: &[WriterLog]) {
    wait_converged(cluster, ids, CATCH_UP).expect("converge");
    assert_incr_replies_sane(logs);
    for &id in ids {
        assert_node_has_acked(cluster, id, true, logs);
    }
    assert_same_digest(cluster, ids);
    assert_no_panics(cluster);
}

/// Panic messages in any node's log: a panic inside the Raft core can leave the process up.
fn assert_no_panics(cluster: &Cluster) {
    let panics: Vec<String> = cluster
        .nodes()
        .iter()
        .flat_map(|node| {
            node.log()
                .lines()
                .filter(|l| l.contains("panicked at"))
                .map(|l| format!("node {}: {l}", node.id()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(panics.is_empty(), "panics in node logs: {panics:#?}");
}

/// The `/admin/status` field `field` of node `id`.
fn status_of(cluster: &Cluster, id: u64, field: &str) -> u64 {
    status_u64(&cluster.node(id).status().expect("status"), field)
}

/// `raft_purged_index` (INFO raft) of every node in `ids`: where its log starts.
fn purged_indexes(cluster: &Cluster, ids: &[u64]) -> Vec<u64> {
    ids.iter()
        .map(|&id| {
            info_raft(cluster, id)
                .ok()
                .and_then(|info| info.get("raft_purged_index")?.parse().ok())
                .unwrap_or(0)
        })
        .collect()
}

/// A three-node cluster that snapshots every `every` applied entries and keeps `keep` log
/// entries behind each snapshot.
fn snapshotting_cluster(every: u64, keep: u64) -> Cluster {
    let (every, keep) = (every.to_string(), keep.to_string());
    cluster(&[
        "--snapshot-logs-since-last",
        &every,
        "--logs-to-keep-after-snapshot",
        &keep,
    ])
}

/// Waits until every node in `ids` reports a snapshot.
fn wait_snapshots(cluster: &Cluster, ids: &[u64]) {
    for &id in ids {
        poll_until(
            &format!("node {id} to take a snapshot"),
            Duration::from_secs(15),
            Duration::from_millis(50),
            || {
                let index = status_u64(
                    &cluster.node(id).status().map_err(|e| format!("{e:#}"))?,
                    "snapshot_index",
                );
                Ok((index > 0).then_some(index))
            },
        )
        .expect("a snapshot");
    }
}

// ---------------------------------------------------------------------------------------------
// Redis-Raft.
// ---------------------------------------------------------------------------------------------

/// Redis-Raft #14, "Total data loss on failover" (Jepsen, 2020): every leader election lost
/// all data written before it. The new leader answered writes and reads, but with an empty
/// keyspace: entries were replicated but the new leader's state machine did not hold them
/// (after another failover even the new writes vanished).
///
/// Scenario: six writers (SET of unique keys, INCR of one counter) spread over three nodes,
/// and three failovers in a row: the leader is killed with `kill -9`, frozen with SIGSTOP
/// past the election timeout, then killed again; each old leader comes back before the next
/// round, so a node that led twice is tested too. Right after each new leader is confirmed,
/// every write acknowledged so far must be readable on it (default, linearizable reads):
/// with the bug, the first round already finds almost every key missing. At the end all
/// nodes converge and hold every acknowledged write, and the counter counts each
/// acknowledged INCR once.
#[test]
fn redis_raft_14_no_acknowledged_write_lost_on_failover() {
    let started = Instant::now();
    let mut cluster = cluster(&[]);
    let load = start_load(&cluster);
    load.wait_acks(300, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going");
    for round in 0..3 {
        let (old_leader, _) = roles(&mut cluster);
        let freeze = round == 1;
        if freeze {
            cluster.node_mut(old_leader).sigstop().expect("SIGSTOP");
        } else {
            cluster.node_mut(old_leader).kill9().expect("kill -9");
        }
        let new_leader = poll_until(
            "a new leader",
            Duration::from_secs(10),
            Duration::from_millis(20),
            || match cluster.leader_id() {
                Some(id) if id != old_leader => Ok(Some(id)),
                other => Err(format!("leader {other:?}")),
            },
        )
        .expect("failover");
        // Everything acknowledged up to now was acknowledged by a majority, so the new
        // leader must serve it, before and after it accepted writes of its own.
        let acked_before = load.snapshot();
        assert_acked_readable(
            &cluster,
            new_leader,
            &acked_before,
            &format!("round {round}, right after the failover"),
        );
        load.wait_acks(200, Duration::from_millis(500), Duration::from_secs(15))
            .expect("writes continue under the new leader");
        assert_acked_readable(
            &cluster,
            new_leader,
            &acked_before,
            &format!("round {round}, after new writes"),
        );
        if freeze {
            cluster.node_mut(old_leader).sigcont().expect("SIGCONT");
        } else {
            cluster.node_mut(old_leader).restart().expect("restart");
        }
        eprintln!(
            "round {round}: leader {old_leader} {} -> node {new_leader} serves all {} SETs \
             acknowledged before",
            if freeze { "frozen" } else { "killed" },
            acked_before
                .iter()
                .map(|l| l.acked_sets.len())
                .sum::<usize>()
        );
    }
    let logs = load.finish();
    summarize(&logs);
    let ids = cluster.ids();
    wait_converged(&cluster, &ids, CATCH_UP).expect("converge");
    assert_incr_replies_sane(&logs);
    let counters: BTreeSet<i64> = ids
        .iter()
        .map(|&id| assert_node_has_acked(&cluster, id, true, &logs))
        .collect();
    assert_eq!(
        counters.len(),
        1,
        "nodes disagree on the counter: {counters:?}"
    );
    assert_no_panics(&cluster);
    eprintln!("test took {:?}", started.elapsed());
}

/// Redis-Raft #19, "Stale reads in normal operation" (Jepsen, 2020): with process pauses,
/// reads returned values older than writes that had completed before the read began. The
/// Raft library did not commit a no-op entry after an election, so a new leader answered
/// reads with a stale commit index (fixed by Redis-Raft #22); the same shape is openraft
/// #1749, where a leader served lease reads after it had been deposed.
///
/// Scenario, three rounds: a value `old` is written and read 20 times through the leader (so
/// it holds a fresh read lease), then the leader is frozen with SIGSTOP past the election
/// timeout. (1) The first command the new leader gets is a read of that key, sent as soon as
/// the leader is confirmed: it must return `old`, which a leader answering from a stale
/// commit index (no no-op of its own term committed yet) could miss. (2) The new leader
/// acknowledges `new`; a GET queued on a connection to the frozen old leader is sent, and the
/// old leader is woken: it may answer `new` or an error, never `old` (a lease it could no
/// longer trust). Checked: on nodes started with `--chaos-bug lease-without-clock-bound` (a
/// `chaos-bugs` build) the woken old leader answers `old` in the first round.
#[test]
fn redis_raft_19_frozen_leader_serves_no_stale_read_when_it_wakes() {
    let mut cluster = cluster(&[]);
    for round in 0..3 {
        let (old_leader, _) = roles(&mut cluster);
        let key = format!("frozen-{round}");
        let mut raw = Raw::connect(cluster.node(old_leader).resp_addr());
        // Reads right before the freeze: the leader holds a fresh lease.
        assert_eq!(raw.cmd(&["SET", &key, "old"]), "+OK\r\n");
        for _ in 0..20 {
            assert_eq!(raw.cmd(&["GET", &key]), "$3\r\nold\r\n");
        }
        cluster.node_mut(old_leader).sigstop().unwrap();
        let new_leader = cluster
            .wait_for_leader(Duration::from_secs(10))
            .expect("a new leader while the old one is frozen");
        assert_ne!(new_leader, old_leader);
        let first_read = Raw::connect(cluster.node(new_leader).resp_addr()).cmd(&["GET", &key]);
        assert_eq!(
            first_read, "$3\r\nold\r\n",
            "round {round}: the first read on new leader {new_leader} missed the value \
             acknowledged by leader {old_leader} before its freeze"
        );
        set(&mut cluster.client(new_leader).unwrap(), &key, "new");
        raw.send_cmd(&["GET", &key]);
        cluster.node_mut(old_leader).sigcont().unwrap();
        let reply = raw.reply();
        assert!(
            reply == "$3\r\nnew\r\n" || reply.starts_with('-'),
            "round {round}: node {old_leader}, leader before its freeze, answered {reply:?} \
             after node {new_leader} acknowledged a newer value"
        );
        // Let the old leader rejoin before the next round.
        wait_value(
            &mut readonly_client(&cluster, old_leader),
            &key,
            Some("new"),
            "old leader catches up",
        );
    }
}

/// Redis-Raft #43, "Panic on startup: log snapshot index mismatch" (Jepsen, 2020): after
/// crashes of a majority (with partitions, pauses and membership changes around them),
/// several nodes could not start again: their log began after a gap behind their snapshot,
/// and the node panicked on every restart.
///
/// Scenario: snapshots every 20 log entries and 5 entries kept behind them, so snapshots,
/// purges and log appends interleave constantly; under a write load, three rounds each
/// `kill -9` a majority (the leader and a follower) at once and restart them after a moment.
/// Every restarted node must come back to serving (with the bug it exits at start-up, which
/// `wait_serving` reports at once), a leader must form, and at the end all nodes converge on
/// the same state and hold every acknowledged write. It failed on its first runs: a restarted
/// follower installing the leader's snapshot stopped its Raft core on a log gap (fixed by the
/// log store's deferred purge).
#[test]
fn redis_raft_43_every_node_restarts_after_kills_of_a_majority() {
    let started = Instant::now();
    let mut cluster = snapshotting_cluster(20, 5);
    let ids = cluster.ids();
    let load = start_load(&cluster);
    load.wait_acks(300, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going");
    wait_snapshots(&cluster, &ids);
    for round in 0..3 {
        let (leader, followers) = roles(&mut cluster);
        let victims = [leader, followers[round % followers.len()]];
        for &id in &victims {
            cluster.node_mut(id).kill9().expect("kill -9");
        }
        std::thread::sleep(Duration::from_millis(300));
        for &id in &victims {
            cluster.node_mut(id).restart().expect("restart");
        }
        for &id in &victims {
            cluster
                .node_mut(id)
                .wait_serving(CATCH_UP)
                .unwrap_or_else(|e| panic!("round {round}: node {id} did not start: {e:#}"));
        }
        cluster
            .wait_for_leader(CATCH_UP)
            .expect("a leader after the majority restarted");
        load.wait_acks(200, Duration::from_millis(500), CATCH_UP)
            .expect("writes resume");
        eprintln!(
            "round {round}: killed {victims:?} (leader {leader}), both restarted; snapshot \
             indexes {:?}",
            ids.iter()
                .map(|&id| status_of(&cluster, id, "snapshot_index"))
                .collect::<Vec<_>>()
        );
    }
    let logs = load.finish();
    summarize(&logs);
    assert_every_node_kept_every_ack(&cluster, &ids, &logs);
    eprintln!("test took {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// openraft.
// ---------------------------------------------------------------------------------------------

/// openraft #511 (fixed in openraft 0.7 and in databend by databend #7113): a follower that
/// received AppendEntries whose `prev_log_id` pointed at an entry it had already purged (it
/// lay inside its snapshot) took that as a conflict and deleted its logs, so committed
/// entries were lost on that follower. quorum pins openraft 0.9.25; this guards against the
/// bug coming back through quorum's own log store (`quorum-raft`'s purge and truncate).
///
/// Scenario: every node snapshots after every applied entry and keeps no log behind its
/// snapshot, so a follower's log is purged up to its last applied entry. In three rounds the
/// write load is stopped until every node has applied everything and snapshotted it (so the
/// followers' purge point is their last entry), then the leader is killed with `kill -9`: the
/// new leader's first AppendEntries to the other follower carries exactly that purged entry
/// as `prev_log_id`. Writes resume, the old leader restarts (its own log purged to its
/// snapshot too). With the bug a follower truncates committed entries: the nodes end with
/// different digests or lost writes, or openraft panics. All must converge, agree and hold
/// every acknowledged write. Its first runs failed on another bug: the leader, streaming its
/// snapshot to a follower, deleted the snapshot it was saving and its Raft core stopped
/// (fixed in `SnapshotStore`).
#[test]
fn openraft_511_purged_prev_log_id_never_truncates_committed_entries() {
    let started = Instant::now();
    let mut cluster = snapshotting_cluster(1, 0);
    let ids = cluster.ids();
    let mut logs = Vec::new();
    for round in 0..3 {
        let load = start_load(&cluster);
        load.wait_acks(150, Duration::from_millis(600), Duration::from_secs(15))
            .expect("writes");
        logs.extend(load.finish());
        // Precondition: every node's log is purged up to its last entry, the one the next
        // leader will name as prev_log_id. openraft skips a snapshot while one is being built,
        // so the last entries of the load may wait for the next write: nudge until they are in.
        let (leader, _) = roles(&mut cluster);
        let index = poll_until(
            "every node to purge its whole log behind a snapshot",
            Duration::from_secs(10),
            Duration::from_millis(100),
            || {
                let index =
                    wait_converged(&cluster, &ids, CATCH_UP).map_err(|e| format!("{e:#}"))?;
                let purged = purged_indexes(&cluster, &ids);
                if purged.iter().all(|&p| p == index) {
                    return Ok(Some(index));
                }
                let mut conn = cluster.client(leader).map_err(|e| format!("{e:#}"))?;
                set(&mut conn, "nudge", &index.to_string());
                Err(format!("index {index}, purged {purged:?}"))
            },
        )
        .expect("logs purged up to their last entry");
        cluster.node_mut(leader).kill9().expect("kill -9 leader");
        let new_leader = cluster
            .wait_for_leader(Duration::from_secs(10))
            .expect("a new leader");
        assert_ne!(new_leader, leader);
        cluster.node_mut(leader).restart().expect("restart");
        eprintln!(
            "round {round}: all nodes at index {index} with logs purged to it; leader {leader} \
             killed, node {new_leader} leads"
        );
    }
    let load = start_load(&cluster);
    load.wait_acks(150, Duration::from_millis(500), CATCH_UP)
        .expect("writes after the last failover");
    logs.extend(load.finish());
    assert_every_node_kept_every_ack(&cluster, &ids, &logs);
    eprintln!("test took {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// NATS.
// ---------------------------------------------------------------------------------------------

/// What became of a node restarted on a damaged data directory.
enum Restarted {
    /// It exited; the line of its log that names the damaged path.
    Refused(String),
    /// It serves (the damage was harmless or cut as a torn tail and repaired from peers).
    Serving,
}

/// Restarts node `id` after its data was damaged: it must either refuse to start with an error
/// naming a path under its data directory, or start and serve.
fn restart_damaged(cluster: &mut Cluster, id: u64) -> Restarted {
    let log_before = cluster.node(id).log().len();
    let data_dir = cluster.node(id).data_dir().display().to_string();
    cluster.node_mut(id).restart().expect("restart");
    match cluster.node_mut(id).wait_serving(CATCH_UP) {
        Ok(()) => Restarted::Serving,
        Err(err) => {
            assert!(
                !cluster.node_mut(id).is_running(),
                "node {id} neither served nor exited: {err:#}"
            );
            let log = cluster.node(id).log();
            let line = log[log_before.min(log.len())..]
                .lines()
                .find(|l| l.to_ascii_lowercase().contains("error") && l.contains(&data_dir))
                .unwrap_or_else(|| {
                    panic!("node {id} exited without naming what under {data_dir} is damaged")
                })
                .to_string();
            Restarted::Refused(line)
        }
    }
}

/// NATS #7549, "Single-bit errors in .blk files triggers partial loss of acknowledged
/// writes" (Jepsen, NATS 2.12.1, 2025): single-bit errors in the stream files of a *minority*
/// of nodes made the cluster lose acknowledged records, some from the middle of the stream:
/// a corrupted replica was trusted, served, and could lead.
///
/// Scenario: a write load with snapshots every 50 entries, then a quiet second so the
/// storage's sync mark covers the whole log. Follower A is killed, one bit in the written
/// part of its Raft log is flipped, and it restarts; then follower B is killed, one bit of its
/// newest snapshot is flipped, and it restarts. Each must either refuse to start with an
/// error naming the damaged file or directory (then, as the error says, its data is wiped and
/// it is re-added as a new member, rebuilt from its peers), or start and serve exactly the
/// acknowledged data. Finally the one untouched node, the leader, is killed: the two rebuilt
/// nodes must elect a leader that serves every acknowledged write. With the bug, a damaged
/// node starts on wrong or missing data: its reads, digest or the final leader lose writes.
#[test]
fn nats_7549_bit_flip_on_a_minority_is_detected_and_never_served() {
    let started = Instant::now();
    let mut cluster = cluster(&["--snapshot-logs-since-last", "50"]);
    let ids = cluster.ids();
    let load = start_load(&cluster);
    load.wait_acks(400, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going");
    let mut logs = load.finish();
    wait_snapshots(&cluster, &ids);
    // The sync mark is rewritten at most once a second, on a sync: idle past that, then one
    // more write moves it over the whole log, so every flipped bit lies in data known synced.
    std::thread::sleep(Duration::from_millis(1100));
    let (leader, followers) = roles(&mut cluster);
    set(&mut cluster.client(leader).unwrap(), "marker", "1");
    wait_converged(&cluster, &ids, CATCH_UP).expect("converge");

    let damages = [
        (followers[0], CorruptTarget::Log),
        (followers[1], CorruptTarget::Snapshot),
    ];
    let mut members = ids.clone();
    for (round, (victim, target)) in damages.into_iter().enumerate() {
        cluster.node_mut(victim).kill9().expect("kill -9");
        let data_dir = cluster.node(victim).data_dir().to_path_buf();
        let what =
            corrupt(&data_dir, target, Corruption::BitFlip, 7 + round as u64).expect("flip a bit");
        match restart_damaged(&mut cluster, victim) {
            Restarted::Refused(line) => {
                eprintln!(
                    "[{:?}] node {victim}: {what}; refused to start: {line}",
                    started.elapsed()
                );
                cluster
                    .remove_node(victim)
                    .expect("remove the damaged node");
                members.retain(|&m| m != victim);
                let added = cluster.add_node().expect("add a new node");
                members.push(added);
                eprintln!(
                    "[{:?}]  removed node {victim}, added node {added} in its place",
                    started.elapsed()
                );
            }
            Restarted::Serving => {
                eprintln!("node {victim}: {what}; started anyway, checking what it serves");
            }
        }
        wait_converged(&cluster, &members, CATCH_UP).expect("converge after the repair");
        eprintln!("[{:?}]  converged", started.elapsed());
        for &id in &members {
            assert_node_has_acked(&cluster, id, true, &logs);
        }
        assert_same_digest(&cluster, &members);
    }
    // Only the leader still holds its original data: without it, the rebuilt nodes alone must
    // elect a leader that has everything.
    cluster.node_mut(leader).kill9().expect("kill -9 leader");
    let survivors: Vec<u64> = members.iter().copied().filter(|&m| m != leader).collect();
    let new_leader = cluster
        .wait_for_leader(CATCH_UP)
        .expect("a leader among the rebuilt nodes");
    assert!(survivors.contains(&new_leader), "leader {new_leader}");
    assert_node_has_acked(&cluster, new_leader, false, &logs);
    let load = {
        let mut load = Load::new();
        for &id in &survivors {
            load.spawn(id, cluster.node(id).resp_addr());
        }
        load
    };
    load.wait_acks(100, Duration::from_millis(300), CATCH_UP)
        .expect("writes on the rebuilt nodes");
    logs.extend(load.finish());
    assert_acked_readable(&cluster, new_leader, &logs, "after the last failover");
    assert_no_panics(&cluster);
    eprintln!("test took {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// etcd.
// ---------------------------------------------------------------------------------------------

/// etcd #14370, "Durability API guarantee broken in single node cluster" (2022, etcd 3.5):
/// a one-member cluster applied an entry and answered the client in parallel with writing it
/// to its WAL, so a crash right after the reply lost an acknowledged write. With more members
/// the quorum's own fsync hid the race; with one, the leader's write is the only copy.
///
/// Scenario: a single-node cluster under a write load (two writers, SET of unique keys and
/// INCR of a counter) is killed three times mid-load and restarted from its data directory;
/// every write acknowledged before a crash must be there after it, and the counter must lie
/// between the acknowledged and the sent INCRs. The node runs with `--emulate-power-loss`, so
/// `kill -9` also loses every log write not yet fsynced, as a power cut would (plain `kill -9`
/// keeps the page cache): a reply sent before the entry was durable loses the write.
/// Checked: with `--chaos-bug ack-before-fsync` (a `chaos-bugs` build) the first crash loses
/// every acknowledged SET.
#[test]
fn etcd_14370_single_node_loses_no_acknowledged_write_on_crash() {
    let started = Instant::now();
    let mut cluster = Cluster::builder(std::path::Path::new(QUORUM))
        .nodes(1)
        .arg("--emulate-power-loss")
        .start()
        .expect("start a one-node cluster");
    let id = cluster.ids()[0];
    let mut logs = Vec::new();
    for round in 0..3 {
        let load = start_load(&cluster);
        load.wait_acks(300, Duration::from_millis(500), Duration::from_secs(15))
            .expect("writes");
        // The crash lands mid-load: some writes are acknowledged, some in flight.
        cluster.node_mut(id).kill9().expect("kill -9");
        logs.extend(load.finish());
        cluster.node_mut(id).restart().expect("restart");
        cluster
            .wait_for_leader(CATCH_UP)
            .expect("the node leads again");
        assert_acked_readable(&cluster, id, &logs, &format!("after crash {round}"));
        eprintln!(
            "crash {round}: {} SETs acknowledged so far, all present",
            logs.iter().map(|l| l.acked_sets.len()).sum::<usize>()
        );
    }
    assert_incr_replies_sane(&logs);
    assert_node_has_acked(&cluster, id, false, &logs);
    assert_no_panics(&cluster);
    eprintln!("test took {:?}", started.elapsed());
}
