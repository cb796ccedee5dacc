//! `quorum bench` against a real three-node cluster: every workload, closed and open loop,
//! through the real binary with `--json`. Checks that the report parses with the documented
//! fields, that operations were acknowledged without errors, and that INCR on one key
//! acknowledged exactly as many increments as the counter holds afterwards. No speed is
//! asserted: the machine is shared.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{cluster, QUORUM};
use quorum_testkit::Cluster;

/// Longest one bench run may take (2 s of load, population, connection and drain), so a hang
/// fails the test instead of stalling the suite.
const BENCH_RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The report of one run, and its human summary (stderr) for failure messages.
struct BenchRun {
    report: serde_json::Value,
    stderr: String,
}

/// Runs `quorum bench --json --endpoints <all nodes> <args>` and parses its report.
fn bench(cluster: &Cluster, args: &[&str]) -> BenchRun {
    let endpoints = cluster
        .nodes()
        .iter()
        .map(|node| node.resp_addr().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut child = Command::new(QUORUM)
        .args(["bench", "--json", "--endpoints", &endpoints])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start quorum bench");
    let mut stdout_pipe = child.stdout.take().expect("stdout piped");
    let mut stderr_pipe = child.stderr.take().expect("stderr piped");
    let stdout_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout_pipe.read_to_string(&mut text);
        text
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll quorum bench") {
            break status;
        }
        if started.elapsed() > BENCH_RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("quorum bench {args:?} did not finish in {BENCH_RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout_reader.join().expect("stdout reader");
    let stderr = stderr_reader.join().expect("stderr reader");
    assert!(
        status.success(),
        "quorum bench {args:?} exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("quorum bench {args:?}: stdout is not JSON ({e}):\n{stdout}"));
    BenchRun { report, stderr }
}

impl BenchRun {
    fn ok(&self) -> u64 {
        self.report["ok"].as_u64().expect("ok is a count")
    }

    /// The run acknowledged operations and saw no error of any kind.
    fn assert_clean(&self, workload: &str) {
        let report = &self.report;
        assert_eq!(report["tool"], "quorum-bench");
        assert_eq!(report["workload"], workload);
        assert_eq!(report["protocol"], "resp");
        assert!(
            self.ok() > 0,
            "{workload}: nothing acknowledged\n{}",
            self.stderr
        );
        assert_eq!(
            report["errors"],
            serde_json::json!({}),
            "{workload}: errors\n{}",
            self.stderr
        );
        let latency = &report["latency_us"];
        for field in ["p50", "p90", "p99", "p999", "max"] {
            assert!(
                latency[field].as_u64().is_some(),
                "latency_us.{field}: {latency}"
            );
        }
        assert!(latency["p50"].as_u64() <= latency["max"].as_u64());
        assert!(latency["mean"].as_f64().is_some());
        for field in ["duration_s", "throughput", "max_gap_ms"] {
            assert!(report[field].as_f64().is_some(), "{field}: {report}");
        }
    }
}

/// Every workload, closed and open loop, against one cluster.
#[test]
fn bench_reports_clean_runs_of_every_workload() {
    let cluster = cluster(&[]);

    // Closed loop with pipelining, writes through all three nodes.
    let set = bench(
        &cluster,
        &[
            "--workload",
            "set",
            "--clients",
            "6",
            "--pipeline",
            "4",
            "--duration",
            "2",
        ],
    );
    set.assert_clean("set");
    assert_eq!(set.report["rate"], serde_json::Value::Null);
    assert_eq!(set.report["read_ratio"], serde_json::Value::Null);

    // GETs after population: every read hits (the summary would list nil replies otherwise).
    let get = bench(
        &cluster,
        &[
            "--workload",
            "get",
            "--keys",
            "200",
            "--clients",
            "4",
            "--duration",
            "2",
        ],
    );
    get.assert_clean("get");
    assert!(
        !get.stderr.contains("nil replies"),
        "populated keys were missed:\n{}",
        get.stderr
    );

    // Mixed, open loop: latency from the intended send time.
    let mixed = bench(
        &cluster,
        &[
            "--workload",
            "mixed",
            "--read-ratio",
            "0.5",
            "--keys",
            "100",
            "--clients",
            "4",
            "--rate",
            "400",
            "--duration",
            "2",
        ],
    );
    mixed.assert_clean("mixed");
    assert_eq!(mixed.report["rate"], 400.0);
    assert_eq!(mixed.report["read_ratio"], 0.5);

    // SET, open loop with a window of 2 per client.
    let open_set = bench(
        &cluster,
        &[
            "--workload",
            "set",
            "--clients",
            "3",
            "--pipeline",
            "2",
            "--rate",
            "300",
            "--duration",
            "2",
        ],
    );
    open_set.assert_clean("set");

    // INCR on one key: the counter holds exactly the acknowledged increments (no warmup, no
    // errors, so every INCR sent was acknowledged and counted once). The earlier runs wrote a
    // string to that key: start from nothing.
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    let mut client = cluster.client(leader).expect("connect to the leader");
    let _: i64 = redis::cmd("DEL")
        .arg("key:000000")
        .query(&mut client)
        .expect("DEL the counter");
    let incr = bench(
        &cluster,
        &[
            "--workload",
            "incr",
            "--keys",
            "1",
            "--clients",
            "4",
            "--pipeline",
            "2",
            "--duration",
            "2",
        ],
    );
    incr.assert_clean("incr");
    let counter: u64 = redis::cmd("GET")
        .arg("key:000000")
        .query(&mut client)
        .expect("GET the counter");
    assert_eq!(
        counter,
        incr.ok(),
        "counter vs acknowledged INCRs\n{}",
        incr.stderr
    );

    // A request budget instead of a duration: exactly that many operations.
    let budget = bench(
        &cluster,
        &[
            "--workload",
            "set",
            "--clients",
            "3",
            "--pipeline",
            "3",
            "--requests",
            "500",
        ],
    );
    budget.assert_clean("set");
    assert_eq!(budget.ok(), 500);
}
