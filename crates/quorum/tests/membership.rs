//! Online membership changes under a write load, with real `quorum node` processes
//! (`membership_changes_under_load`): while clients write through every founding node, a fourth
//! node is added through the admin API (learner, caught up, then promoted to voter) and serves
//! every acknowledged key with `READONLY`; then a founding follower and then the leader are
//! removed. Clients on the remaining nodes see at most transient errors, every acknowledged
//! write is on the remaining nodes, INCRs are counted at most once and never lost, and
//! `INFO raft_voters` follows each change.
//!
//! Every wait is bounded by a deadline; measured figures go to stderr (`--nocapture` shows them).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use quorum_testkit::{poll_until, Cluster};

const QUORUM: &str = env!("CARGO_BIN_EXE_quorum");
/// How long the load runs in each phase of a test (before a fault, after it...).
const RUN_PHASE: Duration = Duration::from_millis(1500);
/// Client read timeout: above the server's default request timeout (5 s), so a request the
/// server gives up on comes back as an error reply rather than a client-side timeout.
const CLIENT_READ_TIMEOUT: Duration = Duration::from_secs(8);
/// Errors are "transient" if they happen within this long after a membership change began.
const TRANSIENT_WINDOW: Duration = Duration::from_secs(6);
/// Longest tolerated stall of the writers on the remaining nodes across all changes: removing
/// the leader costs an election (250-500 ms with the test timings), like a failover.
const GAP_MAX: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------------
// Write load: threads doing `SET key-<thread>-<i> <i>` and `INCR counter`, recording outcomes.
// Unlike the failover tests, the logs are shared (`Arc<Mutex<_>>`) so the test can check the
// writes acknowledged so far while the load keeps running.
// ---------------------------------------------------------------------------------------------

/// What one writer thread saw. A call is *acknowledged* when it got `OK` / an integer, and
/// *unknown* when it got an error reply or lost its connection (it may or may not have applied).
#[derive(Debug, Default, Clone)]
struct WriterLog {
    thread: usize,
    node: u64,
    /// `i` of every acknowledged `SET key-<thread>-<i> <i>`.
    acked_sets: Vec<u64>,
    /// INCRs whose request was (possibly) sent: acknowledged plus unknown.
    incr_sent: u64,
    /// Replies of acknowledged INCRs.
    incr_replies: Vec<i64>,
    /// When each acknowledged call (SET or INCR) returned.
    ack_times: Vec<Instant>,
    /// When each failed call returned, and why.
    errors: Vec<(Instant, String)>,
}

struct Writer {
    node: u64,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<WriterLog>>,
    handle: JoinHandle<()>,
}

/// A running write load.
struct Load {
    acks: Arc<AtomicU64>,
    writers: Vec<Writer>,
    /// Logs of writers already stopped.
    done: Vec<WriterLog>,
    next_thread: usize,
}

impl Load {
    fn new() -> Load {
        Load {
            acks: Arc::new(AtomicU64::new(0)),
            writers: Vec::new(),
            done: Vec::new(),
            next_thread: 0,
        }
    }

