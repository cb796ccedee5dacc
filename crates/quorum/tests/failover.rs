//! Failover under a concurrent write load, with real `quorum node` processes:
//!
//! * `kill9_leader_under_load`: `kill -9` of the leader while six clients (two per node) write,
//!   with the default Raft timings (the failover bound is stated for them).
//!   A new leader accepts writes within 2 s (the longest gap between acknowledged writes on the
//!   surviving nodes is measured and printed), clients on surviving nodes see at most transient
//!   errors, every acknowledged SET is on every surviving node, `counter` lies between the
//!   acknowledged and the sent INCRs (each INCR applied at most once, none acknowledged lost),
//!   and the killed node restarts from its data directory and catches up.
//! * `sigstop_leader_under_load`: the leader is frozen (SIGSTOP) for 3 s under load, as in a long
//!   GC pause or VM stall, then resumed: a new leader takes over, the old one steps down and
//!   catches up, and no acknowledged write is lost.
//!
//! Every wait is bounded by a deadline; measured figures go to stderr (`--nocapture` shows them).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::load::{
    assert_incr_replies_sane, assert_node_has_acked, assert_recovered, longest_gap, start_load,
    summarize, wait_converged, WriterLog, RUN_PHASE, TRANSIENT_WINDOW,
};
use common::{roles, QUORUM};
use quorum_testkit::{poll_until, Cluster};

/// The bound for "a new leader accepts writes".
const FAILOVER_GAP_MAX: Duration = Duration::from_secs(2);

/// Errors seen by threads on `nodes`: each must fall within `[fault, fault + TRANSIENT_WINDOW]`,
/// and each thread must have acknowledged calls after its last error (it recovered).
fn assert_transient_errors(logs: &[WriterLog], nodes: &[u64], fault: Instant) {
    for log in logs.iter().filter(|l| nodes.contains(&l.node)) {
        for (at, what) in &log.errors {
            assert!(
                *at >= fault && *at <= fault + TRANSIENT_WINDOW,
                "thread {} on surviving node {} got an error {:?} from the fault: {what}",
                log.thread,
                log.node,
                at.checked_duration_since(fault)
                    .map_or_else(|| format!("-{:?}", fault - *at), |d| format!("{d:?}"))
            );
        }
        assert_recovered(log);
    }
}

