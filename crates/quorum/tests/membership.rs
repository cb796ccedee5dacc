//! Online membership changes under a write load, with real `quorum node` processes
//! (`membership_changes_under_load`): while clients write through every founding node, a fourth
//! node is added through the admin API (learner, caught up, then promoted to voter) and serves
//! every acknowledged key with `READONLY`; then a founding follower and then the leader are
//! removed. Clients on the remaining nodes see at most transient errors, every acknowledged
//! write is on the remaining nodes, INCRs are counted at most once and never lost, and
//! `INFO raft_voters` follows each change.
//!
//! Every wait is bounded by a deadline; measured figures go to stderr (`--nocapture` shows them).

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::cluster;
use common::load::{
    assert_recovered, incr_bounds, info_raft, longest_gap, missing_acked_sets, start_load,
    status_u64, summarize, wait_converged, WriterLog, RUN_PHASE, TRANSIENT_WINDOW,
};
use quorum_testkit::{poll_until, Cluster};

/// Longest tolerated stall of the writers on the remaining nodes across all changes: removing
/// the leader costs an election (250-500 ms with the test timings), like a failover.
const GAP_MAX: Duration = Duration::from_secs(2);

/// The leader's commit index, as seen by whichever node in `ids` leads now.
fn leader_commit(cluster: &Cluster, ids: &[u64]) -> anyhow::Result<u64> {
    poll_until(
        "a leader's commit index",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            for &id in ids {
                if let Ok(s) = cluster.node(id).status() {
                    if s["role"].as_str() == Some("leader") {
                        return Ok(Some(status_u64(&s, "commit_index")));
                    }
                }
            }
            Err(format!("no leader among {ids:?}"))
        },
    )
}

/// Waits until node `id` has applied at least `index`.
fn wait_applied(cluster: &Cluster, id: u64, index: u64, timeout: Duration) -> anyhow::Result<()> {
    poll_until(
        &format!("node {id} to apply index {index}"),
        timeout,
        Duration::from_millis(20),
        || {
            let s = cluster.node(id).status().map_err(|e| format!("{e:#}"))?;
            let applied = status_u64(&s, "applied_index");
            if applied >= index {
                Ok(Some(()))
            } else {
                Err(format!("applied {applied}"))
            }
        },
    )
}

/// Asserts that node `id`, read with `READONLY` (its own state), holds every SET acknowledged
/// in `logs`; with `check_counter`, also that `counter` lies between the acknowledged and the
/// sent INCRs. Returns the counter.
fn assert_node_has_acked(
    cluster: &Cluster,
    id: u64,
    logs: &[WriterLog],
    check_counter: bool,
) -> i64 {
    let mut conn = cluster
        .client(id)
        .unwrap_or_else(|e| panic!("connect to node {id}: {e:#}"));
    let _: () = redis::cmd("READONLY").query(&mut conn).expect("READONLY");
    let (missing, problems) =
        missing_acked_sets(&mut conn, logs).unwrap_or_else(|e| panic!("MGET on node {id}: {e}"));
    assert!(
        missing == 0,
        "node {id} lacks {missing} acknowledged SETs, e.g.:\n{}",
        problems.join("\n")
    );
    let counter: Option<i64> = redis::cmd("GET")
        .arg("counter")
        .query(&mut conn)
        .expect("GET counter");
    let counter = counter.unwrap_or(0);
    let (acked, sent) = incr_bounds(logs);
    if check_counter {
        assert!(
            counter >= 0 && (acked..=sent).contains(&(counter as u64)),
            "node {id}: counter = {counter}, but {acked} INCRs were acknowledged and {sent} sent"
        );
    } else {
        assert!(
            counter >= 0 && counter as u64 >= acked,
            "node {id}: counter = {counter} < {acked} acknowledged INCRs"
        );
    }
    counter
}

