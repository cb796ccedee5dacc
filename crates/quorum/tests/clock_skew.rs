//! A node whose wall clock is hours off must still judge expiry by the leader's time for
//! linearizable reads: the leader stamps every TTL with its own clock, so a follower running
//! 3 hours ahead would otherwise hide a key that has 1 hour to live (a read returning nil for
//! a live key is not linearizable). Needs libfaketime (Debian `faketime`, installed by
//! scripts/test); the clock is only faked for the wall clock (`FAKETIME_DONT_FAKE_MONOTONIC`).

mod common;

use std::time::Duration;

use common::cluster;
use quorum_testkit::poll_until;

const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

#[test]
fn a_follower_hours_ahead_still_serves_keys_that_have_not_expired_by_the_leaders_clock() {
    assert!(
        std::path::Path::new(FAKETIME_LIB).exists(),
        "{FAKETIME_LIB} is missing: install Debian's faketime (scripts/test does)"
    );
    let mut cluster = cluster(&[]);
    let leader = cluster.wait_for_leader(Duration::from_secs(20)).unwrap();
    let follower = cluster.ids().into_iter().find(|&id| id != leader).unwrap();
    cluster.node_mut(follower).stop().unwrap();
    cluster
        .node_mut(follower)
        .restart_with_env(&[
            ("LD_PRELOAD", FAKETIME_LIB),
            ("FAKETIME", "+3h"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ])
        .unwrap();
    cluster
        .node_mut(follower)
        .wait_serving(Duration::from_secs(30))
        .unwrap();

    let mut on_leader = cluster.node(leader).client().unwrap();
    let mut on_follower = cluster.node(follower).client().unwrap();
    // One hour to live by the leader's clock; the follower's clock says it died 2 hours ago.
    let _: () = redis::cmd("SET")
        .arg("session")
        .arg("alive")
        .arg("PX")
        .arg(3_600_000)
        .query(&mut on_leader)
        .unwrap();
    // The follower may still be catching up after its restart: ask until it answers.
    let seen: Option<String> = poll_until(
        "a GET answered by the follower",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || match redis::cmd("GET")
            .arg("session")
            .query::<Option<String>>(&mut on_follower)
        {
            Ok(value) => Ok(Some(value)),
            Err(e) => Err(e.to_string()),
        },
    )
    .unwrap();
    assert_eq!(
        seen.as_deref(),
        Some("alive"),
        "a follower 3 h ahead hid a key with 1 h to live from a linearizable GET"
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg("session")
        .query(&mut on_follower)
        .unwrap();
    assert!(
        (3_000_000..=3_600_000).contains(&ttl),
        "PTTL on the follower: {ttl} ms"
    );
    // The node's own clock really is 3 h ahead (the test proves something only then).
    let time: Vec<String> = redis::cmd("TIME").query(&mut on_follower).unwrap();
    let follower_s: u64 = time[0].parse().unwrap();
    let real_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        follower_s > real_s + 2 * 3600,
        "the follower's clock is not ahead: {follower_s} vs {real_s}"
    );
}
