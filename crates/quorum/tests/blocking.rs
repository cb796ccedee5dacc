//! Blocking pops against real processes: clients blocked on any node are served by pushes
//! from other nodes, timeouts end waits, and under leader kills every acknowledged push is
//! popped exactly once.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::load::connect;
use common::roles;

fn query<T: redis::FromRedisValue>(
    conn: &mut redis::Connection,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(conn)
}

/// Waits until the node at `addr` reports one blocked client.
fn wait_until_blocked(addr: SocketAddr, what: &str) {
    quorum_testkit::poll_until(
        what,
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            let info: String = query(
                &mut connect(addr).map_err(|e| e.to_string())?,
                &["INFO", "clients"],
            )
            .map_err(|e| e.to_string())?;
            Ok(info.contains("blocked_clients:1").then_some(()))
        },
    )
    .unwrap();
}

#[test]
fn a_client_blocked_on_a_follower_is_served_by_a_push_on_another_node_and_timeouts_end_waits() {
    let mut cluster = common::cluster(&[]);
    let (leader, followers) = roles(&mut cluster);
    let waiting_addr = cluster.node(followers[0]).resp_addr();
    let pushing_addr = cluster.node(followers[1]).resp_addr();

    // A timeout with nothing pushed: a nil reply, not before the timeout.
    let mut waiting = connect(waiting_addr).unwrap();
    let started = Instant::now();
    let reply: Option<(String, String)> = query(&mut waiting, &["BLPOP", "q", "0.2"]).unwrap();
    let waited = started.elapsed();
    assert_eq!(reply, None);
    assert!(
        waited >= Duration::from_millis(200),
        "returned after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "returned after {waited:?}");

    // Blocked forever (timeout 0) on a follower; served by a push through the other follower.
    let waiter = thread::spawn(move || {
        let mut conn = connect(waiting_addr).unwrap();
        let reply: (String, String) = query(&mut conn, &["BLPOP", "other", "q", "0"]).unwrap();
        reply
    });
    let mut leader_conn = connect(cluster.node(leader).resp_addr()).unwrap();
    wait_until_blocked(waiting_addr, "the client to block");
    let mut pusher = connect(pushing_addr).unwrap();
    let pushed: i64 = query(&mut pusher, &["RPUSH", "q", "job-1", "job-2"]).unwrap();
    assert_eq!(pushed, 2);
    assert_eq!(
        waiter.join().unwrap(),
        ("q".to_string(), "job-1".to_string())
    );
    let left: Vec<String> = query(&mut leader_conn, &["LRANGE", "q", "0", "-1"]).unwrap();
    assert_eq!(left, vec!["job-2"]);

    // BLMOVE parks on its source and moves into the destination when served.
    let mover = thread::spawn(move || {
        let mut conn = connect(waiting_addr).unwrap();
        let moved: String = query(
            &mut conn,
            &["BLMOVE", "src", "processing", "LEFT", "RIGHT", "5"],
        )
        .unwrap();
        moved
    });
    wait_until_blocked(waiting_addr, "the mover to block");
    let _: i64 = query(&mut pusher, &["LPUSH", "src", "task"]).unwrap();
    assert_eq!(mover.join().unwrap(), "task");
    let processing: Vec<String> =
        query(&mut leader_conn, &["LRANGE", "processing", "0", "-1"]).unwrap();
    assert_eq!(processing, vec!["task"]);

    // BZPOPMIN parks on sorted sets the same way.
    let zwaiter = thread::spawn(move || {
        let mut conn = connect(waiting_addr).unwrap();
        let reply: (String, String, f64) = query(&mut conn, &["BZPOPMIN", "delayed", "5"]).unwrap();
        reply
    });
    wait_until_blocked(waiting_addr, "the zset waiter to block");
    let _: i64 = query(&mut pusher, &["ZADD", "delayed", "2", "late", "1", "early"]).unwrap();
    assert_eq!(
        zwaiter.join().unwrap(),
        ("delayed".to_string(), "early".to_string(), 1.0)
    );

    // CLIENT UNBLOCK ends a wait early, as a timeout or as an error.
    let mut blocked = connect(waiting_addr).unwrap();
    let id: i64 = query(&mut blocked, &["CLIENT", "ID"]).unwrap();
    let unblocked = thread::spawn(move || {
        query::<Option<(String, String)>>(&mut blocked, &["BRPOP", "never", "0"])
    });
    let mut admin = connect(waiting_addr).unwrap();
    quorum_testkit::poll_until(
        "the client to block",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            let n: i64 = query(&mut admin, &["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"])
                .map_err(|e| e.to_string())?;
            Ok((n == 1).then_some(()))
        },
    )
    .unwrap();
    let err = unblocked.join().unwrap().unwrap_err();
    assert!(err.to_string().contains("UNBLOCKED"), "{err}");
}

