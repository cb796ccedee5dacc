//! Watching the dev cluster: progress while it forms, a banner once a leader is known,
//! reports of nodes that die or of leader changes while it runs, and a clean stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::bail;
use serde_json::Value;
use tokio::time::Instant;

use super::child::NodeProcess;
use crate::http;

/// How often the supervisor looks at its nodes.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Per-request HTTP timeout while probing; a paused or overloaded node must not stall the loop.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long nodes get to stop after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Forms the cluster, prints how to connect, then watches until Ctrl-C/SIGTERM.
pub async fn supervise(
    nodes: &mut [NodeProcess],
    ready_timeout_ms: u64,
    echo_notable: &AtomicBool,
) -> anyhow::Result<()> {
    let shutdown = crate::shutdown::signal();
    tokio::pin!(shutdown);
    let started = Instant::now();
    let formed = tokio::select! {
        _ = &mut shutdown => return Ok(()),
        formed = form(nodes, Duration::from_millis(ready_timeout_ms)) => formed?,
    };
    print_banner(nodes, formed, started.elapsed());
    echo_notable.store(true, Ordering::Relaxed);
    tokio::select! {
        _ = &mut shutdown => Ok(()),
        result = watch(nodes, formed.0) => result,
    }
}

/// One node's view, as far as the supervisor can tell.
#[derive(Debug, Clone, PartialEq)]
enum View {
    /// The HTTP port does not answer yet.
    Starting,
    /// Serving, but no leader known.
    NoLeader,
    /// Knows a leader at a term.
    Leader(u64, u64),
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            View::Starting => write!(f, "starting"),
            View::NoLeader => write!(f, "serving, waiting for a leader"),
            View::Leader(id, term) => write!(f, "ready, leader is node {id} (term {term})"),
        }
    }
}

async fn probe(node: &NodeProcess) -> View {
    let endpoint = node.layout.http_endpoint();
    let ready =
        matches!(http::get(&endpoint, "/readyz", PROBE_TIMEOUT).await, Ok(r) if r.is_success());
    let status = match http::get(&endpoint, "/admin/status", PROBE_TIMEOUT).await {
        Ok(r) if r.is_success() => serde_json::from_str::<Value>(&r.body).ok(),
        Ok(_) => None,
        Err(_) => return View::Starting,
    };
    match status.as_ref().and_then(|s| s["leader_id"].as_u64()) {
        Some(leader) if ready => {
            View::Leader(leader, status.and_then(|s| s["term"].as_u64()).unwrap_or(0))
        }
        _ => View::NoLeader,
    }
}

/// Polls until every running node knows the same leader; fails if a majority exited or the
/// deadline passes. Returns `(leader, term)`.
async fn form(nodes: &mut [NodeProcess], timeout: Duration) -> anyhow::Result<(u64, u64)> {
    let deadline = Instant::now() + timeout;
    let majority = nodes.len() / 2 + 1;
    let mut views: Vec<Option<View>> = vec![None; nodes.len()];
    let rounds_max = timeout.as_millis() / POLL_INTERVAL.as_millis() + 2;
    for _ in 0..rounds_max {
        report_exits(nodes, "while starting");
        let alive = nodes.iter().filter(|n| n.is_running()).count();
        if alive < majority {
            bail!(
                "only {alive} of {} nodes are running; a cluster needs {majority} to elect a leader \
                 (see the log lines above)",
                nodes.len()
            );
        }
        let mut leaders = Vec::new();
        for (node, last) in nodes.iter().zip(views.iter_mut()) {
            if !node.is_running() {
                continue;
            }
            let view = probe(node).await;
            if last.as_ref() != Some(&view) {
                println!("  node {}: {view}", node.layout.id);
                *last = Some(view.clone());
            }
            leaders.push(view);
        }
        if let Some(View::Leader(leader, term)) = leaders.first().cloned() {
            if leaders
                .iter()
                .all(|v| matches!(v, View::Leader(l, _) if *l == leader))
            {
                return Ok((leader, term));
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    for node in nodes.iter().filter(|n| n.is_running()) {
        eprintln!(
            "--- last lines of {} ---\n{}",
            node.layout.log_path().display(),
            node.log_tail(20)
        );
    }
    bail!("the cluster did not agree on a leader within {timeout:?} (node logs above)")
}

fn print_banner(nodes: &[NodeProcess], (leader, term): (u64, u64), took: Duration) {
    println!(
        "quorum dev: cluster ready in {:.1}s; leader is node {leader} (term {term})",
        took.as_secs_f64()
    );
    for node in nodes {
        let l = &node.layout;
        println!(
            "  node {}: redis-cli -p {}   http://{}/admin/status   log {}",
            l.id,
            l.resp_port,
            l.http_endpoint(),
            l.log_path().display()
        );
    }
    if let Some(first) = nodes.first() {
        println!(
            "Connect with: redis-cli -p {}   (any node accepts any command)",
            first.layout.resp_port
        );
        println!(
            "Cluster status: quorum cluster status --endpoint {}",
            first.layout.http_endpoint()
        );
    }
    println!(
        "Press Ctrl-C to stop every node; run the same command again to resume from the data."
    );
}

/// Runs until every node is gone, reporting exits and leader changes.
async fn watch(nodes: &mut [NodeProcess], mut leader: u64) -> anyhow::Result<()> {
    let majority = nodes.len() / 2 + 1;
    // Runs until a signal (the caller's select) or until no node is left; each round is
    // bounded by the probe timeout.
    loop {
        if report_exits(nodes, "") {
            let alive = nodes.iter().filter(|n| n.is_running()).count();
            if alive == 0 {
                bail!("every node has exited");
            } else if alive >= majority {
                println!(
                    "quorum dev: {alive} of {} nodes running, still a majority: the cluster keeps serving",
                    nodes.len()
                );
            } else {
                println!(
                    "quorum dev: only {alive} of {} nodes running, no majority: writes and \
                     linearizable reads fail until nodes come back (restart `quorum dev` to \
                     bring them back)",
                    nodes.len()
                );
            }
        }
        if let Some(node) = nodes.iter().find(|n| n.is_running()) {
            if let View::Leader(now, term) = probe(node).await {
                if now != leader {
                    println!("quorum dev: leader is now node {now} (term {term})");
                    leader = now;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Prints a line (and the log tail) for each node that exited since the last call.
/// Returns true if any did.
fn report_exits(nodes: &mut [NodeProcess], when: &str) -> bool {
    let mut any = false;
    for node in nodes.iter_mut() {
        if let Some(status) = node.poll_exit() {
            any = true;
            println!(
                "quorum dev: node {} exited {when} ({status}); last lines of {}:\n{}",
                node.layout.id,
                node.layout.log_path().display(),
                node.log_tail(10)
            );
        }
    }
    any
}

/// SIGTERM to every node, wait up to [`STOP_TIMEOUT`], then SIGKILL what is left.
pub async fn stop_all(nodes: &mut [NodeProcess]) {
    let running: Vec<u64> = nodes
        .iter()
        .filter(|n| n.is_running())
        .map(|n| n.layout.id)
        .collect();
    if running.is_empty() {
        return;
    }
    println!("quorum dev: stopping nodes {running:?}");
    for node in nodes.iter_mut() {
        node.terminate();
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    for node in nodes.iter_mut() {
        if !node.is_running() {
            continue;
        }
        if node.wait_or_kill(deadline).await {
            println!("  node {} stopped", node.layout.id);
        } else {
            println!(
                "  node {} did not stop within {STOP_TIMEOUT:?}; killed",
                node.layout.id
            );
        }
    }
}
