//! Replication and consistency on a real three-node cluster: a write accepted by any node is
//! readable on every node (linearizable by default, eventually with READONLY); a follower's
//! default read sees a write acknowledged elsewhere; a READONLY session reads its own writes;
//! concurrent INCRs through all nodes count exactly; expiry is the same on every replica;
//! INFO agrees on who leads; WAIT counts replicas; DEBUG DIGEST matches on every replica; and a
//! node cut off from its majority refuses in bounded time instead of hanging or acknowledging.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{cluster, get, info, readonly_client, roles, set, wait_value, Raw};
use quorum_testkit::poll_until;

/// A write on each node (leader and both followers) is readable on every node, through the
/// default (linearizable) path at once and through READONLY eventually.
#[test]
fn write_on_any_node_is_readable_on_every_node() {
    let cluster = cluster(&[]);
    let ids = cluster.ids();
    for &writer in &ids {
        let key = format!("written-on-{writer}");
        let value = format!("value-{writer}");
        set(&mut cluster.client(writer).unwrap(), &key, &value);
        for &reader in &ids {
            // Default level: the write was acknowledged, so every node must return it now.
            let got = get(&mut cluster.client(reader).unwrap(), &key)
                .unwrap_or_else(|e| panic!("GET on node {reader}: {e}"));
            assert_eq!(
                got.as_deref(),
                Some(value.as_str()),
                "default GET {key} on node {reader} after SET on node {writer}"
            );
            // READONLY reads local state, which may lag: poll.
            let mut ro = readonly_client(&cluster, reader);
            wait_value(
                &mut ro,
                &key,
                Some(&value),
                &format!("READONLY GET {key} on node {reader}"),
            );
        }
    }
}

/// A default-level GET on a follower right after another client's write was acknowledged on
/// the leader sees that write (no stale read): the follower must not answer from its local
/// state without a read barrier.
#[test]
fn follower_default_read_sees_write_acknowledged_on_leader() {
    let mut cluster = cluster(&[]);
    let (leader, followers) = roles(&mut cluster);
    let mut writer = cluster.client(leader).unwrap();
    let mut readers: Vec<_> = followers
        .iter()
        .map(|&f| (f, cluster.client(f).unwrap()))
        .collect();
    // Many rounds: a follower that serves stale local state loses the race to apply at least
    // once in a hundred.
    for i in 0..100 {
        let value = i.to_string();
        set(&mut writer, "lin", &value);
        let n: i64 = redis::cmd("INCR")
            .arg("lin-ctr")
            .query(&mut writer)
            .unwrap();
        for (id, reader) in readers.iter_mut() {
            let got = get(reader, "lin").unwrap();
            assert_eq!(
                got.as_deref(),
                Some(value.as_str()),
                "round {i}: follower {id} returned a stale value"
            );
            let ctr: Option<i64> = redis::cmd("GET").arg("lin-ctr").query(reader).unwrap();
            assert_eq!(ctr, Some(n), "round {i}: follower {id} stale counter");
        }
    }
}

/// A READONLY connection on a follower reads its own writes: the write is forwarded to the
/// leader, and the reply must not come back before the follower can show the result.
#[test]
fn readonly_session_reads_its_own_writes_on_follower() {
    let mut cluster = cluster(&[]);
    let (_, followers) = roles(&mut cluster);
    for &f in &followers {
        let mut conn = readonly_client(&cluster, f);
        let key = format!("ryw-{f}");
        for i in 0..100 {
            let value = format!("v{i}");
            set(&mut conn, &key, &value);
            assert_eq!(
                get(&mut conn, &key).unwrap().as_deref(),
                Some(value.as_str()),
                "READONLY on follower {f}, round {i}: own write not visible"
            );
            let n: i64 = redis::cmd("INCR")
                .arg(format!("ryw-ctr-{f}"))
                .query(&mut conn)
                .unwrap();
            assert_eq!(n, i + 1);
            let seen: Option<i64> = redis::cmd("GET")
                .arg(format!("ryw-ctr-{f}"))
                .query(&mut conn)
                .unwrap();
            assert_eq!(
                seen,
                Some(n),
                "READONLY on follower {f}: own INCR not visible"
            );
        }
    }
}

