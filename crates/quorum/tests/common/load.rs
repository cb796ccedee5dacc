//! The write load and the checks shared by the failover, durability and membership tests:
//! writer threads doing `SET key-<thread>-<i> <i>` and `INCR counter` against real nodes and
//! recording which calls were acknowledged, then checks that every acknowledged write is on
//! every node, that INCRs were applied at most once and never lost, and how long writes stalled.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use quorum_testkit::{poll_until, Cluster};

/// How long the load runs in each phase of a test (before a fault, after it...).
pub const RUN_PHASE: Duration = Duration::from_millis(1500);
/// Client read timeout: above the server's default request timeout (5 s), so a request the
/// server gives up on comes back as an error reply rather than a client-side timeout.
pub const CLIENT_READ_TIMEOUT: Duration = Duration::from_secs(8);
/// Errors are "transient" if they happen within this long after a fault or a membership change
/// began.
pub const TRANSIENT_WINDOW: Duration = Duration::from_secs(6);

// ---------------------------------------------------------------------------------------------
// Write load. Each writer's log is shared (`Arc<Mutex<_>>`) so a test can check the writes
// acknowledged so far while the load keeps running.
// ---------------------------------------------------------------------------------------------

/// What one writer thread saw. A call is *acknowledged* when it got `OK` / an integer, and
/// *unknown* when it got an error reply or lost its connection (it may or may not have applied).
#[derive(Debug, Default, Clone)]
pub struct WriterLog {
    pub thread: usize,
    pub node: u64,
    /// `i` of every acknowledged `SET key-<thread>-<i> <i>`.
    pub acked_sets: Vec<u64>,
    /// INCRs whose request was (possibly) sent: acknowledged plus unknown.
    pub incr_sent: u64,
    /// Replies of acknowledged INCRs.
    pub incr_replies: Vec<i64>,
    /// When each acknowledged call (SET or INCR) returned.
    pub ack_times: Vec<Instant>,
    /// When each failed call returned, and why.
    pub errors: Vec<(Instant, String)>,
}

struct Writer {
    node: u64,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<WriterLog>>,
    handle: JoinHandle<()>,
}

/// A running write load; [`Load::finish`] stops it and returns every thread's log.
pub struct Load {
    acks: Arc<AtomicU64>,
    writers: Vec<Writer>,
    /// Logs of writers already stopped.
    done: Vec<WriterLog>,
    next_thread: usize,
}

impl Load {
    pub fn new() -> Load {
        Load {
            acks: Arc::new(AtomicU64::new(0)),
            writers: Vec::new(),
            done: Vec::new(),
            next_thread: 0,
        }
    }

