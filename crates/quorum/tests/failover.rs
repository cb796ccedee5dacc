//! Failover under a concurrent write load, with real `quorum node` processes:
//!
//! * `kill9_leader_under_load`: `kill -9` of the leader while six clients (two per node) write,
//!   with the default Raft timings (the failover bound is stated for them).
//!   A new leader accepts writes within 2 s (the longest gap between acknowledged writes on the
//!   surviving nodes is measured and printed), clients on surviving nodes see at most transient
//!   errors, every acknowledged SET is on every surviving node, `counter` lies between the
//!   acknowledged and the sent INCRs (each INCR applied at most once, none acknowledged lost),
//!   and the killed node restarts from its data directory and catches up.
//! * `sigstop_leader_under_load`: the leader is frozen (SIGSTOP) for 3 s under load, as in a long
//!   GC pause or VM stall, then resumed: a new leader takes over, the old one steps down and
//!   catches up, and no acknowledged write is lost.
//!
//! Every wait is bounded by a deadline; measured figures go to stderr (`--nocapture` shows them).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use quorum_testkit::{poll_until, Cluster};

const QUORUM: &str = env!("CARGO_BIN_EXE_quorum");
/// The bound for "a new leader accepts writes".
const FAILOVER_GAP_MAX: Duration = Duration::from_secs(2);
/// How long the load runs in each phase of a test (before a fault, after it...).
const RUN_PHASE: Duration = Duration::from_millis(1500);
/// Client read timeout: above the server's default request timeout (5 s), so a request the
/// server gives up on comes back as an error reply rather than a client-side timeout.
const CLIENT_READ_TIMEOUT: Duration = Duration::from_secs(8);
/// Errors on a surviving node are "transient" if they happen within this long after the fault.
const TRANSIENT_WINDOW: Duration = Duration::from_secs(6);

// ---------------------------------------------------------------------------------------------
// Write load: threads doing `SET key-<thread>-<i> <i>` and `INCR counter`, recording outcomes.
// ---------------------------------------------------------------------------------------------

/// What one writer thread saw. A call is *acknowledged* when it got `OK` / an integer, and
/// *unknown* when it got an error reply or lost its connection (it may or may not have applied).
#[derive(Debug, Default)]
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

/// A running write load; [`Load::finish`] stops it and returns every thread's log.
struct Load {
    stop: Arc<AtomicBool>,
    acks: Arc<AtomicU64>,
    threads: Vec<(u64, Arc<AtomicBool>, JoinHandle<WriterLog>)>,
    next_thread: usize,
}

impl Load {
    fn new() -> Load {
        Load {
            stop: Arc::new(AtomicBool::new(false)),
            acks: Arc::new(AtomicU64::new(0)),
            threads: Vec::new(),
            next_thread: 0,
        }
    }

    /// Starts one writer against `node` at `addr`.
    fn spawn(&mut self, node: u64, addr: SocketAddr) {
        let thread = self.next_thread;
        self.next_thread += 1;
        let stop = self.stop.clone();
        let acks = self.acks.clone();
        let own_stop = Arc::new(AtomicBool::new(false));
        let own = own_stop.clone();
        let handle = std::thread::spawn(move || writer(thread, node, addr, &stop, &own, &acks));
        self.threads.push((node, own_stop, handle));
    }

    /// Acknowledged calls so far, over all threads.
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

    fn finish(self) -> Vec<WriterLog> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .into_iter()
            .map(|(_, _, h)| h.join().expect("writer thread panicked"))
            .collect()
    }
}

fn connect(addr: SocketAddr) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://{addr}/"))?;
    let conn = client.get_connection_with_timeout(Duration::from_secs(1))?;
    conn.set_read_timeout(Some(CLIENT_READ_TIMEOUT))?;
    conn.set_write_timeout(Some(CLIENT_READ_TIMEOUT))?;
    Ok(conn)
}