/// `default_timings`: the node's own Raft defaults (heartbeat 100 ms, elections 300-600 ms),
/// which the "a new leader within 2 s" is about; otherwise the testkit's faster ones.
fn start_cluster(default_timings: bool) -> Cluster {
    Cluster::builder(Path::new(QUORUM))
        .nodes(3)
        .fast_raft(!default_timings)
        .start()
        .expect("cluster starts")
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn kill9_leader_under_load() {
    let started = Instant::now();
    let mut cluster = start_cluster(true);
    let (old_leader, survivors) = roles(&mut cluster);

    let load = start_load(&cluster);
    load.wait_acks(300, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going before the fault");
    let acks_before = load.acks();

    let killed_at = Instant::now();
    cluster
        .node_mut(old_leader)
        .kill9()
        .expect("kill -9 leader");
    let new_leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a new leader");
    let elected_after = killed_at.elapsed();
    assert_ne!(new_leader, old_leader);
    // Let the survivors write for a while under the new leader.
    load.wait_acks(300, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue under the new leader");
    let stopped_at = Instant::now();
    let logs = load.finish();

    let survivor_logs = || logs.iter().filter(|l| l.node != old_leader);
    let gap = longest_gap(
        survivor_logs(),
        killed_at - Duration::from_millis(200),
        stopped_at,
    );
    eprintln!(
        "kill9_leader_under_load: leader {old_leader} killed after {acks_before} acks; \
         node {new_leader} seen as leader after {elected_after:?}; longest gap between \
         acknowledged writes on surviving nodes: {gap:?}"
    );
    summarize(&logs);
    assert!(
        gap <= FAILOVER_GAP_MAX,
        "writes on surviving nodes stalled for {gap:?} (bound {FAILOVER_GAP_MAX:?})"
    );
    assert_transient_errors(&logs, &survivors, killed_at);
    assert_incr_replies_sane(&logs);

    let index = wait_converged(&cluster, &survivors, Duration::from_secs(15)).expect("converge");
    for &id in &survivors {
        let counter = assert_node_has_acked(&cluster, id, true, &logs);
        eprintln!(
            "  node {id} (READONLY) at index {index}: all acked writes present, counter {counter}"
        );
    }
    let counter = assert_node_has_acked(&cluster, new_leader, false, &logs);
    eprintln!(
        "  counter {counter}: {} INCRs acknowledged, {} sent",
        logs.iter().map(|l| l.incr_replies.len()).sum::<usize>(),
        logs.iter().map(|l| l.incr_sent).sum::<u64>()
    );

    // The killed node comes back from its data directory and catches up.
    let restarted_at = Instant::now();
    cluster.node_mut(old_leader).restart().expect("restart");
    let all = cluster.ids();
    let index = wait_converged(&cluster, &all, Duration::from_secs(20)).expect("catch up");
    let back_counter = assert_node_has_acked(&cluster, old_leader, true, &logs);
    assert_eq!(back_counter, counter, "restarted node disagrees on counter");
    eprintln!(
        "  node {old_leader} restarted and caught up to index {index} in {:?}; test took {:?}",
        restarted_at.elapsed(),
        started.elapsed()
    );
}

#[test]
fn sigstop_leader_under_load() {
    let started = Instant::now();
    let mut cluster = start_cluster(false);
    let (old_leader, others) = roles(&mut cluster);

    let load = start_load(&cluster);
    load.wait_acks(300, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going before the fault");

    let stopped_at = Instant::now();
    cluster
        .node_mut(old_leader)
        .sigstop()
        .expect("SIGSTOP leader");
    // `leader_id` ignores paused nodes: this is a leader among the two running ones.
    let new_leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a new leader while the old one is frozen");
    let elected_after = stopped_at.elapsed();
    assert_ne!(new_leader, old_leader);
    let pause = Duration::from_secs(3);
    std::thread::sleep(pause.saturating_sub(stopped_at.elapsed()));
    let resumed_at = Instant::now();
    cluster.node_mut(old_leader).sigcont().expect("SIGCONT");

    // The old leader notices the higher term and steps down to follow the new leader.
    let stepped_down = poll_until(
        "the old leader to step down",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            let s = cluster
                .node(old_leader)
                .status()
                .map_err(|e| format!("{e:#}"))?;
            let leader = s["leader_id"].as_u64();
            if s["role"].as_str() != Some("leader")
                && leader.is_some()
                && leader != Some(old_leader)
            {
                Ok(Some(leader))
            } else {
                Err(format!("status {s}"))
            }
        },
    )
    .expect("old leader steps down");
    let stepped_down_after = resumed_at.elapsed();
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue after the pause");
    let ended_at = Instant::now();
    let logs = load.finish();

    let gap = longest_gap(
        logs.iter().filter(|l| l.node != old_leader),
        stopped_at - Duration::from_millis(200),
        ended_at,
    );
    eprintln!(
        "sigstop_leader_under_load: leader {old_leader} frozen for {:?}; node {new_leader} \
         seen as leader after {elected_after:?}; old leader stepped down (following {:?}) \
         {stepped_down_after:?} after SIGCONT; longest gap between acknowledged writes on the \
         other nodes: {gap:?}",
        resumed_at - stopped_at,
        stepped_down
    );
    summarize(&logs);
    assert!(
        gap <= FAILOVER_GAP_MAX,
        "writes on the running nodes stalled for {gap:?} (bound {FAILOVER_GAP_MAX:?})"
    );
    assert_transient_errors(&logs, &others, stopped_at);
    assert_incr_replies_sane(&logs);

    let all = cluster.ids();
    let index = wait_converged(&cluster, &all, Duration::from_secs(20)).expect("converge");
    let mut counters = BTreeSet::new();
    for &id in &all {
        counters.insert(assert_node_has_acked(&cluster, id, true, &logs));
    }
    assert_eq!(counters.len(), 1, "nodes disagree on counter: {counters:?}");
    assert_node_has_acked(&cluster, old_leader, false, &logs);
    eprintln!(
        "  all nodes at index {index} hold every acknowledged write, counter {counters:?}; \
         test took {:?}",
        started.elapsed()
    );
}
