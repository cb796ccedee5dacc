//! `quorum chaos` and `quorum verify` run as a user runs them: the real binary, real nodes,
//! a real Redis for comparison. Every child process is bounded in time and killed on failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use quorum_testkit::{start_redis_server, Cluster, RedisServer};

mod common;

use common::process::{quorum_bounded, show};
use common::QUORUM;

/// Upper bound of one `quorum chaos`/`verify` invocation in these tests (a hang fails).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the binary with `args`, waits at most [`RUN_TIMEOUT`], and returns its output.
fn quorum(args: &[&str]) -> Output {
    quorum_with_pid(args).0
}

/// [`quorum`], also returning the process id (chaos names its namespaces after it).
fn quorum_with_pid(args: &[&str]) -> (Output, u32) {
    quorum_bounded(args, RUN_TIMEOUT)
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts the report directory holds the four files and returns the history.
fn assert_report(dir: &Path) -> serde_json::Value {
    for file in ["summary.md", "history.json", "check.json", "timeline.html"] {
        assert!(
            dir.join(file).is_file(),
            "{file} missing in {}",
            dir.display()
        );
    }
    let check = read_json(&dir.join("check.json"));
    assert_eq!(check["valid"], true, "{check:#}");
    let timeline = std::fs::read_to_string(dir.join("timeline.html")).unwrap();
    assert!(timeline.contains("<svg") && !timeline.contains("src=\"http"));
    read_json(&dir.join("history.json"))
}

fn acknowledged(history: &serde_json::Value) -> usize {
    history["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| op["outcome"]["o"] == "ok")
        .count()
}

/// A finished `quorum chaos` run: its output, process id, report directory and history.
struct ChaosRun {
    output: Output,
    pid: u32,
    dir: PathBuf,
    history: serde_json::Value,
    _report: tempfile::TempDir,
}

/// Runs `quorum chaos` for 20 s with `faults` and `seed`, asserts exit 0 with a complete
/// report, acknowledged operations and at least one injected fault.
fn chaos(faults: &str, seed: &str, interval: &str) -> ChaosRun {
    chaos_with(faults, seed, interval, &[])
}

/// [`chaos`] with `extra` flags.
fn chaos_with(faults: &str, seed: &str, interval: &str, extra: &[&str]) -> ChaosRun {
    let report = tempfile::tempdir().unwrap();
    let dir = report.path().join("report");
    let mut args = vec![
        "chaos",
        "--duration",
        "20s",
        "--interval",
        interval,
        "--faults",
        faults,
        "--seed",
        seed,
        "--report",
        dir.to_str().unwrap(),
    ];
    args.extend(extra);
    let (output, pid) = quorum_with_pid(&args);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let history = assert_report(&dir);
    assert!(acknowledged(&history) > 0, "{}", show(&output));
    let injected = history["faults"].as_array().unwrap();
    assert!(!injected.is_empty(), "no fault injected\n{}", show(&output));
    ChaosRun {
        output,
        pid,
        dir,
        history,
        _report: report,
    }
}

#[test]
fn chaos_with_kills_pauses_membership_and_snapshots_finds_a_valid_history() {
    let run = chaos("kill,pause,membership,snapshot", "1", "4s");
    let summary = std::fs::read_to_string(run.dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("VALID") && summary.contains("seed 1"),
        "{summary}"
    );
}

/// Clock faults (as root: wall clocks hours off besides rates ±5 %; otherwise rates only) with
/// the expiry workload: no key outlives its TTL or vanishes before it, and the lease holds
/// with a leader or a follower running up to 5 % fast or slow.
#[test]
fn chaos_with_clock_rate_skew_and_expiring_keys_finds_a_valid_history() {
    let run = chaos_with("clock", "3", "3s", &["--expiry"]);
    let faults = run.history["faults"].as_array().unwrap();
    assert!(
        faults
            .iter()
            .any(|f| f["detail"].as_str().unwrap().contains("monotonic clock at")),
        "no clock-rate fault injected\n{}",
        show(&run.output)
    );
    let ops = run.history["ops"].as_array().unwrap();
    for call in ["set_px", "pttl"] {
        assert!(
            ops.iter()
                .any(|op| op["call"]["f"] == call && op["outcome"]["o"] == "ok"),
            "no acknowledged {call}\n{}",
            show(&run.output)
        );
    }
}

/// Seed 2 damages a follower's files five times in 20 s (a torn last record, bit flips and
/// truncations of the log and the newest snapshot) besides wiping one. Each damaged node must
/// either start (and catch up) or refuse to start with an error naming the damaged file and
/// be replaced; the wiped one must refuse to rejoin under its old id and be replaced; the
/// history must stay valid and the replicas agree (`chaos` asserts exit 0).
#[test]
fn chaos_with_damaged_disks_refuses_or_repairs_and_finds_a_valid_history() {
    let run = chaos("disk", "2", "3s");
    let damaged: Vec<&str> = run.history["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["detail"].as_str())
        .filter(|d| {
            d.contains("tore the last record")
                || d.contains("flipped bit")
                || d.contains("truncated")
        })
        .collect();
    assert!(
        damaged.len() >= 3,
        "too few damaged disks\n{}",
        show(&run.output)
    );
    for detail in &damaged {
        assert!(
            detail.contains("it started") || detail.contains("refused to start: "),
            "no outcome recorded: {detail}"
        );
    }
    assert!(
        damaged
            .iter()
            .any(|d| d.contains("refused to start: ") && d.contains("added in its place")),
        "no damaged node refused to start and was replaced: {damaged:#?}"
    );
    // The wiped follower must itself refuse to rejoin under its old id (its log line is
    // quoted), not only be replaced by the harness.
    let wiped: Vec<&str> = run.history["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["detail"].as_str())
        .filter(|d| d.contains("data directory deleted"))
        .collect();
    assert!(
        !wiped.is_empty(),
        "no data directory deleted\n{}",
        show(&run.output)
    );
    for detail in &wiped {
        assert!(
            detail.contains("it refused to rejoin (") && detail.contains("added in its place"),
            "a wiped node did not refuse to rejoin: {detail}"
        );
    }
}

/// Power cuts of a majority and of every node (`--emulate-power-loss`) with half the clients
/// reading with READONLY: a node restarted after a cut replays its log only up to the commit
/// index it had synced, so it must catch up with a leader before it serves READONLY reads, or
/// a session reads older data from it than before the cut. Seed 3 reported 20 such
/// non-monotonic reads (and seeds 2 and 6 a few) before nodes caught up first.
#[test]
fn power_cuts_keep_readonly_sessions_monotonic() {
    let report = tempfile::tempdir().unwrap();
    let dir = report.path().join("report");
    let output = quorum(&[
        "chaos",
        "--duration",
        "20s",
        "--interval",
        "2s",
        "--faults",
        "power",
        "--seed",
        "3",
        "--readonly-clients",
        "5",
        "--report",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let history = assert_report(&dir);
    let cuts = history["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "power")
        .count();
    assert!(cuts >= 5, "only {cuts} power cuts\n{}", show(&output));
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("sessions monotonic: 5/5"),
        "{summary}\n{}",
        show(&output)
    );
}

#[test]
fn the_same_seed_gives_the_same_schedule() {
    let schedule = |seed: &str| {
        let output = quorum(&[
            "chaos",
            "--print-schedule",
            "--duration",
            "5m",
            "--faults",
            "all",
            "--seed",
            seed,
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", show(&output));
        String::from_utf8(output.stdout).unwrap()
    };
    let first = schedule("42");
    assert_eq!(first, schedule("42"));
    assert_ne!(first, schedule("43"));
    for class in [
        "kill",
        "SIGSTOP",
        "partition",
        "remove",
        "snapshot",
        "clock",
    ] {
        assert!(first.contains(class), "{class} missing from\n{first}");
    }
    // A disk fault: a wiped, full or damaged follower.
    assert!(
        [
            "wipe",
            "on a disk with",
            "torn last log record",
            "in the Raft log",
            "in the newest snapshot"
        ]
        .iter()
        .any(|disk| first.contains(disk)),
        "no disk fault in\n{first}"
    );
}

#[test]
fn verify_against_a_quorum_cluster_is_valid() {
    let cluster = Cluster::builder(Path::new(QUORUM)).start().unwrap();
    let endpoints: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|n| n.resp_addr().to_string())
        .collect();
    let report = tempfile::tempdir().unwrap();
    let output = quorum(&[
        "verify",
        "--endpoints",
        &endpoints.join(","),
        "--duration",
        "8s",
        "--report",
        report.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let history = assert_report(report.path());
    assert!(acknowledged(&history) > 0);
    // verify deletes its own keys: the cluster is left as it was found.
    let mut conn = cluster.client(cluster.ids()[0]).unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("quorum-verify:*")
        .query(&mut conn)
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

/// A `redis-server` on a free loopback port and its address; `None` (with a printed reason)
/// when Redis is not installed.
fn start_redis() -> Option<(RedisServer, String)> {
    let Some(server) = start_redis_server(&[]).expect("start redis-server") else {
        eprintln!("skipped: redis-server is not installed (Debian package redis-server)");
        return None;
    };
    let addr = server.addr().to_string();
    Some((server, addr))
}

#[test]
fn verify_against_redis_is_valid() {
    let Some((_redis, addr)) = start_redis() else {
        return;
    };
    let report = tempfile::tempdir().unwrap();
    let output = quorum(&[
        "verify",
        "--endpoints",
        &addr,
        "--duration",
        "3s",
        "--report",
        report.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    assert!(acknowledged(&assert_report(report.path())) > 0);
}

#[test]
fn chaos_with_partitions_clock_skew_and_latency_finds_a_valid_history() {
    // Partitions and per-node clocks need every node in its own network namespace (root).
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("skipped: partitions need root for network namespaces");
        return;
    }
    // Disk faults are left out: a full disk during a snapshot installation currently leaves
    // the node unable to restart (a quorum bug the harness found), which would fail this test
    // for a reason that is not the partition machinery's.
    // Latency brings the link proxies into the namespaces: their traffic must still be cut by
    // the partitions' iptables rules.
    let run = chaos("partition,clock,latency", "2", "3s");
    let faults = run.history["faults"].as_array().unwrap();
    for class in ["partition", "latency"] {
        assert!(
            faults.iter().any(|f| f["class"] == class),
            "no {class} fault injected\n{}",
            show(&run.output)
        );
    }
    // Every namespace of the run is gone.
    let namespaces = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let namespaces = String::from_utf8_lossy(&namespaces.stdout).into_owned();
    assert!(
        !namespaces.contains(&format!("qchaos-{}-", run.pid)),
        "namespaces left behind: {namespaces}"
    );
}

/// The link proxies, as a user without root gets them (`--cluster loopback`): partitions,
/// latency with jitter, and replayed connections, all injected, and the history valid.
#[test]
fn chaos_through_link_proxies_with_partitions_latency_and_duplication_finds_a_valid_history() {
    let run = chaos_with(
        "partition,latency,duplicate",
        "1",
        "3s",
        &["--cluster", "loopback"],
    );
    let faults = run.history["faults"].as_array().unwrap();
    for class in ["partition", "latency", "duplicate"] {
        assert!(
            faults.iter().any(|f| f["class"] == class),
            "no {class} fault injected\n{}",
            show(&run.output)
        );
    }
    // A duplication that replayed nothing would test nothing.
    let replayed: Vec<&str> = faults
        .iter()
        .filter(|f| f["class"] == "duplicate")
        .filter_map(|f| f["detail"].as_str())
        .collect();
    assert!(
        replayed.iter().any(|d| !d.ends_with(", 0 replayed")),
        "no connection replayed: {replayed:?}"
    );
}

#[test]
fn verify_reports_the_anomalies_of_two_unreplicated_servers_posing_as_one() {
    // Two independent Redis servers given as one cluster's endpoints: a write on one is never
    // seen on the other, so the checker must find stale reads and lost writes (exit 1). This
    // is the proof, end to end, that the harness can fail.
    let (Some((_a, a)), Some((_b, b))) = (start_redis(), start_redis()) else {
        return;
    };
    let report = tempfile::tempdir().unwrap();
    let output = quorum(&[
        "verify",
        "--endpoints",
        &format!("{a},{b}"),
        "--duration",
        "3s",
        "--clients",
        "4",
        "--report",
        report.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let check = read_json(&report.path().join("check.json"));
    assert_eq!(check["valid"], false);
    assert!(!check["anomalies"].as_array().unwrap().is_empty());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("ANOMALIES FOUND") && stdout.contains("op "),
        "{stdout}"
    );
}

/// The queue workload (`--queue`) under kills, pauses and partitions: every acknowledged
/// element popped exactly once or still queued at the end, none from nowhere, heads in order.
/// Blocking pops, moves into processing lists with their LREMs and the final atomic reads must
/// all have been acknowledged, so the checker judged real traffic.
#[test]
fn chaos_with_the_queue_workload_under_kills_pauses_and_partitions_finds_a_valid_history() {
    let run = chaos_with("kill,pause,partition", "1", "3s", &["--queue"]);
    let ops = run.history["ops"].as_array().unwrap();
    let acknowledged = |f: &str, extra: &dyn Fn(&serde_json::Value) -> bool| {
        ops.iter()
            .any(|op| op["call"]["f"] == f && op["outcome"]["o"] == "ok" && extra(op))
    };
    let any = |_: &serde_json::Value| true;
    let element = |op: &serde_json::Value| op["outcome"]["reply"]["value"].is_string();
    let blocking = |op: &serde_json::Value| op["call"]["block_ms"].is_u64() && element(op);
    for (what, found) in [
        ("push", acknowledged("push", &any)),
        (
            "blocking pop with an element",
            acknowledged("pop", &blocking),
        ),
        ("move with an element", acknowledged("move", &element)),
        ("remove", acknowledged("remove", &any)),
        ("final read", acknowledged("range", &any)),
    ] {
        assert!(found, "no acknowledged {what}\n{}", show(&run.output));
    }
    let check = read_json(&run.dir.join("check.json"));
    let queue = &check["queue"];
    assert!(
        queue["pops_acknowledged"].as_u64().unwrap() > 0,
        "{queue:#}"
    );
    for figure in ["lost", "doubled", "phantoms"] {
        assert_eq!(queue[figure], 0, "{queue:#}");
    }
    // The replicas' digests, which cover the queues and processing lists, were compared.
    let summary = std::fs::read_to_string(run.dir.join("summary.md")).unwrap();
    assert!(summary.contains("digests match"), "{summary}");
}