    /// Starts one writer against `node` at `addr`.
    pub fn spawn(&mut self, node: u64, addr: SocketAddr) {
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

    /// Acknowledged calls so far, over all threads.
    pub fn acks(&self) -> u64 {
        self.acks.load(Ordering::Relaxed)
    }

    /// Lets the load run for at least `at_least` and until `more` further calls are
    /// acknowledged (fails after `timeout`).
    pub fn wait_acks(
        &self,
        more: u64,
        at_least: Duration,
        timeout: Duration,
    ) -> anyhow::Result<()> {
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
    pub fn retire(&mut self, node: u64) {
        let (gone, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.writers)
            .into_iter()
            .partition(|w| w.node == node);
        self.writers = keep;
        self.stop_and_join(gone);
    }

    /// A copy of every log so far (running writers included).
    pub fn snapshot(&self) -> Vec<WriterLog> {
        let mut logs = self.done.clone();
        logs.extend(
            self.writers
                .iter()
                .map(|w| w.log.lock().expect("log").clone()),
        );
        logs
    }

    /// Stops every writer at once and returns all logs: those of retired writers first, then
    /// the others in the order they were started.
    pub fn finish(mut self) -> Vec<WriterLog> {
        let writers = std::mem::take(&mut self.writers);
        self.stop_and_join(writers);
        self.done
    }

    fn stop_and_join(&mut self, writers: Vec<Writer>) {
        for w in &writers {
            w.stop.store(true, Ordering::Relaxed);
        }
        for w in writers {
            w.handle.join().expect("writer thread panicked");
            self.done.push(w.log.lock().expect("log").clone());
        }
    }
}

/// Two writers per node of `cluster`.
pub fn start_load(cluster: &Cluster) -> Load {
    let mut load = Load::new();
    for _ in 0..2 {
        for id in cluster.ids() {
            load.spawn(id, cluster.node(id).resp_addr());
        }
    }
    load
}

/// A `redis` connection to `addr` with [`CLIENT_READ_TIMEOUT`].
pub fn connect(addr: SocketAddr) -> redis::RedisResult<redis::Connection> {
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

pub fn status_u64(status: &serde_json::Value, field: &str) -> u64 {
    status[field].as_u64().unwrap_or(0)
}

/// Waits until every node in `ids` answers and all have applied the same index, which is also
/// the leader's commit index and last log index (no write in flight). Returns that index.
pub fn wait_converged(cluster: &Cluster, ids: &[u64], timeout: Duration) -> anyhow::Result<u64> {
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

/// Reads every SET acknowledged in `logs` through `conn` (`MGET`, 500 keys at a time). Returns
/// how many are missing or wrong, and up to 10 of them described.
pub fn missing_acked_sets(
    conn: &mut redis::Connection,
    logs: &[WriterLog],
) -> redis::RedisResult<(usize, Vec<String>)> {
    let mut problems = Vec::new();
    let mut missing = 0usize;
    for log in logs {
        for chunk in log.acked_sets.chunks(500) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|i| format!("key-{}-{i}", log.thread))
                .collect();
            let values: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(conn)?;
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
    Ok((missing, problems))
}

/// Acknowledged and sent INCRs over all `logs`: `counter` must lie between them.
pub fn incr_bounds(logs: &[WriterLog]) -> (u64, u64) {
    let acked: u64 = logs.iter().map(|l| l.incr_replies.len() as u64).sum();
    let sent: u64 = logs.iter().map(|l| l.incr_sent).sum();
    (acked, sent)
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
    let (missing, mut problems) = missing_acked_sets(&mut conn, logs)?;
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
pub fn assert_node_has_acked(
    cluster: &Cluster,
    id: u64,
    readonly: bool,
    logs: &[WriterLog],
) -> i64 {
    let (problems, counter) = check_node(cluster, id, readonly, logs)
        .unwrap_or_else(|e| panic!("reading node {id}: {e:#}"));
    assert!(
        problems.is_empty(),
        "node {id} (readonly={readonly}) lost acknowledged writes:\n{}",
        problems.join("\n")
    );
    let (acked, sent) = incr_bounds(logs);
    assert!(
        counter >= 0 && (acked..=sent).contains(&(counter as u64)),
        "node {id}: counter = {counter}, but {acked} INCRs were acknowledged and {sent} sent"
    );
    counter
}

/// Each acknowledged INCR returned a distinct value (two equal replies mean one increment was
/// lost or a reply was duplicated), and each thread saw its own replies increase.
pub fn assert_incr_replies_sane(logs: &[WriterLog]) {
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

/// A thread that saw errors acknowledged calls after its last one (it recovered).
pub fn assert_recovered(log: &WriterLog) {
    if let Some((last_err, what)) = log.errors.last() {
        assert!(
            log.ack_times.last().is_some_and(|t| t > last_err),
            "thread {} on node {} never recovered after: {what}",
            log.thread,
            log.node
        );
    }
}

/// The longest time between two consecutive acknowledged calls among `logs`, within
/// `[from, to]` (both ends count as boundaries, so an outage at the start or end shows).
pub fn longest_gap<'a>(
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

/// One line per thread on stderr: what it got acknowledged and its first error.
pub fn summarize(logs: &[WriterLog]) {
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

/// `INFO raft` of node `id` as a map.
pub fn info_raft(cluster: &Cluster, id: u64) -> anyhow::Result<BTreeMap<String, String>> {
    let mut conn = cluster.client(id)?;
    let info: String = redis::cmd("INFO").arg("raft").query(&mut conn)?;
    Ok(info
        .lines()
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}