fn writer(
    thread: usize,
    node: u64,
    addr: SocketAddr,
    stop: &AtomicBool,
    own_stop: &AtomicBool,
    acks: &AtomicU64,
) -> WriterLog {
    let mut log = WriterLog {
        thread,
        node,
        ..WriterLog::default()
    };
    let mut conn: Option<redis::Connection> = None;
    let mut i = 0u64;
    // Bounded by the stop flag; also by a hard cap so a forgotten flag cannot spin forever.
    let hard_deadline = Instant::now() + Duration::from_secs(120);
    while !stop.load(Ordering::Relaxed)
        && !own_stop.load(Ordering::Relaxed)
        && Instant::now() < hard_deadline
    {
        let Some(c) = conn.as_mut() else {
            // A refused connection sends nothing: not a call, just try again shortly.
            match connect(addr) {
                Ok(c) => conn = Some(c),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            continue;
        };
        let key = format!("key-{thread}-{i}");
        let set: redis::RedisResult<redis::Value> = redis::cmd("SET").arg(&key).arg(i).query(c);
        let mut broken = false;
        match set {
            Ok(redis::Value::Okay) => {
                log.acked_sets.push(i);
                log.ack_times.push(Instant::now());
                acks.fetch_add(1, Ordering::Relaxed);
            }
            Ok(other) => log
                .errors
                .push((Instant::now(), format!("SET got {other:?}"))),
            Err(e) => {
                broken = e.code().is_none();
                log.errors.push((Instant::now(), format!("SET: {e}")));
            }
        }
        i += 1;
        if broken {
            conn = None;
            continue;
        }
        log.incr_sent += 1;
        let incr: redis::RedisResult<redis::Value> = redis::cmd("INCR").arg("counter").query(c);
        match incr {
            Ok(redis::Value::Int(n)) => {
                log.incr_replies.push(n);
                log.ack_times.push(Instant::now());
                acks.fetch_add(1, Ordering::Relaxed);
            }
            Ok(other) => log
                .errors
                .push((Instant::now(), format!("INCR got {other:?}"))),
            Err(e) => {
                if e.code().is_none() {
                    conn = None;
                }
                log.errors.push((Instant::now(), format!("INCR: {e}")));
            }
        }
    }
    log
}

// ---------------------------------------------------------------------------------------------
// Checks.
// ---------------------------------------------------------------------------------------------

fn status_u64(status: &serde_json::Value, field: &str) -> u64 {
    status[field].as_u64().unwrap_or(0)
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

/// Reads every acknowledged key (and `counter`) on node `id`, with `READONLY` (its local state)
/// or with default linearizable reads. Returns a description of what is missing, if anything,
/// and the counter's value.
fn check_node(
    cluster: &Cluster,
    id: u64,
    readonly: bool,
    logs: &[WriterLog],
) -> anyhow::Result<(Vec<String>, i64)> {
    let mut conn = cluster.client(id)?;
    if readonly {
        let _: () = redis::cmd("READONLY").query(&mut conn)?;
    }
    let mut problems = Vec::new();
    let mut missing = 0usize;
    for log in logs {
        for chunk in log.acked_sets.chunks(500) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|i| format!("key-{}-{i}", log.thread))
                .collect();
            let values: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut conn)?;
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
    if missing > 0 {
        problems.push(format!(
            "{missing} acknowledged SETs missing or wrong on node {id}"
        ));
    }
    let counter: Option<i64> = redis::cmd("GET").arg("counter").query(&mut conn)?;
    Ok((problems, counter.unwrap_or(0)))
}

/// Checks node `id` holds every acknowledged write and a counter within bounds; panics with
/// details otherwise.
fn assert_node_has_acked(cluster: &Cluster, id: u64, readonly: bool, logs: &[WriterLog]) -> i64 {
    let (problems, counter) = check_node(cluster, id, readonly, logs)
        .unwrap_or_else(|e| panic!("reading node {id}: {e:#}"));
    assert!(
        problems.is_empty(),
        "node {id} (readonly={readonly}) lost acknowledged writes:\n{}",
        problems.join("\n")
    );
    let acked: u64 = logs.iter().map(|l| l.incr_replies.len() as u64).sum();
    let sent: u64 = logs.iter().map(|l| l.incr_sent).sum();
    assert!(
        counter >= 0 && (acked..=sent).contains(&(counter as u64)),
        "node {id}: counter = {counter}, but {acked} INCRs were acknowledged and {sent} sent"
    );
    counter
}

/// Each acknowledged INCR returned a distinct value (two equal replies mean one increment was
/// lost or a reply was duplicated), and each thread saw its own replies increase.
fn assert_incr_replies_sane(logs: &[WriterLog]) {
    let mut seen = BTreeSet::new();
    for log in logs {
        assert!(
            log.incr_replies.windows(2).all(|w| w[0] < w[1]),
            "thread {} saw INCR replies go backwards",
            log.thread
        );
        for &r in &log.incr_replies {
            assert!(seen.insert(r), "two acknowledged INCRs both returned {r}");
        }
    }
}

/// The longest time between two consecutive acknowledged calls among `logs`, within
/// `[from, to]` (both ends count as boundaries, so an outage at the start or end shows).
fn longest_gap<'a>(
    logs: impl Iterator<Item = &'a WriterLog>,
    from: Instant,
    to: Instant,
) -> Duration {
    let mut times: Vec<Instant> = logs
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

/// Errors seen by threads on `nodes`: each must fall within `[fault, fault + TRANSIENT_WINDOW]`,
/// and each thread must have acknowledged calls after its last error (it recovered).
fn assert_transient_errors(logs: &[WriterLog], nodes: &[u64], fault: Instant) {
    for log in logs.iter().filter(|l| nodes.contains(&l.node)) {
        for (at, what) in &log.errors {
            assert!(
                *at >= fault && *at <= fault + TRANSIENT_WINDOW,
                "thread {} on surviving node {} got an error {:?} from the fault: {what}",
                log.thread,
                log.node,
                at.checked_duration_since(fault)
                    .map_or_else(|| format!("-{:?}", fault - *at), |d| format!("{d:?}"))
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

/// `default_timings`: the node's own Raft defaults (heartbeat 100 ms, elections 300-600 ms),
/// which the "a new leader within 2 s" is about; otherwise the testkit's faster ones.
fn start_cluster(default_timings: bool) -> Cluster {
    Cluster::builder(Path::new(QUORUM))
        .nodes(3)
        .fast_raft(!default_timings)
        .start()
        .expect("cluster starts")
}

/// Two writers per node.
fn start_load(cluster: &Cluster) -> Load {
    let mut load = Load::new();
    for _ in 0..2 {
        for id in cluster.ids() {
            load.spawn(id, cluster.node(id).resp_addr());
        }
    }
    load
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn kill9_leader_under_load() {
    let started = Instant::now();
    let mut cluster = start_cluster(true);
    let old_leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("leader");
    let survivors: Vec<u64> = cluster
        .ids()
        .into_iter()
        .filter(|&i| i != old_leader)
        .collect();

    let load = start_load(&cluster);
    load.wait_acks(300, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going before the fault");
    let acks_before = load.acks();

    let killed_at = Instant::now();
    cluster
        .node_mut(old_leader)
        .kill9()
        .expect("kill -9 leader");
    let new_leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a new leader");
    let elected_after = killed_at.elapsed();
    assert_ne!(new_leader, old_leader);
    // Let the survivors write for a while under the new leader.
    load.wait_acks(300, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue under the new leader");
    let stopped_at = Instant::now();
    let logs = load.finish();

    let survivor_logs = || logs.iter().filter(|l| l.node != old_leader);
    let gap = longest_gap(
        survivor_logs(),
        killed_at - Duration::from_millis(200),
        stopped_at,
    );
    eprintln!(
        "kill9_leader_under_load: leader {old_leader} killed after {acks_before} acks; \
         node {new_leader} seen as leader after {elected_after:?}; longest gap between \
         acknowledged writes on surviving nodes: {gap:?}"
    );
    summarize(&logs);
    assert!(
        gap <= FAILOVER_GAP_MAX,
        "writes on surviving nodes stalled for {gap:?} (bound {FAILOVER_GAP_MAX:?})"
    );
    assert_transient_errors(&logs, &survivors, killed_at);
    assert_incr_replies_sane(&logs);

    let index = wait_converged(&cluster, &survivors, Duration::from_secs(15)).expect("converge");
    for &id in &survivors {
        let counter = assert_node_has_acked(&cluster, id, true, &logs);
        eprintln!(
            "  node {id} (READONLY) at index {index}: all acked writes present, counter {counter}"
        );
    }
    let counter = assert_node_has_acked(&cluster, new_leader, false, &logs);
    eprintln!(
        "  counter {counter}: {} INCRs acknowledged, {} sent",
        logs.iter().map(|l| l.incr_replies.len()).sum::<usize>(),
        logs.iter().map(|l| l.incr_sent).sum::<u64>()
    );

    // The killed node comes back from its data directory and catches up.
    let restarted_at = Instant::now();
    cluster.node_mut(old_leader).restart().expect("restart");
    let all = cluster.ids();
    let index = wait_converged(&cluster, &all, Duration::from_secs(20)).expect("catch up");
    let back_counter = assert_node_has_acked(&cluster, old_leader, true, &logs);
    assert_eq!(back_counter, counter, "restarted node disagrees on counter");
    eprintln!(
        "  node {old_leader} restarted and caught up to index {index} in {:?}; test took {:?}",
        restarted_at.elapsed(),
        started.elapsed()
    );
}

#[test]
fn sigstop_leader_under_load() {
    let started = Instant::now();
    let mut cluster = start_cluster(false);
    let old_leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("leader");
    let others: Vec<u64> = cluster
        .ids()
        .into_iter()
        .filter(|&i| i != old_leader)
        .collect();

    let load = start_load(&cluster);
    load.wait_acks(300, RUN_PHASE, Duration::from_secs(15))
        .expect("load gets going before the fault");

    let stopped_at = Instant::now();
    cluster
        .node_mut(old_leader)
        .sigstop()
        .expect("SIGSTOP leader");
    // `leader_id` ignores paused nodes: this is a leader among the two running ones.
    let new_leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a new leader while the old one is frozen");
    let elected_after = stopped_at.elapsed();
    assert_ne!(new_leader, old_leader);
    let pause = Duration::from_secs(3);
    std::thread::sleep(pause.saturating_sub(stopped_at.elapsed()));
    let resumed_at = Instant::now();
    cluster.node_mut(old_leader).sigcont().expect("SIGCONT");

    // The old leader notices the higher term and steps down to follow the new leader.
    let stepped_down = poll_until(
        "the old leader to step down",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            let s = cluster
                .node(old_leader)
                .status()
                .map_err(|e| format!("{e:#}"))?;
            let leader = s["leader_id"].as_u64();
            if s["role"].as_str() != Some("leader")
                && leader.is_some()
                && leader != Some(old_leader)
            {
                Ok(Some(leader))
            } else {
                Err(format!("status {s}"))
            }
        },
    )
    .expect("old leader steps down");
    let stepped_down_after = resumed_at.elapsed();
    load.wait_acks(200, RUN_PHASE, Duration::from_secs(15))
        .expect("writes continue after the pause");
    let ended_at = Instant::now();
    let logs = load.finish();

    let gap = longest_gap(
        logs.iter().filter(|l| l.node != old_leader),
        stopped_at - Duration::from_millis(200),
        ended_at,
    );
    eprintln!(
        "sigstop_leader_under_load: leader {old_leader} frozen for {:?}; node {new_leader} \
         seen as leader after {elected_after:?}; old leader stepped down (following {:?}) \
         {stepped_down_after:?} after SIGCONT; longest gap between acknowledged writes on the \
         other nodes: {gap:?}",
        resumed_at - stopped_at,
        stepped_down
    );
    summarize(&logs);
    assert!(
        gap <= FAILOVER_GAP_MAX,
        "writes on the running nodes stalled for {gap:?} (bound {FAILOVER_GAP_MAX:?})"
    );
    assert_transient_errors(&logs, &others, stopped_at);
    assert_incr_replies_sane(&logs);

    let all = cluster.ids();
    let index = wait_converged(&cluster, &all, Duration::from_secs(20)).expect("converge");
    let mut counters = BTreeSet::new();
    for &id in &all {
        counters.insert(assert_node_has_acked(&cluster, id, true, &logs));
    }
    assert_eq!(counters.len(), 1, "nodes disagree on counter: {counters:?}");
    assert_node_has_acked(&cluster, old_leader, false, &logs);
    eprintln!(
        "  all nodes at index {index} hold every acknowledged write, counter {counters:?}; \
         test took {:?}",
        started.elapsed()
    );
}