    /// Starts one writer against `node` at `addr`.
    fn spawn(&mut self, node: u64, addr: SocketAddr) {
        let thread = self.next_thread;
        self.next_thread += 1;
        let acks = self.acks.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(WriterLog {
            thread,
            node,
            ..WriterLog::default()
        }));
        let (s, l) = (stop.clone(), log.clone());
        let handle = std::thread::spawn(move || writer(addr, &s, &l, &acks));
        self.writers.push(Writer {
            node,
            stop,
            log,
            handle,
        });
    }

    fn acks(&self) -> u64 {
        self.acks.load(Ordering::Relaxed)
    }

    /// Lets the load run for at least `at_least` and until `more` further calls are
    /// acknowledged (fails after `timeout`).
    fn wait_acks(&self, more: u64, at_least: Duration, timeout: Duration) -> anyhow::Result<()> {
        let target = self.acks() + more;
        let since = Instant::now();
        poll_until(
            &format!("{more} more acknowledged writes"),
            timeout,
            Duration::from_millis(20),
            || {
                let now = self.acks();
                if now >= target && since.elapsed() >= at_least {
                    Ok(Some(()))
                } else {
                    Err(format!("{now} of {target}"))
                }
            },
        )
    }

    /// Stops the writers on `node` (as an operator drains clients before removing a node).
    fn retire(&mut self, node: u64) {
        let (gone, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.writers)
            .into_iter()
            .partition(|w| w.node == node);
        self.writers = keep;
        for w in &gone {
            w.stop.store(true, Ordering::Relaxed);
        }
        for w in gone {
            w.handle.join().expect("writer thread panicked");
            self.done.push(w.log.lock().expect("log").clone());
        }
    }

    /// A copy of every log so far (running writers included).
    fn snapshot(&self) -> Vec<WriterLog> {
        let mut logs = self.done.clone();
        logs.extend(
            self.writers
                .iter()
                .map(|w| w.log.lock().expect("log").clone()),
        );
        logs
    }

    fn finish(mut self) -> Vec<WriterLog> {
        let nodes: BTreeSet<u64> = self.writers.iter().map(|w| w.node).collect();
        for node in nodes {
            self.retire(node);
        }
        self.done
    }
}

fn connect(addr: SocketAddr) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://{addr}/"))?;
    let conn = client.get_connection_with_timeout(Duration::from_secs(1))?;
    conn.set_read_timeout(Some(CLIENT_READ_TIMEOUT))?;
    conn.set_write_timeout(Some(CLIENT_READ_TIMEOUT))?;
    Ok(conn)
}

