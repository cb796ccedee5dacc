//! A node whose data directory is gone must not rejoin under its old id (it would vote with
//! amnesia): with real `quorum node` processes under a write load, a founding follower and then
//! a node added with `--join` are killed, their data directories deleted and each restarted
//! under its old id. Each must exit non-zero with an error that names the remedy; the remedy
//! (`remove-node`, then a new node with a new id) must work, and every acknowledged write must
//! be on every remaining node, the new ones included.
//!
//! Every wait is bounded by a deadline.

mod common;

use std::time::Duration;

use common::cluster;
use common::load::{assert_node_has_acked, wait_converged, Load, RUN_PHASE};
use quorum_testkit::{poll_until, Cluster};

/// How long a wiped node gets to refuse: a founder asks its peers before it starts; a node
/// started with `--join` learns that it is a member from the leader's log first.
const REFUSAL_WAIT: Duration = Duration::from_secs(30);

/// Waits until every node in `peers` has recorded node `id`'s incarnation on its disk (the
/// file `quorum-server`'s `bootstrap.rs` keeps), so the node's loss can be recognised.
fn wait_known_by(cluster: &Cluster, id: u64, peers: &[u64]) {
    for &peer in peers {
        let path = cluster.node(peer).data_dir().join("known-incarnations");
        poll_until(
            &format!("node {peer} to record node {id}'s incarnation"),
            Duration::from_secs(15),
            Duration::from_millis(50),
            || {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if text
                    .lines()
                    .any(|l| l.split(' ').next() == Some(&id.to_string()))
                {
                    Ok(Some(()))
                } else {
                    Err(format!("{}: {text:?}", path.display()))
                }
            },
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
    }
}

/// kill -9 `victim`, delete its data directory, restart it under its old id, and assert it
/// exits non-zero, refusing to rejoin with the remedy in its error.
fn wipe_and_expect_refusal(cluster: &mut Cluster, victim: u64) {
    let node = cluster.node_mut(victim);
    node.kill9().expect("kill -9");
    node.wipe_data().expect("wipe");
    let log_before = node.log().len();
    node.restart().expect("restart");
    let status = node
        .wait_exit(REFUSAL_WAIT)
        .unwrap_or_else(|e| panic!("node {victim} restarted with a wiped data directory: {e:#}"));
    let log = node.log();
    let new = &log[log_before.min(log.len())..];
    assert!(
        !status.success(),
        "node {victim} exited with {status}\n{new}"
    );
    let data_dir = node.data_dir().display().to_string();
    let refusal = new
        .lines()
        .find(|l| l.contains("refuses to rejoin"))
        .unwrap_or_else(|| panic!("node {victim} exited without refusing to rejoin:\n{new}"));
    for part in [
        data_dir.as_str(),
        &format!("quorum cluster remove-node --id {victim}"),
        "--join",
        "quorum cluster add-node --id",
    ] {
        assert!(refusal.contains(part), "{part:?} missing from: {refusal}");
    }
    eprintln!("node {victim} refused: {refusal}");
}

#[test]
fn a_wiped_node_refuses_to_rejoin_under_its_old_id_and_is_replaced() {
    let mut cluster = cluster(&[]);
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    let ids = cluster.ids();
    let victim = *ids.iter().find(|&&id| id != leader).unwrap();
    let writer_nodes: Vec<u64> = ids.iter().copied().filter(|&id| id != victim).collect();
    let mut load = Load::new();
    for &id in &writer_nodes {
        load.spawn(id, cluster.node(id).resp_addr());
    }
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(30))
        .expect("writes before the wipe");
    wait_known_by(&cluster, victim, &writer_nodes);

    // A founding follower loses its disk.
    wipe_and_expect_refusal(&mut cluster, victim);
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(30))
        .expect("writes go on while it is down");
    // The remedy its error names: remove it, add a new node with a new id.
    cluster.remove_node(victim).expect("remove the wiped node");
    let added = cluster.add_node().expect("add a new node");
    assert_ne!(added, victim);
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(30))
        .expect("writes after the replacement");

    // The node added with --join loses its disk too: it has no peer list to ask before it
    // starts, and must refuse once the leader's log tells it that it is a member.
    let mut members = writer_nodes.clone();
    members.push(added);
    wait_known_by(&cluster, added, &writer_nodes);
    wipe_and_expect_refusal(&mut cluster, added);
    cluster
        .remove_node(added)
        .expect("remove the wiped joined node");
    let second = cluster.add_node().expect("add another node");
    members.retain(|&id| id != added);
    members.push(second);
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(30))
        .expect("writes after the second replacement");

    let logs = load.finish();
    wait_converged(&cluster, &members, Duration::from_secs(30)).expect("replicas converge");
    for &id in &members {
        assert_node_has_acked(&cluster, id, true, &logs);
    }
    let acked: usize = logs.iter().map(|l| l.acked_sets.len()).sum();
    eprintln!(
        "nodes {victim} and {added} refused to rejoin; {acked} acknowledged SETs on nodes \
         {members:?}"
    );
}