/// What one consumer popped, and how many of its pops have an unknown outcome (an error or a
/// lost connection while a pop may have been committed).
#[derive(Default)]
struct Consumed {
    popped: Vec<String>,
    unknown: usize,
}

#[test]
fn blocked_consumers_on_every_node_pop_each_acknowledged_push_exactly_once_across_leader_kills() {
    let mut cluster = common::cluster(&[]);
    roles(&mut cluster);
    let addrs: Vec<SocketAddr> = cluster.nodes().iter().map(|n| n.resp_addr()).collect();
    let stop = Arc::new(AtomicBool::new(false));

    // Two consumers per node, each moving to the next node when its connection fails.
    let consumed = Arc::new(Mutex::new(Consumed::default()));
    let mut consumers = Vec::new();
    for i in 0..6 {
        let (addrs, stop, consumed) = (addrs.clone(), stop.clone(), consumed.clone());
        consumers.push(thread::spawn(move || {
            let mut node = i % addrs.len();
            let mut conn = None;
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match connect(addrs[node]) {
                        Ok(c) => conn.insert(c),
                        Err(_) => {
                            node = (node + 1) % addrs.len();
                            thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                    },
                };
                match query::<Option<(String, String)>>(c, &["BLPOP", "jobs", "0.5"]) {
                    Ok(Some((_, job))) => consumed.lock().unwrap().popped.push(job),
                    Ok(None) => {}
                    Err(_) => {
                        consumed.lock().unwrap().unknown += 1;
                        conn = None;
                        node = (node + 1) % addrs.len();
                    }
                }
            }
        }));
    }

    // Two producers on different nodes; a push is acknowledged when RPUSH answers.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let unknown_pushes = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut producers = Vec::new();
    for p in 0..2 {
        let (addrs, stop, acked, unknown_pushes) = (
            addrs.clone(),
            stop.clone(),
            acked.clone(),
            unknown_pushes.clone(),
        );
        producers.push(thread::spawn(move || {
            let mut node = p + 1;
            let mut conn: Option<redis::Connection> = None;
            for n in 0..100_000 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let job = format!("p{p}-{n}");
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match connect(addrs[node % addrs.len()]) {
                        Ok(c) => conn.insert(c),
                        Err(_) => {
                            node += 1;
                            thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                    },
                };
                match query::<i64>(c, &["RPUSH", "jobs", &job]) {
                    Ok(_) => acked.lock().unwrap().push(job),
                    Err(_) => {
                        unknown_pushes.lock().unwrap().push(job);
                        conn = None;
                        node += 1;
                    }
                }
                thread::sleep(Duration::from_millis(2));
            }
        }));
    }

    // Kill the leader three times, restarting it each time.
    for _ in 0..3 {
        thread::sleep(Duration::from_millis(1500));
        let leader = cluster
            .wait_for_leader(Duration::from_secs(15))
            .expect("a leader");
        cluster.node_mut(leader).kill9().unwrap();
        cluster
            .wait_for_leader(Duration::from_secs(15))
            .expect("a new leader");
        thread::sleep(Duration::from_millis(700));
        cluster.node_mut(leader).restart().unwrap();
    }
    thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    for handle in producers.into_iter().chain(consumers) {
        handle.join().unwrap();
    }

    // Whatever is still queued is drained by one last reader.
    let leader = cluster.wait_for_leader(Duration::from_secs(15)).unwrap();
    let mut conn = connect(cluster.node(leader).resp_addr()).unwrap();
    let rest: Vec<String> = query(&mut conn, &["LRANGE", "jobs", "0", "-1"]).unwrap();

    let consumed = consumed.lock().unwrap();
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for job in consumed.popped.iter().chain(&rest) {
        *times.entry(job).or_default() += 1;
    }
    let acked = acked.lock().unwrap();
    let unknown_pushes = unknown_pushes.lock().unwrap();
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let phantom: Vec<_> = times
        .keys()
        .filter(|job| !acked.iter().any(|a| a == *job) && !unknown_pushes.iter().any(|u| u == *job))
        .collect();
    assert!(phantom.is_empty(), "popped but never pushed: {phantom:?}");
    let lost: Vec<&String> = acked
        .iter()
        .filter(|job| !times.contains_key(job.as_str()))
        .collect();
    // A pop whose reply was lost (an error or a dropped connection) may have taken an
    // element that no client saw: that is the only way an acknowledged push may be missing.
    assert!(
        lost.len() <= consumed.unknown,
        "{} acknowledged pushes lost, only {} pops had an unknown outcome: {lost:?}",
        lost.len(),
        consumed.unknown
    );
    assert!(
        consumed.popped.len() > 100,
        "only {} pops",
        consumed.popped.len()
    );
    eprintln!(
        "pushes acknowledged {}, unknown {}; popped {}, left {}; pops unknown {}, acknowledged pushes missing {}",
        acked.len(),
        unknown_pushes.len(),
        consumed.popped.len(),
        rest.len(),
        consumed.unknown,
        lost.len()
    );
}
