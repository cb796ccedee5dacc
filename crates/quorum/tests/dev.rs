//! `quorum dev` end to end: it forms a cluster of child processes on free ports, prints how to
//! connect, reports a dead node and keeps serving, stops every child on SIGTERM, and a second
//! run resumes from the data.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use quorum_testkit::poll_until;

const QUORUM: &str = env!("CARGO_BIN_EXE_quorum");
const NODES: u16 = 3;

/// A running `quorum dev`, its stdout lines, and cleanup that kills it and its children.
struct Dev {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    data_dir: String,
}

impl Dev {
    fn start(base_port: u16, data_dir: &Path) -> Dev {
        let mut child = Command::new(QUORUM)
            .args([
                "dev",
                "--nodes",
                &NODES.to_string(),
                "--base-port",
                &base_port.to_string(),
            ])
            .arg("--data-dir")
            .arg(data_dir)
            // The default log filter, as a user who sets neither gets.
            .env_remove("RUST_LOG")
            .env_remove("QUORUM_LOG_LEVEL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start quorum dev");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Dev {
            child,
            lines,
            seen: Vec::new(),
            data_dir: data_dir.display().to_string(),
        }
    }

    /// Waits for a stdout line containing `needle`; returns it.
    fn expect_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        // One received line per round; bounded by the deadline.
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with `{needle}` within {timeout:?}; output so far:\n{}",
            self.seen.join("\n")
        );
    }

    /// SIGTERM and wait for a clean exit.
    fn terminate(&mut self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let child = &mut self.child;
        let status = poll_until(
            "quorum dev to exit",
            Duration::from_secs(30),
            Duration::from_millis(50),
            || child.try_wait().map_err(|e| e.to_string()),
        )
        .expect("quorum dev exits after SIGTERM");
        assert!(status.success(), "quorum dev exited with {status}");
        self.expect_line("quorum dev: stopping nodes", Duration::from_secs(5));
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in node_pids(&self.data_dir) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Pids of processes whose command line mentions `needle` (the dev data directory).
fn node_pids(needle: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains(" node ") && cmdline.contains(needle)
        })
        .collect()
}

/// A base port such that all `3 * NODES` ports dev will use are free right now.
fn free_base_port() -> u16 {
    for attempt in 0..50u32 {
        let seed = std::process::id()
            .wrapping_mul(7919)
            .wrapping_add(attempt * 104_729);
        let base = 20_000 + (seed % 30_000) as u16;
        let ports = (0..NODES).flat_map(|i| [base + i, base + 100 + i, base + 200 + i]);
        let listeners: Vec<_> = ports
            .map(|p| std::net::TcpListener::bind(("127.0.0.1", p)))
            .collect();
        if listeners.iter().all(Result::is_ok) {
            return base;
        }
    }
    panic!("no free base port found in 50 attempts");
}

fn redis_conn(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let conn = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn
}

#[test]
fn dev_forms_serves_survives_a_dead_node_stops_cleanly_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("dev");
    let base = free_base_port();

    let mut dev = Dev::start(base, &data_dir);
    dev.expect_line("starting 3 node(s)", Duration::from_secs(10));
    dev.expect_line(
        &format!("Connect with: redis-cli -p {base}"),
        Duration::from_secs(60),
    );
    assert_eq!(node_pids(&dev.data_dir).len(), 3, "three node processes");

    let mut conn = redis_conn(base);
    let _: () = redis::cmd("SET")
        .arg("survives")
        .arg("restart")
        .query(&mut conn)
        .unwrap();
    for (i, log) in (1..=3).map(|i| (i, data_dir.join(format!("node-{i}/node.log")))) {
        assert!(log.exists(), "node {i} writes {}", log.display());
    }

    // One node dies: dev says so and the other two keep serving.
    let victim = node_pids(&format!("{}/node-3", dev.data_dir));
    assert_eq!(victim.len(), 1, "node 3 pid");
    kill(Pid::from_raw(victim[0]), Signal::SIGKILL).unwrap();
    dev.expect_line("node 3 exited", Duration::from_secs(10));
    dev.expect_line("still a majority", Duration::from_secs(5));
    // If node 3 led, the survivors elect a new leader first: retry transient errors briefly.
    let mut conn = redis_conn(base + 1);
    poll_until(
        "a write with one node down",
        Duration::from_secs(15),
        Duration::from_millis(100),
        || {
            redis::cmd("SET")
                .arg("while-degraded")
                .arg("yes")
                .query::<()>(&mut conn)
                .map(Some)
                .map_err(|e| e.to_string())
        },
    )
    .unwrap();
    // Let the leader retry node 3 for a while (every 500 ms): the logs must not grow with it.
    std::thread::sleep(Duration::from_secs(3));

    dev.terminate();
    poll_until(
        "node processes to be gone",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            let pids = node_pids(&dev.data_dir);
            if pids.is_empty() {
                Ok(Some(()))
            } else {
                Err(format!("still running: {pids:?}"))
            }
        },
    )
    .expect("no stray node processes after quorum dev stops");
    drop(dev);

    // The default logs show who leads, and not a line per heartbeat (openraft logs every
    // heartbeat trigger at info; 10 lines a second on the leader before the default filter).
    let logs: Vec<String> = (1..=3)
        .map(|i| std::fs::read_to_string(data_dir.join(format!("node-{i}/node.log"))).unwrap())
        .collect();
    let all = logs.concat();
    assert!(
        all.contains("raft role") && all.contains("state=Leader"),
        "no node logged that it leads:\n{all}"
    );
    let per_call = all.matches("handle_api_msg").count();
    assert_eq!(
        per_call, 0,
        "openraft's per-call lines in the default logs:\n{all}"
    );
    // Node 3 down: one line when it stopped answering (plus any from the start, before every
    // node listened), not four per retry.
    let retries = all.matches("openraft::replication").count();
    assert_eq!(
        retries, 0,
        "openraft's per-retry lines in the default logs:\n{all}"
    );
    let unreachable = all
        .lines()
        .filter(|l| l.contains("peer unreachable") && l.contains("peer=3"))
        .count();
    assert!(
        (1..=3).contains(&unreachable),
        "{unreachable} lines say node 3 is unreachable:\n{all}"
    );

    // Second run: same directory, same ports, same data.
    let mut dev = Dev::start(base, &data_dir);
    dev.expect_line("resuming 3 node(s)", Duration::from_secs(10));
    dev.expect_line(
        &format!("Connect with: redis-cli -p {base}"),
        Duration::from_secs(60),
    );
    let mut conn = redis_conn(base + 2);
    let value: String = redis::cmd("GET").arg("survives").query(&mut conn).unwrap();
    assert_eq!(value, "restart");
    let value: String = redis::cmd("GET")
        .arg("while-degraded")
        .query(&mut conn)
        .unwrap();
    assert_eq!(value, "yes");
    dev.terminate();
}
