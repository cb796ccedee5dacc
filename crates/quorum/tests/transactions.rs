//! MULTI/EXEC/WATCH against real processes: optimistic-locking counters incremented from
//! clients on all three nodes reach the exact total, and an EXEC acknowledged before the
//! leader is killed is whole afterwards (one log entry: never half-applied).

mod common;

use std::thread;
use std::time::Duration;

use common::load::connect;
use common::roles;

/// Increments `key` with WATCH / GET / MULTI / SET / EXEC, retrying when EXEC answers nil
/// (another client changed the key) or the cluster refuses (a failover). Returns the number
/// of EXECs that were aborted by WATCH.
fn optimistic_increments(addr: std::net::SocketAddr, key: &str, times: usize) -> usize {
    let mut conn = connect(addr).unwrap();
    let mut aborted = 0;
    let mut done = 0;
    let mut attempts = 0;
    while done < times {
        attempts += 1;
        assert!(attempts < times * 200, "too many attempts: {attempts}");
        let _: () = redis::cmd("WATCH").arg(key).query(&mut conn).unwrap();
        let current: Option<i64> = redis::cmd("GET").arg(key).query(&mut conn).unwrap();
        let next = current.unwrap_or(0) + 1;
        let result: Option<(String,)> = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(key)
            .arg(next)
            .query(&mut conn)
            .unwrap();
        match result {
            Some(_) => done += 1,
            None => aborted += 1,
        }
    }
    aborted
}

#[test]
fn watch_multi_exec_counters_from_every_node_reach_the_exact_total() {
    let mut cluster = common::cluster(&[]);
    roles(&mut cluster);
    let per_client = 40;
    let clients: Vec<_> = cluster
        .nodes()
        .iter()
        .flat_map(|node| [node.resp_addr(), node.resp_addr()])
        .map(|addr| thread::spawn(move || optimistic_increments(addr, "counter", per_client)))
        .collect();
    let aborted: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    let mut conn = connect(cluster.nodes()[0].resp_addr()).unwrap();
    let total: i64 = redis::cmd("GET").arg("counter").query(&mut conn).unwrap();
    assert_eq!(total, 6 * per_client as i64, "lost or doubled increments");
    // Six clients on three nodes contend for one key: some EXECs must have been aborted,
    // or WATCH did nothing.
    assert!(aborted > 0, "no EXEC was aborted by WATCH");
    eprintln!("total {total}, EXECs aborted by WATCH {aborted}");
}

#[test]
fn an_exec_acknowledged_before_the_leader_is_killed_is_whole_afterwards() {
    let mut cluster = common::cluster(&[]);
    let (leader, followers) = roles(&mut cluster);
    // Through a follower: the block is forwarded to the leader as one unit.
    let mut conn = connect(cluster.node(followers[0]).resp_addr()).unwrap();
    for round in 0..20 {
        let replies: (String, i64, i64) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(format!("a{round}"))
            .arg(round)
            .cmd("RPUSH")
            .arg("log")
            .arg(round)
            .cmd("HSET")
            .arg("h")
            .arg(format!("f{round}"))
            .arg(round)
            .query(&mut conn)
            .unwrap();
        assert_eq!(replies.0, "OK");
    }
    cluster.node_mut(leader).kill9().unwrap();
    let new_leader = cluster.wait_for_leader(Duration::from_secs(15)).unwrap();
    assert_ne!(new_leader, leader);
    let mut conn = connect(cluster.node(new_leader).resp_addr()).unwrap();
    let log: Vec<i64> = redis::cmd("LRANGE")
        .arg("log")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    assert_eq!(log, (0..20).collect::<Vec<i64>>());
    let fields: i64 = redis::cmd("HLEN").arg("h").query(&mut conn).unwrap();
    assert_eq!(fields, 20);
    for round in 0..20 {
        let value: Option<i64> = redis::cmd("GET")
            .arg(format!("a{round}"))
            .query(&mut conn)
            .unwrap();
        assert_eq!(value, Some(round));
    }
    cluster.node_mut(leader).restart().unwrap();
    // The restarted node catches up to the same state (digests compared by the chaos tests;
    // here the three parts of every block).
    let addr = cluster.node(leader).resp_addr();
    quorum_testkit::poll_until(
        "the restarted node to hold every block",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || {
            let mut old = connect(addr).map_err(|e| e.to_string())?;
            let fields: i64 = redis::cmd("HLEN")
                .arg("h")
                .query(&mut old)
                .map_err(|e| e.to_string())?;
            Ok((fields == 20).then_some(()))
        },
    )
    .unwrap();
}

#[test]
fn a_watched_key_that_expires_before_exec_aborts_it() {
    let mut cluster = common::cluster(&[]);
    let (_, followers) = roles(&mut cluster);
    let mut conn = connect(cluster.node(followers[0]).resp_addr()).unwrap();
    let _: () = redis::cmd("SET")
        .arg("lease")
        .arg("me")
        .arg("PX")
        .arg(150)
        .query(&mut conn)
        .unwrap();
    let _: () = redis::cmd("WATCH").arg("lease").query(&mut conn).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let result: Option<(String,)> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("lease")
        .arg("again")
        .query(&mut conn)
        .unwrap();
    assert_eq!(result, None, "EXEC ran although the watched key expired");
    // Watching a key that is absent and stays absent does not abort.
    let _: () = redis::cmd("WATCH").arg("lease").query(&mut conn).unwrap();
    let result: Option<(String,)> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("lease")
        .arg("again")
        .query(&mut conn)
        .unwrap();
    assert_eq!(result, Some(("OK".to_string(),)));
}