/// Waits until every node in `ids` reports exactly `voters` in `INFO raft` `raft_voters`.
fn wait_voters(cluster: &Cluster, ids: &[u64], voters: &[u64], timeout: Duration) {
    let want: BTreeSet<u64> = voters.iter().copied().collect();
    poll_until(
        &format!("nodes {ids:?} to report raft_voters {want:?}"),
        timeout,
        Duration::from_millis(50),
        || {
            for &id in ids {
                let info = info_raft(cluster, id).map_err(|e| format!("node {id}: {e:#}"))?;
                let got: BTreeSet<u64> = info
                    .get("raft_voters")
                    .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
                    .unwrap_or_default();
                if got != want {
                    return Err(format!("node {id}: raft_voters {got:?}"));
                }
            }
            Ok(Some(()))
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
}

// ---------------------------------------------------------------------------------------------
// Test.
// ---------------------------------------------------------------------------------------------

#[test]
fn membership_changes_under_load() {
    let started = Instant::now();
    let mut cluster = cluster(&[]);
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("leader");
    let founders = cluster.ids();
    let follower = *founders.iter().find(|&&i| i != leader).expect("follower");
    let stays = *founders
        .iter()
        .find(|&&i| i != leader && i != follower)
        .expect("third node");

    let mut load = start_load(&cluster);
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going");
    let mut changes: Vec<Instant> = Vec::new();

    // Add a fourth node: learner, caught up, promoted to voter (add_node returns then).
    changes.push(Instant::now());
    let added = cluster.add_node().expect("add a fourth node");
    let add_took = changes[0].elapsed();
    let mut voters = founders.clone();
    voters.push(added);
    wait_voters(&cluster, &[leader, added], &voters, Duration::from_secs(10));
    // It serves every write acknowledged so far from its own state.
    let acked_so_far = load.snapshot();
    let commit = leader_commit(&cluster, &founders).expect("commit index");
    wait_applied(&cluster, added, commit, Duration::from_secs(15)).expect("new node catches up");
    assert_node_has_acked(&cluster, added, &acked_so_far, false);
    eprintln!(
        "membership_changes_under_load: node {added} added (learner -> voter) in {add_took:?} \
         under load; serves all {} SETs acknowledged before (READONLY)",
        acked_so_far
            .iter()
            .map(|l| l.acked_sets.len())
            .sum::<usize>()
    );
    for _ in 0..2 {
        load.spawn(added, cluster.node(added).resp_addr());
    }
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue with four voters");

    // Remove a founding follower; its clients go first.
    load.retire(follower);
    changes.push(Instant::now());
    cluster.remove_node(follower).expect("remove a follower");
    let remove_follower_took = changes[1].elapsed();
    let mut remaining: Vec<u64> = vec![leader, stays, added];
    remaining.sort();
    wait_voters(&cluster, &remaining, &remaining, Duration::from_secs(10));
    cluster
        .node_mut(follower)
        .stop()
        .expect("stop the removed follower");
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue after removing a follower");

    // Remove the leader itself: it commits the change, steps down, the others elect.
    load.retire(leader);
    changes.push(Instant::now());
    cluster.remove_node(leader).expect("remove the leader");
    let remove_leader_took = changes[2].elapsed();
    let mut remaining: Vec<u64> = vec![stays, added];
    remaining.sort();
    let new_leader = poll_until(
        "a new leader among the remaining nodes",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            for &id in &remaining {
                let s = cluster.node(id).status().map_err(|e| format!("{e:#}"))?;
                if s["role"].as_str() == Some("leader") {
                    return Ok(Some(id));
                }
            }
            Err("no leader yet".to_string())
        },
    )
    .expect("new leader");
    let new_leader_after = changes[2].elapsed();
    wait_voters(&cluster, &remaining, &remaining, Duration::from_secs(10));
    cluster
        .node_mut(leader)
        .stop()
        .expect("stop the removed leader");
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue after removing the leader");
    let ended = Instant::now();
    let logs = load.finish();

    eprintln!(
        "  node {follower} (follower) removed in {remove_follower_took:?}; node {leader} \
         (leader) removed in {remove_leader_took:?}, node {new_leader} led \
         {new_leader_after:?} after the request"
    );
    summarize(&logs);
    // Writers on nodes that stay: errors only right after a change, and they recover.
    let staying: Vec<&WriterLog> = logs
        .iter()
        .filter(|l| remaining.contains(&l.node))
        .collect();
    for log in &staying {
        for (at, what) in &log.errors {
            assert!(
                changes
                    .iter()
                    .any(|c| *at >= *c && *at <= *c + TRANSIENT_WINDOW),
                "thread {} on node {} got an error away from any membership change: {what}",
                log.thread,
                log.node
            );
        }
        assert_recovered(log);
    }
    let gap = longest_gap(staying.iter().copied(), changes[0], ended);
    eprintln!("  longest gap between acknowledged writes on the remaining nodes: {gap:?}");
    assert!(
        gap <= GAP_MAX,
        "writes stalled for {gap:?} (bound {GAP_MAX:?})"
    );

    let index = wait_converged(&cluster, &remaining, Duration::from_secs(15)).expect("converge");
    let mut counters = BTreeSet::new();
    for &id in &remaining {
        counters.insert(assert_node_has_acked(&cluster, id, &logs, true));
    }
    assert_eq!(counters.len(), 1, "nodes disagree on counter: {counters:?}");
    let info = info_raft(&cluster, new_leader).expect("INFO raft");
    eprintln!(
        "  remaining nodes {remaining:?} at index {index} hold every acknowledged write, \
         counter {counters:?}; raft_voters {:?}; test took {:?}",
        info.get("raft_voters"),
        started.elapsed()
    );
}
