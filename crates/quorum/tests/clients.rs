//! Real Redis clients against a real cluster: `redis-cli` (a write on one node read on
//! another, with and without READONLY, RESP3 with `-3`, errors, INFO, TTLs) and redis-py
//! through `tests/py/check_cluster.py` (pipelines, `protocol=3`, `set(ex=)`, `incr`,
//! `scan_iter`, `info()`, a connection pool shared by threads). Both tools are installed by
//! `./scripts/test`; a missing one fails the test with that hint rather than skipping it.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{cluster, roles};
use quorum_testkit::{poll_until, Cluster};

fn redis_cli_available() {
    let found = Command::new("redis-cli")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "redis-cli is not installed: run ./scripts/test, which installs redis-tools"
    );
}

/// Runs `redis-cli -p PORT args...` with `stdin` fed in; returns (success, stdout and
/// stderr). Debian's redis-cli 7.0 has no `-t` timeout, so the process itself is bounded.
fn cli_with_stdin(port: u16, flags: &[&str], args: &[&str], stdin: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(flags)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run redis-cli");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = wait_output(child, Duration::from_secs(20), "redis-cli");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `redis-cli -p PORT args...`; panics unless it exits 0. Returns stdout (and stderr).
fn cli(port: u16, args: &[&str]) -> String {
    cli_flags(port, &[], args)
}

fn cli_flags(port: u16, flags: &[&str], args: &[&str]) -> String {
    let (ok, out) = cli_with_stdin(port, flags, args, "");
    assert!(ok, "redis-cli -p {port} {flags:?} {args:?} failed: {out}");
    out
}

/// Waits for `child` with a deadline, killing it if it overruns.
fn wait_output(mut child: std::process::Child, timeout: Duration, what: &str) -> Output {
    let done = poll_until(what, timeout, Duration::from_millis(20), || {
        child
            .try_wait()
            .map_err(|e| e.to_string())
            .map(|s| s.map(|_| ()))
    });
    if let Err(e) = done {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!(
            "{e:#}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    child.wait_with_output().unwrap()
}

fn port(cluster: &Cluster, id: u64) -> u16 {
    cluster.node(id).resp_addr().port()
}

#[test]
fn redis_cli_writes_on_one_node_and_reads_on_another() {
    redis_cli_available();
    let mut cluster = cluster(&[]);
    let (leader, followers) = roles(&mut cluster);
    let ids = cluster.ids();
    for &w in &ids {
        let key = format!("cli-{w}");
        assert_eq!(cli(port(&cluster, w), &["set", &key, "1"]), "OK\n");
        for &r in &ids {
            assert_eq!(
                cli(port(&cluster, r), &["get", &key]),
                "1\n",
                "redis-cli get {key} on node {r} after set on node {w}"
            );
            // READONLY then GET in one session, as typed into redis-cli. The default GET
            // above already waited for this node to apply the write.
            let (ok, out) = cli_with_stdin(
                port(&cluster, r),
                &[],
                &[],
                &format!("READONLY\nGET {key}\n"),
            );
            assert!(ok, "redis-cli READONLY session on node {r}: {out}");
            assert_eq!(out, "OK\n1\n", "READONLY GET {key} on node {r}");
        }
    }
    // INCR through every node counts once per call.
    for (i, &id) in ids.iter().enumerate() {
        assert_eq!(
            cli(port(&cluster, id), &["incr", "cli-ctr"]),
            format!("{}\n", i + 1)
        );
    }
    // A TTL set through a follower is seen on the leader.
    assert_eq!(
        cli(
            port(&cluster, followers[0]),
            &["set", "cli-ex", "v", "ex", "100"]
        ),
        "OK\n"
    );
    let ttl: i64 = cli(port(&cluster, leader), &["ttl", "cli-ex"])
        .trim()
        .parse()
        .unwrap();
    assert!((98..=100).contains(&ttl), "ttl {ttl}");
    // Missing keys and errors in redis-cli's human format.
    assert_eq!(
        cli_flags(port(&cluster, leader), &["--no-raw"], &["get", "nope"]),
        "(nil)\n"
    );
    let (_, out) = cli_with_stdin(port(&cluster, leader), &["--no-raw"], &["foo", "bar"], "");
    assert_eq!(
        out,
        "(error) ERR unknown command 'foo', with args beginning with: 'bar' \n"
    );
    let repl = cli(port(&cluster, leader), &["info", "replication"]);
    assert!(repl.contains("role:master"), "{repl}");
    let repl = cli(port(&cluster, followers[1]), &["info", "replication"]);
    assert!(repl.contains("role:slave"), "{repl}");
    assert_eq!(cli(port(&cluster, followers[1]), &["ping"]), "PONG\n");
}

#[test]
fn redis_cli_resp3_mode() {
    redis_cli_available();
    let cluster = cluster(&[]);
    let p = port(&cluster, 2);
    // -3 makes redis-cli send HELLO 3 first; maps print with `=>`, null as (nil).
    let hello = cli_flags(p, &["-3", "--no-raw"], &["hello", "3"]);
    assert!(
        hello.contains("1# \"server\" => \"redis\"") && hello.contains("\"proto\" => (integer) 3"),
        "redis-cli -3 hello 3:\n{hello}"
    );
    assert_eq!(cli_flags(p, &["-3"], &["set", "r3", "v"]), "OK\n");
    assert_eq!(cli_flags(p, &["-3"], &["get", "r3"]), "v\n");
    assert_eq!(
        cli_flags(p, &["-3", "--no-raw"], &["get", "r3-missing"]),
        "(nil)\n"
    );
    // The same command in RESP2 prints an array, not a map.
    let hello2 = cli_flags(p, &["--no-raw"], &["hello", "2"]);
    assert!(hello2.starts_with(" 1) \"server\""), "hello 2:\n{hello2}");
}

#[test]
fn redis_py_drives_the_cluster() {
    let has_py = Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_py,
        "python3 with redis-py is not available: run ./scripts/test, which installs it"
    );
    let cluster = cluster(&[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/check_cluster.py");
    let child = Command::new("python3")
        .arg(&script)
        .args(
            cluster
                .ids()
                .iter()
                .map(|&id| port(&cluster, id).to_string()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let out = wait_output(child, Duration::from_secs(90), "check_cluster.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all redis-py checks passed"),
        "check_cluster.py failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