fn writer(addr: SocketAddr, stop: &AtomicBool, log: &Mutex<WriterLog>, acks: &AtomicU64) {
    let thread = log.lock().expect("log").thread;
    let mut conn: Option<redis::Connection> = None;
    let mut i = 0u64;
    // Bounded by the stop flag; also by a hard cap so a forgotten flag cannot spin forever.
    let hard_deadline = Instant::now() + Duration::from_secs(120);
    let error = |what: String| log.lock().expect("log").errors.push((Instant::now(), what));
    while !stop.load(Ordering::Relaxed) && Instant::now() < hard_deadline {
        let Some(c) = conn.as_mut() else {
            // A refused connection sends nothing: not a call, just try again shortly.
            match connect(addr) {
                Ok(c) => conn = Some(c),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            continue;
        };
        let set: redis::RedisResult<redis::Value> = redis::cmd("SET")
            .arg(format!("key-{thread}-{i}"))
            .arg(i)
            .query(c);
        let mut broken = false;
        match set {
            Ok(redis::Value::Okay) => {
                let mut l = log.lock().expect("log");
                l.acked_sets.push(i);
                l.ack_times.push(Instant::now());
                acks.fetch_add(1, Ordering::Relaxed);
            }
            Ok(other) => error(format!("SET got {other:?}")),
            Err(e) => {
                broken = e.code().is_none();
                error(format!("SET: {e}"));
            }
        }
        i += 1;
        if broken {
            conn = None;
            continue;
        }
        log.lock().expect("log").incr_sent += 1;
        let incr: redis::RedisResult<redis::Value> = redis::cmd("INCR").arg("counter").query(c);
        match incr {
            Ok(redis::Value::Int(n)) => {
                let mut l = log.lock().expect("log");
                l.incr_replies.push(n);
                l.ack_times.push(Instant::now());
                acks.fetch_add(1, Ordering::Relaxed);
            }
            Ok(other) => error(format!("INCR got {other:?}")),
            Err(e) => {
                if e.code().is_none() {
                    conn = None;
                }
                error(format!("INCR: {e}"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checks.
// ---------------------------------------------------------------------------------------------

fn status_u64(status: &serde_json::Value, field: &str) -> u64 {
    status[field].as_u64().unwrap_or(0)
}

/// The leader's commit index, as seen by whichever node in `ids` leads now.
fn leader_commit(cluster: &Cluster, ids: &[u64]) -> anyhow::Result<u64> {
    poll_until(
        "a leader's commit index",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            for &id in ids {
                if let Ok(s) = cluster.node(id).status() {
                    if s["role"].as_str() == Some("leader") {
                        return Ok(Some(status_u64(&s, "commit_index")));
                    }
                }
            }
            Err(format!("no leader among {ids:?}"))
        },
    )
}

/// Waits until node `id` has applied at least `index`.
fn wait_applied(cluster: &Cluster, id: u64, index: u64, timeout: Duration) -> anyhow::Result<()> {
    poll_until(
        &format!("node {id} to apply index {index}"),
        timeout,
        Duration::from_millis(20),
        || {
            let s = cluster.node(id).status().map_err(|e| format!("{e:#}"))?;
            let applied = status_u64(&s, "applied_index");
            if applied >= index {
                Ok(Some(()))
            } else {
                Err(format!("applied {applied}"))
            }
        },
    )
}

/// Waits until every node in `ids` answers and all have applied the same index, which is also
/// the leader's commit index and last log index (no write in flight). Returns that index.
fn wait_converged(cluster: &Cluster, ids: &[u64], timeout: Duration) -> anyhow::Result<u64> {
    poll_until(
        &format!("nodes {ids:?} to apply the same committed index"),
        timeout,
        Duration::from_millis(50),
        || {
            let mut applied = BTreeMap::new();
            let mut leader_commit = None;
            for &id in ids {
                let s = cluster
                    .node(id)
                    .status()
                    .map_err(|e| format!("node {id}: {e:#}"))?;
                applied.insert(id, status_u64(&s, "applied_index"));
                if s["role"].as_str() == Some("leader") {
                    let commit = status_u64(&s, "commit_index");
                    if commit != status_u64(&s, "last_log_index") {
                        return Err(format!("leader {id} has uncommitted entries"));
                    }
                    leader_commit = Some(commit);
                }
            }
            let Some(commit) = leader_commit else {
                return Err(format!("no leader among {ids:?}; applied {applied:?}"));
            };
            if applied.values().all(|&a| a == commit) {
                Ok(Some(commit))
            } else {
                Err(format!("leader commit {commit}, applied {applied:?}"))
            }
        },
    )
}

/// Asserts that node `id`, read with `READONLY` (its own state), holds every SET acknowledged
/// in `logs`; with `check_counter`, also that `counter` lies between the acknowledged and the
/// sent INCRs. Returns the counter.
fn assert_node_has_acked(
    cluster: &Cluster,
    id: u64,
    logs: &[WriterLog],
    check_counter: bool,
) -> i64 {
    let mut conn = cluster
        .client(id)
        .unwrap_or_else(|e| panic!("connect to node {id}: {e:#}"));
    let _: () = redis::cmd("READONLY").query(&mut conn).expect("READONLY");
    let mut problems = Vec::new();
    let mut missing = 0usize;
    for log in logs {
        for chunk in log.acked_sets.chunks(500) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|i| format!("key-{}-{i}", log.thread))
                .collect();
            let values: Vec<Option<String>> = redis::cmd("MGET")
                .arg(&keys)
                .query(&mut conn)
                .unwrap_or_else(|e| panic!("MGET on node {id}: {e}"));
            for (i, v) in chunk.iter().zip(values) {
                if v.as_deref() != Some(i.to_string().as_str()) {
                    missing += 1;
                    if problems.len() < 10 {
                        problems.push(format!("key-{}-{i} = {v:?}", log.thread));
                    }
                }
            }
        }
    }
    assert!(
        missing == 0,
        "node {id} lacks {missing} acknowledged SETs, e.g.:\n{}",
        problems.join("\n")
    );
    let counter: Option<i64> = redis::cmd("GET")
        .arg("counter")
        .query(&mut conn)
        .expect("GET counter");
    let counter = counter.unwrap_or(0);
    let acked: u64 = logs.iter().map(|l| l.incr_replies.len() as u64).sum();
    let sent: u64 = logs.iter().map(|l| l.incr_sent).sum();
    if check_counter {
        assert!(
            counter >= 0 && (acked..=sent).contains(&(counter as u64)),
            "node {id}: counter = {counter}, but {acked} INCRs were acknowledged and {sent} sent"
        );
    } else {
        assert!(
            counter >= 0 && counter as u64 >= acked,
            "node {id}: counter = {counter} < {acked} acknowledged INCRs"
        );
    }
    counter
}

/// `INFO raft` of node `id` as a map.
fn info_raft(cluster: &Cluster, id: u64) -> anyhow::Result<BTreeMap<String, String>> {
    let mut conn = cluster.client(id)?;
    let info: String = redis::cmd("INFO").arg("raft").query(&mut conn)?;
    Ok(info
        .lines()
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// Waits until every node in `ids` reports exactly `voters` in `INFO raft` `raft_voters`.
fn wait_voters(cluster: &Cluster, ids: &[u64], voters: &[u64], timeout: Duration) {
    let want: BTreeSet<u64> = voters.iter().copied().collect();
    poll_until(
        &format!("nodes {ids:?} to report raft_voters {want:?}"),
        timeout,
        Duration::from_millis(50),
        || {
            for &id in ids {
                let info = info_raft(cluster, id).map_err(|e| format!("node {id}: {e:#}"))?;
                let got: BTreeSet<u64> = info
                    .get("raft_voters")
                    .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
                    .unwrap_or_default();
                if got != want {
                    return Err(format!("node {id}: raft_voters {got:?}"));
                }
            }
            Ok(Some(()))
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
}

/// The longest time between two consecutive acknowledged calls among `logs` within
/// `[from, to]` (both ends count as boundaries).
fn longest_gap(logs: &[&WriterLog], from: Instant, to: Instant) -> Duration {
    let mut times: Vec<Instant> = logs
        .iter()
        .flat_map(|l| l.ack_times.iter().copied())
        .filter(|t| *t >= from && *t <= to)
        .collect();
    times.push(from);
    times.push(to);
    times.sort();
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default()
}

fn summarize(logs: &[WriterLog]) {
    for log in logs {
        eprintln!(
            "  thread {} on node {}: {} SETs acked, {} INCRs acked of {} sent, {} errors{}",
            log.thread,
            log.node,
            log.acked_sets.len(),
            log.incr_replies.len(),
            log.incr_sent,
            log.errors.len(),
            log.errors
                .first()
                .map_or(String::new(), |(_, e)| format!(" (first: {e})"))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Test.
// ---------------------------------------------------------------------------------------------

#[test]
fn membership_changes_under_load() {
    let started = Instant::now();
    let mut cluster = Cluster::builder(Path::new(QUORUM))
        .nodes(3)
        .fast_raft(true)
        .start()
        .expect("cluster starts");
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("leader");
    let founders = cluster.ids();
    let follower = *founders.iter().find(|&&i| i != leader).expect("follower");
    let stays = *founders
        .iter()
        .find(|&&i| i != leader && i != follower)
        .expect("third node");

    let mut load = Load::new();
    for _ in 0..2 {
        for &id in &founders {
            load.spawn(id, cluster.node(id).resp_addr());
        }
    }
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going");
    let mut changes: Vec<Instant> = Vec::new();

    // Add a fourth node: learner, caught up, promoted to voter (add_node returns then).
    changes.push(Instant::now());
    let added = cluster.add_node().expect("add a fourth node");
    let add_took = changes[0].elapsed();
    let mut voters = founders.clone();
    voters.push(added);
    wait_voters(&cluster, &[leader, added], &voters, Duration::from_secs(10));
    // It serves every write acknowledged so far from its own state.
    let acked_so_far = load.snapshot();
    let commit = leader_commit(&cluster, &founders).expect("commit index");
    wait_applied(&cluster, added, commit, Duration::from_secs(15)).expect("new node catches up");
    assert_node_has_acked(&cluster, added, &acked_so_far, false);
    eprintln!(
        "membership_changes_under_load: node {added} added (learner -> voter) in {add_took:?} \
         under load; serves all {} SETs acknowledged before (READONLY)",
        acked_so_far
            .iter()
            .map(|l| l.acked_sets.len())
            .sum::<usize>()
    );
    for _ in 0..2 {
        load.spawn(added, cluster.node(added).resp_addr());
    }
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue with four voters");

    // Remove a founding follower; its clients go first.
    load.retire(follower);
    changes.push(Instant::now());
    cluster.remove_node(follower).expect("remove a follower");
    let remove_follower_took = changes[1].elapsed();
    let mut remaining: Vec<u64> = vec![leader, stays, added];
    remaining.sort();
    wait_voters(&cluster, &remaining, &remaining, Duration::from_secs(10));
    cluster
        .node_mut(follower)
        .stop()
        .expect("stop the removed follower");
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue after removing a follower");

    // Remove the leader itself: it commits the change, steps down, the others elect.
    load.retire(leader);
    changes.push(Instant::now());
    cluster.remove_node(leader).expect("remove the leader");
    let remove_leader_took = changes[2].elapsed();
    let mut remaining: Vec<u64> = vec![stays, added];
    remaining.sort();
    let new_leader = poll_until(
        "a new leader among the remaining nodes",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            for &id in &remaining {
                let s = cluster.node(id).status().map_err(|e| format!("{e:#}"))?;
                if s["role"].as_str() == Some("leader") {
                    return Ok(Some(id));
                }
            }
            Err("no leader yet".to_string())
        },
    )
    .expect("new leader");
    let new_leader_after = changes[2].elapsed();
    wait_voters(&cluster, &remaining, &remaining, Duration::from_secs(10));
    cluster
        .node_mut(leader)
        .stop()
        .expect("stop the removed leader");
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue after removing the leader");
    let ended = Instant::now();
    let logs = load.finish();

    eprintln!(
        "  node {follower} (follower) removed in {remove_follower_took:?}; node {leader} \
         (leader) removed in {remove_leader_took:?}, node {new_leader} led \
         {new_leader_after:?} after the request"
    );
    summarize(&logs);
    // Writers on nodes that stay: errors only right after a change, and they recover.
    let staying: Vec<&WriterLog> = logs
        .iter()
        .filter(|l| remaining.contains(&l.node))
        .collect();
    for log in &staying {
        for (at, what) in &log.errors {
            assert!(
                changes
                    .iter()
                    .any(|c| *at >= *c && *at <= *c + TRANSIENT_WINDOW),
                "thread {} on node {} got an error away from any membership change: {what}",
                log.thread,
                log.node
            );
        }
        if let Some((last_err, what)) = log.errors.last() {
            assert!(
                log.ack_times.last().is_some_and(|t| t > last_err),
                "thread {} on node {} never recovered after: {what}",
                log.thread,
                log.node
            );
        }
    }
    let gap = longest_gap(&staying, changes[0], ended);
    eprintln!("  longest gap between acknowledged writes on the remaining nodes: {gap:?}");
    assert!(
        gap <= GAP_MAX,
        "writes stalled for {gap:?} (bound {GAP_MAX:?})"
    );

    let index = wait_converged(&cluster, &remaining, Duration::from_secs(15)).expect("converge");
    let mut counters = BTreeSet::new();
    for &id in &remaining {
        counters.insert(assert_node_has_acked(&cluster, id, &logs, true));
    }
    assert_eq!(counters.len(), 1, "nodes disagree on counter: {counters:?}");
    let info = info_raft(&cluster, new_leader).expect("INFO raft");
    eprintln!(
        "  remaining nodes {remaining:?} at index {index} hold every acknowledged write, \
         counter {counters:?}; raft_voters {:?}; test took {:?}",
        info.get("raft_voters"),
        started.elapsed()
    );
}
