//! Monotonic clock-rate skew beyond what the read lease tolerates is caught.
//!
//! The read lease is 0.9 × `election_timeout_min` on the leader's clock, and the followers'
//! vote lease `election_timeout_max` on theirs. With the test timings (250/500 ms) a leader may
//! run up to about 2.2 × slower than its followers before its lease outlives their promise not
//! to elect anyone else (a 2 × slow leader is still safe); `quorum chaos --faults clock` stays
//! within ±5 %. Here the leader's clock runs 10 × slow (`--clock-rate 0.1`, the slowest it
//! takes): its 225 ms lease lasts 2.25 s of real time, while its followers, at the real rate, elect a new leader about
//! a second after they stop hearing from it. Isolated from them (clients still reach it), it
//! keeps answering its sticky clients' reads from the lease after the new leader acknowledged
//! writes: `quorum verify` must report stale reads.
//!
//! A leader killed and restarted within its term resumes leading at once, so each round
//! restarts the current leader at 0.1 (a first round at 0.95, inside the bound, must be
//! valid), starts `quorum verify` (its clients spread over every
//! node, so some stay on the slow leader), isolates the leader, heals, and restarts the leader
//! at the real rate. Tried first and caught nothing: pausing a slow leader instead (on SIGCONT
//! it hears of the new term before it answers a queued read), and restarting the followers of
//! a slow leader (its replication backoff, 500 ms on its clock, is 5 s of real time, and they
//! elect another leader first). Partitions need network namespaces, so root, as CI runs.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use quorum_chaos::cluster::ClusterControl;
use quorum_chaos::netns::{self, NetnsCluster};

mod common;

use common::load::connect;
use common::process::{read_classes, reports_any, show, wait_bounded};
use common::QUORUM;

/// Rounds with the slow leader tried before the test gives up (each takes about 6 s; the
/// first caught stale reads in each of 4 local runs once clients were sure to reach the leader).
const ROUNDS_MAX: usize = 12;
/// How long the slow leader stays isolated: the followers elect a new leader after about a
/// second, the old leader's lease lasts 1.1 to 2.25 s of real time after the isolation starts
/// (it is renewed once half spent), so a read it answers in between can be stale.
const ISOLATION: Duration = Duration::from_millis(2_500);

/// What a read that could not have happened is reported as, per workload.
const STALE_READ_CLASSES: &[&str] = &["stale_read", "not_linearizable", "counter_mismatch"];

#[test]
fn an_isolated_leader_whose_clock_runs_ten_times_slow_serves_stale_reads() {
    if let Some(reason) = netns::unavailable() {
        eprintln!("skipped: {reason} (partitions need network namespaces)");
        return;
    }
    let mut cluster = NetnsCluster::start(Path::new(QUORUM), 3, &[], None).unwrap();
    // The same round with the leader 5 % slow (inside the bound) must be valid: it is the
    // skew that is caught, not the partition.
    let control = round(&mut cluster, "0.95", 100);
    assert!(
        control.isolated && control.output.status.code() == Some(0),
        "a leader 5 % slow, isolated: {:?}\n{}",
        control.classes,
        show(&control.output)
    );
    let mut outcomes = Vec::new();
    for seed in 1..=ROUNDS_MAX as u64 {
        let outcome = round(&mut cluster, "0.1", seed);
        if reports_any(&outcome.output, &outcome.classes, STALE_READ_CLASSES) {
            return;
        }
        outcomes.push(outcome);
    }
    let shown: Vec<String> = outcomes
        .iter()
        .map(|o| format!("isolated: {}\n{}", o.isolated, show(&o.output)))
        .collect();
    panic!(
        "{ROUNDS_MAX} rounds of a 10x slow leader were not caught as stale reads\n{}",
        shown.join("\n")
    );
}

/// Waits (at most 15 s) until the node at `addr` answers PING.
fn wait_until_serving(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let pong = connect(addr).and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn));
        match pong {
            Ok(_) => return,
            Err(err) if Instant::now() > deadline => panic!("{addr} does not answer PING: {err}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// What one round saw.
struct Round {
    /// The restarted leader resumed leading and was isolated.
    isolated: bool,
    /// `quorum verify`'s output.
    output: Output,
    /// The anomaly classes it reported.
    classes: Vec<String>,
}

/// Restarts the leader at `rate`, runs `quorum verify` (seeded with `seed`) for 5 s while the
/// leader is isolated for [`ISOLATION`], heals, and restarts the leader at the real rate.
fn round(cluster: &mut NetnsCluster, rate: &str, seed: u64) -> Round {
    let ids = cluster.members();
    let endpoints: Vec<String> = ids
        .iter()
        .map(|id| cluster.resp_addr(*id).to_string())
        .collect();
    let leader = cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    cluster.kill9(leader).unwrap();
    let skew = ["--clock-rate".to_string(), rate.to_string()];
    cluster.restart_with_args(leader, &skew).unwrap();
    // A client whose first connection is refused moves to another node, sticky or not: had
    // verify started before the leader listened, no client would stay on it (every round of
    // a CI run missed so, 2026-11-30).
    wait_until_serving(cluster.resp_addr(leader));
    let report = tempfile::tempdir().unwrap();
    let dir = report.path().join("report");
    let verify = Command::new(QUORUM)
        .args([
            "verify",
            "--endpoints",
            &endpoints.join(","),
            "--duration",
            "5s",
            // Clients stay on the isolated leader, which keeps answering their reads.
            "--sticky-clients",
            "--op-timeout-ms",
            "500",
            "--readonly-clients",
            "0",
            "--keys",
            "2",
            "--seed",
            &seed.to_string(),
            "--report",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The resumed leader confirms a lease with the first reads.
    std::thread::sleep(Duration::from_millis(1_200));
    let isolated = cluster.leader() == Some(leader);
    if isolated {
        for &other in ids.iter().filter(|&&id| id != leader) {
            cluster.drop_link(leader, other).unwrap();
            cluster.drop_link(other, leader).unwrap();
        }
        std::thread::sleep(ISOLATION);
        cluster.heal_network().unwrap();
    }
    let output = wait_bounded(verify, Duration::from_secs(60));
    let classes = read_classes(&dir.join("check.json"), &output);
    eprintln!(
        "leader {leader} at rate {rate}, isolated: {isolated}; verify exit {:?}, anomalies \
         {classes:?}",
        output.status.code()
    );
    cluster.kill9(leader).unwrap();
    cluster.restart(leader, &[]).unwrap();
    Round {
        isolated,
        output,
        classes,
    }
}
