//! The test harness itself: a [`Cluster`] forms, every node answers, pause/resume, graceful
//! stop and restart work, a fourth node joins and leaves, and dropping the cluster leaves no
//! process behind. (Replication and failover semantics are tested elsewhere.)

use std::path::Path;
use std::time::Duration;

use quorum_testkit::Cluster;

const QUORUM: &str = env!("CARGO_BIN_EXE_quorum");

fn ping(cluster: &Cluster, id: u64) -> String {
    let mut conn = cluster.client(id).expect("connect");
    redis::cmd("PING").query(&mut conn).expect("PING")
}

#[test]
fn harness_starts_pauses_restarts_adds_and_cleans_up() {
    let mut pids = Vec::new();
    {
        let mut cluster = Cluster::start(Path::new(QUORUM), 3).expect("cluster starts");
        let leader = cluster.leader_id().expect("a leader after start");
        for id in cluster.ids() {
            assert_eq!(ping(&cluster, id), "PONG", "node {id}");
        }
        let follower = cluster.ids().into_iter().find(|id| *id != leader).unwrap();

        // A paused follower does not stop the others from agreeing on a leader.
        cluster.node_mut(follower).sigstop().unwrap();
        assert!(cluster.node(follower).is_paused());
        cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
        cluster.node_mut(follower).sigcont().unwrap();

        // Graceful stop, then restart from the same data directory.
        let status = cluster.node_mut(follower).stop().unwrap();
        assert!(status.success(), "SIGTERM exit: {status}");
        cluster.node_mut(follower).restart().unwrap();
        cluster
            .node_mut(follower)
            .wait_serving(Duration::from_secs(30))
            .unwrap();
        assert_eq!(ping(&cluster, follower), "PONG");
        let log = cluster.node(follower).log();
        assert_eq!(log.matches("testkit: starting node").count(), 2, "{log}");

        // An async client works too.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let pong: String = runtime.block_on(async {
            let mut conn = cluster.async_client(leader).await.unwrap();
            redis::cmd("PING").query_async(&mut conn).await.unwrap()
        });
        assert_eq!(pong, "PONG");

        // A fourth node joins as a voter and leaves again.
        let added = cluster.add_node().expect("add a node");
        assert_eq!(added, 4);
        let status = cluster.node(leader).status().unwrap();
        let voters = status["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["voter"].as_bool() == Some(true))
            .count();
        assert_eq!(voters, 4, "{status}");
        assert_eq!(ping(&cluster, added), "PONG");
        cluster.remove_node(added).expect("remove the node");
        cluster.wait_for_leader(Duration::from_secs(10)).unwrap();

        pids.extend(cluster.nodes().iter().filter_map(|n| n.pid()));
        assert_eq!(pids.len(), 4);
    }
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} outlived the cluster"
        );
    }
}
