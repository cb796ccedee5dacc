//! A slow network, through `quorum chaos`'s link proxies (one fault proxy per ordered link
//! between the nodes): writes must keep committing while every round trip between nodes is
//! longer than the heartbeat interval but well inside the election timeout.
//!
//! Found by `quorum chaos --faults latency`: openraft 0.9 times every AppendEntries call (and
//! every read-index round) out after one `heartbeat_interval`, so with a round trip of 46 ms
//! against a 50 ms heartbeat every call timed out, no entry ever committed, and no write was
//! acknowledged for as long as the latency lasted, while the followers, still hearing the
//! late heartbeats, never elected another leader. And then, in CI: opening the AppendEntries
//! stream took a round trip before its first request could go, so a call that had to reopen
//! it (after any timeout) needed two round trips, never fit, and left the stream to be reopened
//! again; the first request now travels with the stream's headers. The links are reset once
//! the delay is on, so every stream is opened under it.

use std::path::Path;
use std::time::{Duration, Instant};

use quorum_chaos::cluster::{ClusterControl, LocalCluster};

mod common;

use common::QUORUM;

/// One-way delay added by each proxy: with the test timings (heartbeat 50 ms, elections
/// 250-500 ms) a round trip takes at least 70 ms.
const ONE_WAY: Duration = Duration::from_millis(35);
/// How long the writer gets.
const WRITE_PHASE: Duration = Duration::from_secs(10);
/// Writes that must be acknowledged within it (one takes about one round trip).
const WRITES: usize = 20;

#[test]
fn writes_commit_when_round_trips_are_longer_than_the_heartbeat_interval() {
    let mut cluster = LocalCluster::start(Path::new(QUORUM), 3, &[], Some(7)).unwrap();
    let leader = cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    let members = cluster.members();
    let links = cluster.links().expect("the cluster runs link proxies");
    for a in &members {
        for b in members.iter().filter(|b| a < *b) {
            links
                .delay_between(*a, *b, ONE_WAY, Duration::ZERO)
                .unwrap();
            // Every connection and AppendEntries stream is reopened under the delay.
            links.reset_between(*a, *b).unwrap();
        }
    }

    let client = redis::Client::open(format!("redis://{}/", cluster.resp_addr(leader))).unwrap();
    let mut acked = 0;
    let mut errors = Vec::new();
    let started = Instant::now();
    // Bounded by time and by count.
    while started.elapsed() < WRITE_PHASE && acked < WRITES {
        let reply = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .and_then(|mut conn| {
                conn.set_read_timeout(Some(Duration::from_secs(2)))?;
                redis::cmd("INCR")
                    .arg("slow-network")
                    .query::<i64>(&mut conn)
            });
        match reply {
            Ok(_) => acked += 1,
            Err(e) if errors.len() < 10 => errors.push(e.to_string()),
            Err(_) => {}
        }
    }
    assert!(
        acked >= WRITES,
        "{acked} INCRs acknowledged in {WRITE_PHASE:?} with {ONE_WAY:?} each way between nodes; \
         errors: {errors:?}\n{}",
        cluster.log_tails()
    );
}