/// INCR from all three nodes at once: every reply is distinct, and the counter ends at exactly
/// the number of acknowledged increments on every node.
#[test]
fn concurrent_incr_from_all_nodes_counts_exactly() {
    const PER_THREAD: i64 = 200;
    let cluster = cluster(&[]);
    let ids = cluster.ids();
    let handles: Vec<_> = ids
        .iter()
        .map(|&id| {
            let mut conn = cluster.client(id).unwrap();
            std::thread::spawn(move || {
                (0..PER_THREAD)
                    .map(|_| {
                        redis::cmd("INCR")
                            .arg("ctr")
                            .query::<i64>(&mut conn)
                            .unwrap_or_else(|e| panic!("INCR on node {id}: {e}"))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut replies = BTreeSet::new();
    for h in handles {
        for r in h.join().expect("INCR thread") {
            assert!(replies.insert(r), "INCR returned {r} twice");
        }
    }
    let total = PER_THREAD * ids.len() as i64;
    let expected: BTreeSet<i64> = (1..=total).collect();
    assert_eq!(
        replies, expected,
        "INCR replies are not exactly 1..={total}"
    );
    for &id in &ids {
        let got: i64 = redis::cmd("GET")
            .arg("ctr")
            .query(&mut cluster.client(id).unwrap())
            .unwrap();
        assert_eq!(got, total, "default GET ctr on node {id}");
        let mut ro = readonly_client(&cluster, id);
        wait_value(
            &mut ro,
            "ctr",
            Some(&total.to_string()),
            &format!("READONLY ctr on node {id}"),
        );
    }
}

/// SET with EX and PX: the TTL is an absolute deadline decided once, so every node reports
/// the same remaining time (within scheduling noise) and the key disappears from every node,
/// for default and READONLY reads.
#[test]
fn set_with_ex_and_px_expires_on_every_node() {
    let mut cluster = cluster(&[]);
    let (_, followers) = roles(&mut cluster);
    let ids = cluster.ids();
    // Set through a follower, so the deadline travels through forwarding and the log.
    let mut conn = cluster.client(followers[0]).unwrap();
    let ok: String = redis::cmd("SET")
        .arg("ex-key")
        .arg("v")
        .arg("EX")
        .arg(2)
        .query(&mut conn)
        .unwrap();
    assert_eq!(ok, "OK");
    let ok: String = redis::cmd("SET")
        .arg("px-key")
        .arg("v")
        .arg("PX")
        .arg(1500)
        .query(&mut conn)
        .unwrap();
    assert_eq!(ok, "OK");
    let written = Instant::now();

    let mut pttls = Vec::new();
    for &id in &ids {
        let mut c = cluster.client(id).unwrap();
        let ttl: i64 = redis::cmd("TTL").arg("ex-key").query(&mut c).unwrap();
        assert!((1..=2).contains(&ttl), "TTL ex-key on node {id} = {ttl}");
        let pttl: i64 = redis::cmd("PTTL").arg("px-key").query(&mut c).unwrap();
        assert!(
            (1..=1500).contains(&pttl),
            "PTTL px-key on node {id} = {pttl}"
        );
        // What the deadline is on this node, in the test's clock.
        pttls.push((id, pttl + written.elapsed().as_millis() as i64));
        assert_eq!(get(&mut c, "ex-key").unwrap().as_deref(), Some("v"));
    }
    let lo = pttls.iter().map(|p| p.1).min().unwrap();
    let hi = pttls.iter().map(|p| p.1).max().unwrap();
    assert!(
        hi - lo <= 500,
        "nodes disagree on the px-key deadline by {} ms: {pttls:?}",
        hi - lo
    );

    for &id in &ids {
        let mut c = cluster.client(id).unwrap();
        let mut ro = readonly_client(&cluster, id);
        for key in ["ex-key", "px-key"] {
            // 2 s TTL plus slack for the background expiry to go through the log.
            poll_until(
                &format!("{key} to expire on node {id}"),
                Duration::from_secs(6),
                Duration::from_millis(50),
                || {
                    let a = get(&mut c, key).map_err(|e| e.to_string())?;
                    let b = get(&mut ro, key).map_err(|e| e.to_string())?;
                    Ok((a.is_none() && b.is_none()).then_some(()))
                },
            )
            .unwrap();
            let ttl: i64 = redis::cmd("TTL").arg(key).query(&mut c).unwrap();
            assert_eq!(ttl, -2, "TTL of expired {key} on node {id}");
            let exists: i64 = redis::cmd("EXISTS").arg(key).query(&mut ro).unwrap();
            assert_eq!(exists, 0, "READONLY EXISTS of expired {key} on node {id}");
        }
    }
    assert!(
        written.elapsed() >= Duration::from_millis(1400),
        "px-key vanished everywhere before its 1500 ms TTL"
    );
}

/// INFO: exactly one `role:master` (the Raft leader), `role:slave` elsewhere, and the raft
/// section agrees across nodes on leader, term and (once replicated) commit/applied index.
#[test]
fn info_reports_one_master_and_consistent_raft_state() {
    let mut cluster = cluster(&[]);
    let (leader, _) = roles(&mut cluster);
    let ids = cluster.ids();
    set(&mut cluster.client(leader).unwrap(), "info-key", "1");
    let mut conns: Vec<_> = ids
        .iter()
        .map(|&id| (id, cluster.client(id).unwrap()))
        .collect();
    poll_until(
        "INFO to agree on every node",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || {
            let mut masters = Vec::new();
            let mut raft = Vec::new();
            for (id, conn) in conns.iter_mut() {
                let repl = info(conn, "replication");
                match repl.get("role").map(String::as_str) {
                    Some("master") => masters.push(*id),
                    Some("slave") => {}
                    other => return Err(format!("node {id}: role {other:?}")),
                }
                let r = info(conn, "raft");
                let field = |k: &str| -> Result<u64, String> {
                    r.get(k)
                        .and_then(|v| v.parse().ok())
                        .ok_or_else(|| format!("node {id}: INFO raft lacks {k}: {r:?}"))
                };
                if field("raft_node_id")? != *id {
                    return Err(format!("node {id}: raft_node_id {:?}", r["raft_node_id"]));
                }
                let (commit, applied) = (field("raft_commit_index")?, field("raft_applied_index")?);
                if applied > commit {
                    return Err(format!("node {id}: applied {applied} > commit {commit}"));
                }
                raft.push((
                    field("raft_leader_id")?,
                    field("raft_term")?,
                    commit,
                    applied,
                ));
            }
            if masters != [leader] {
                return Err(format!("masters {masters:?}, leader {leader}"));
            }
            let first = raft[0];
            if first.0 != leader || first.2 == 0 || first.2 != first.3 {
                return Err(format!("raft fields {raft:?}"));
            }
            Ok(raft.iter().all(|r| *r == first).then_some(()))
        },
    )
    .unwrap();
}

/// WAIT counts the replicas that hold the connection's last write: 2 with both followers up,
/// and with one follower down it gives up after its timeout with 1 instead of blocking.
#[test]
fn wait_counts_replicas_holding_the_write() {
    let mut cluster = cluster(&[]);
    let (leader, followers) = roles(&mut cluster);
    let mut conn = cluster.client(leader).unwrap();
    set(&mut conn, "w", "1");
    let n: i64 = redis::cmd("WAIT")
        .arg(2)
        .arg(1000)
        .query(&mut conn)
        .unwrap();
    assert_eq!(n, 2, "WAIT 2 1000 on the leader after a write");

    cluster.node_mut(followers[0]).kill9().unwrap();
    set(&mut conn, "w", "2");
    let started = Instant::now();
    let n: i64 = redis::cmd("WAIT").arg(2).arg(500).query(&mut conn).unwrap();
    let took = started.elapsed();
    assert_eq!(n, 1, "WAIT 2 500 with one follower down");
    assert!(
        took < Duration::from_millis(2500),
        "WAIT 2 500 took {took:?}"
    );
}

const REQUEST_TIMEOUT_MS: u64 = 1500;

/// Stops the two nodes other than `survivor`, then checks that a write and a default-level
/// read on the survivor fail with CLUSTERDOWN/TRYAGAIN within the request timeout plus 2 s;
/// after the others return, the survivor serves again.
fn minority_refuses_then_recovers(survivor_is_leader: bool) {
    let timeout = REQUEST_TIMEOUT_MS.to_string();
    let mut cluster = cluster(&["--request-timeout-ms", &timeout]);
    let (leader, followers) = roles(&mut cluster);
    let survivor = if survivor_is_leader {
        leader
    } else {
        followers[0]
    };
    let others: Vec<u64> = cluster
        .ids()
        .into_iter()
        .filter(|id| *id != survivor)
        .collect();
    let addr = cluster.node(survivor).resp_addr();
    let mut raw = Raw::connect(addr);
    assert_eq!(raw.cmd(&["SET", "before", "1"]), "+OK\r\n");

    for &id in &others {
        cluster.node_mut(id).stop().unwrap();
    }
    let bound = Duration::from_millis(REQUEST_TIMEOUT_MS + 2000);
    // Old and new connections alike must be refused in bounded time.
    for round in 0..2 {
        if round == 1 {
            raw = Raw::connect(addr);
        }
        raw.set_read_timeout(bound + Duration::from_secs(3));
        for args in [
            &["SET", "during", "x"][..],
            &["INCR", "ctr"][..],
            &["GET", "before"][..],
        ] {
            let started = Instant::now();
            raw.send_cmd(args);
            let reply = raw.try_reply();
            let took = started.elapsed();
            let reply = reply.unwrap_or_else(|| {
                panic!("{args:?} on isolated node {survivor}: no reply after {took:?}")
            });
            assert!(
                reply.starts_with("-CLUSTERDOWN") || reply.starts_with("-TRYAGAIN"),
                "{args:?} on isolated node {survivor} answered {reply:?}"
            );
            assert!(
                took <= bound,
                "{args:?} on isolated node {survivor} took {took:?} (bound {bound:?})"
            );
        }
    }

    for &id in &others {
        cluster.node_mut(id).restart().unwrap();
    }
    cluster.wait_for_leader(Duration::from_secs(15)).unwrap();
    let mut conn = cluster.client(survivor).unwrap();
    poll_until(
        "the survivor to accept writes again",
        Duration::from_secs(15),
        Duration::from_millis(100),
        || match redis::cmd("SET")
            .arg("after")
            .arg("2")
            .query::<String>(&mut conn)
        {
            Ok(ok) if ok == "OK" => Ok(Some(())),
            Ok(other) => Err(other),
            Err(e) => Err(e.to_string()),
        },
    )
    .unwrap();
    assert_eq!(get(&mut conn, "before").unwrap().as_deref(), Some("1"));
    assert_eq!(get(&mut conn, "after").unwrap().as_deref(), Some("2"));
}

#[test]
fn isolated_leader_refuses_in_bounded_time_then_recovers() {
    minority_refuses_then_recovers(true);
}

#[test]
fn isolated_follower_refuses_in_bounded_time_then_recovers() {
    minority_refuses_then_recovers(false);
}

/// DEBUG DIGEST: replicas that applied the same log hold the same keyspace, down to values and
/// deadlines. (The chaos checker's replica-divergence test relies on this command.)
#[test]
fn replicas_share_one_keyspace_digest() {
    let cluster = cluster(&[]);
    let ids = cluster.ids();
    for (i, &id) in ids.iter().cycle().take(30).enumerate() {
        let mut conn = cluster.client(id).unwrap();
        let key = format!("digest-{i}");
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(i)
            .arg("EX")
            .arg(1000 + i)
            .query(&mut conn)
            .unwrap();
        let _: i64 = redis::cmd("APPEND")
            .arg("digest-log")
            .arg(i)
            .query(&mut conn)
            .unwrap();
    }
    let zeros = "0".repeat(40);
    let linearizable: String = redis::cmd("DEBUG")
        .arg("DIGEST")
        .query(&mut cluster.client(ids[0]).unwrap())
        .unwrap();
    assert_eq!(linearizable.len(), 40);
    assert_ne!(linearizable, zeros, "30 keys written");
    let mut readonly: Vec<_> = ids
        .iter()
        .map(|&id| readonly_client(&cluster, id))
        .collect();
    poll_until(
        "every replica's DEBUG DIGEST to match",
        Duration::from_secs(5),
        Duration::from_millis(20),
        || {
            let digests: Vec<String> = readonly
                .iter_mut()
                .map(|conn| redis::cmd("DEBUG").arg("DIGEST").query(conn))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            if digests.iter().all(|d| *d == linearizable) {
                Ok(Some(()))
            } else {
                Err(format!("digests {digests:?}, linearizable {linearizable}"))
            }
        },
    )
    .unwrap();
}
