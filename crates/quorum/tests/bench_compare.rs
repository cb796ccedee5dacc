//! `bench/compare --smoke`: the comparison harness installs what it needs, starts every system
//! (quorum, Redis in three setups, etcd, NATS JetStream), drives each with `quorum bench`, stops
//! it, and writes a report with a row per system. It runs here so the harness cannot rot; no
//! speed is asserted (the figures live in BENCHMARKS.md).

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const QUORUM: &str = env!("CARGO_BIN_EXE_quorum");

/// Past this the runner is stopped with SIGTERM (it then stops every process it started).
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// One row (or the reason it is missing) per system of the matrix.
const ROWS: &[&str] = &[
    "| quorum SET (leader) |",
    "| quorum GET (leader, linearizable) |",
    "| quorum GET (follower, READONLY) |",
    "| Redis 1 node, AOF always SET |",
    "| Redis 1 node, AOF always GET |",
    "| Redis 1 node, AOF everysec SET |",
    "| Redis primary + 2 replicas, AOF always SET |",
    "| etcd put |",
    "| etcd range (linearizable) |",
    "| etcd range (serializable) |",
    "| NATS JetStream R3, default sync publish |",
    "| NATS JetStream R3, sync_interval always",
];

#[test]
fn compare_smoke_reports_every_system() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("BENCHMARKS.md");
    let log_path = dir.path().join("compare.log");
    let log = File::create(&log_path).expect("log file");
    let mut child = Command::new(root.join("bench/compare"))
        .arg("--smoke")
        .arg("--quorum-bin")
        .arg(QUORUM)
        .arg("--out")
        .arg(&out)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("start bench/compare (needs python3)");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bench/compare") {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let status = status.unwrap_or_else(|| {
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = child.kill();
        let _ = child.wait();
        let output = std::fs::read_to_string(&log_path).unwrap_or_default();
        panic!("bench/compare --smoke ran past {RUN_LIMIT:?}:\n{output}");
    });
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        status.success(),
        "bench/compare --smoke failed ({status}):\n{output}"
    );
    let report = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("no report at {} ({e}):\n{output}", out.display()));
    for row in ROWS {
        assert!(
            report.contains(row),
            "report lacks a row `{row}`:\n{report}\n\nrunner output:\n{output}"
        );
    }
    assert!(
        !report.contains("| failed"),
        "a cell failed:\n{report}\n\nrunner output:\n{output}"
    );
    let json = std::fs::read_dir(dir.path())
        .expect("read temp dir")
        .filter_map(Result::ok)
        .any(|e| e.path().extension().is_some_and(|x| x == "json"));
    assert!(json, "no raw JSON beside the report:\n{output}");
}
