//! Running the `quorum` binary as a user runs it, bounded in time: a hang is killed and its
//! output shown rather than stalling the suite.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::QUORUM;

/// Runs `quorum args...`, waits at most `timeout`, and returns its output and process id.
pub fn quorum_bounded(args: &[&str], timeout: Duration) -> (Output, u32) {
    let child = Command::new(QUORUM)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start quorum");
    let pid = child.id();
    (wait_bounded(child, timeout), pid)
}

/// Waits for `child` at most `timeout`, killing it if it is still running, and collects its
/// output.
pub fn wait_bounded(mut child: Child, timeout: Duration) -> Output {
    let started = Instant::now();
    // Poll instead of blocking so a hang is killed (and its output shown) rather than stalling.
    let rounds_max = timeout.as_millis() / 100 + 1;
    for _ in 0..rounds_max {
        if child.try_wait().expect("wait").is_some() || started.elapsed() >= timeout {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if child.try_wait().expect("wait").is_none() {
        let _ = child.kill();
    }
    child.wait_with_output().expect("collect output")
}

/// The exit status and both output streams, for an assertion message.
pub fn show(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// True when a chaos/verify run exited 1 reporting one of the `expected` anomaly classes.
pub fn reports_any(output: &Output, classes: &[String], expected: &[&str]) -> bool {
    output.status.code() == Some(1) && classes.iter().any(|c| expected.contains(&c.as_str()))
}

/// The anomaly classes listed in a report's check.json.
pub fn read_classes(path: &Path, output: &Output) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), show(output)));
    let check: serde_json::Value = serde_json::from_str(&text).unwrap();
    check["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["class"].as_str().unwrap().to_string())
        .collect()
}
