//! Deterministic simulation of whole quorum nodes (the FoundationDB/TigerBeetle idea) under
//! turmoil: the real `quorum_server::run_node_with_seams` of every node runs as a turmoil
//! host on one thread, with a simulated network (latency, partitions, held and released
//! messages), simulated time, crashes that lose every unsynced log write (the power-loss file
//! system), bit flips of a crashed node's synced log (`disk.rs`: the node refuses to start and
//! stays down, or starts and everything must stay correct), membership changes through the
//! real admin call (`membership.rs`), and seeded randomness everywhere. One seed is one schedule: [`run`] with the same
//! [`SimConfig`] replays it exactly, which makes a failure found by a sweep of seeds debuggable.
//!
//! What each run checks: Raft's safety properties after every step ([`invariants`]), then the
//! clients' history with `quorum-check` (no acknowledged write lost, linearizable reads, every
//! INCR applied once, every queue element popped once), and liveness (after the last fault is
//! healed, every client's final reads succeed and all nodes converge on one applied index).
//!
//! The seams this uses, and what is not simulated, are listed in ARCHITECTURE.md
//! ("Deterministic simulation").

mod disk;
pub mod invariants;
mod log_thread;
mod logs;
mod membership;
mod net;
mod node;
mod workload;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use quorum_types::NodeId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::invariants::Invariants;
use crate::membership::{ChangePlan, ChangeProgress};
use crate::node::{host_name, NodeSlot, SharedSlot};
use crate::workload::{ClientPlan, Recorder};

/// Simulated time before the first fault: the cluster elects its first leader.
const FIRST_FAULT_AT: Duration = Duration::from_secs(2);
/// After the workload, how long (simulated) the clients' final reads and the nodes'
/// convergence may take before the run counts as a liveness failure.
const SETTLE_MAX: Duration = Duration::from_secs(30);
/// A membership change starts only if its node is due back at least this long before the
/// workload ends.
const CHANGE_MARGIN: Duration = Duration::from_secs(2);
/// After the workload, how long (simulated) adding back a removed node may take, every other
/// fault healed, before the run counts as a liveness failure. The clients' final reads wait
/// for it.
const CHANGE_HEAL_MAX: Duration = Duration::from_secs(20);

/// One simulated run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Decides everything: fault schedule, message latencies, every random choice of nodes
    /// and clients.
    pub seed: u64,
    /// Nodes in the cluster.
    pub nodes: u64,
    /// Concurrent clients.
    pub clients: u32,
    /// Simulated time the workload runs (faults included).
    pub duration: Duration,
    /// Inject faults (otherwise: latency only).
    pub faults: bool,
}

impl SimConfig {
    /// The defaults for `seed`: 3 nodes, 3 clients, 12 simulated seconds with faults.
    pub fn seed(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            nodes: 3,
            clients: 3,
            duration: Duration::from_secs(12),
            faults: true,
        }
    }
}

/// What one run found.
#[derive(Debug, Clone, Serialize)]
pub struct SimOutcome {
    /// The seed run.
    pub seed: u64,
    /// Simulated milliseconds until the run ended.
    pub sim_ms: u64,
    /// Acknowledged, failed and unknown client operations.
    pub ops_ok: u64,
    /// Operations that certainly had no effect.
    pub ops_failed: u64,
    /// Operations whose effect is unknown.
    pub ops_unknown: u64,
    /// The faults injected, in order ("at ms: what").
    pub faults: Vec<String>,
    /// Leaders elected (distinct terms with a leader).
    pub leaders: usize,
    /// Every violation found: invariants, history anomalies, liveness. Empty = valid.
    pub violations: Vec<String>,
    /// The queue workload's pushes, pops and elements lost or doubled, as the checker counted.
    pub queue: quorum_check::QueueStats,
    /// A hash of everything observable in the run (history, faults, leaders): equal across
    /// two runs of one seed when the simulation is deterministic.
    pub trace_hash: u64,
    /// Real time the run took.
    pub wall_ms: u64,
}

impl SimOutcome {
    /// True when nothing was violated.
    pub fn valid(&self) -> bool {
        self.violations.is_empty()
    }

    /// The command that replays this run in a fresh process.
    pub fn replay_command(&self) -> String {
        format!(
            "cargo run -p quorum-sim -- --seed {} (add QUORUM_SIM_LOG=debug for the nodes' logs)",
            self.seed
        )
    }
}

/// Where the nodes' data directories go by default: tmpfs when there is one (fsync is free
/// there, and a crash is simulated by the power-loss file system anyway).
pub fn default_work_dir() -> std::path::PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

thread_local! {
    /// The first panic on this thread since the current simulation started.
    static FIRST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Routes this process's network and blocking work through the simulation (process-wide;
/// a process that runs simulations must not also run real nodes).
fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Remember the first panic of each simulation: later ones are the runtime shutting
        // down because of it.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            FIRST_PANIC.with(|first| {
                first
                    .borrow_mut()
                    .get_or_insert_with(|| info.to_string().replace('\n', " "));
            });
            previous(info);
        }));
        quorum_rpc::net::simulate(Arc::new(net::TurmoilNet));
        quorum_raft::blocking::run_inline();
        if let Ok(filter) = std::env::var("QUORUM_SIM_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_timer(SimTime)
                .with_writer(std::io::stderr)
                .try_init();
        }
    });
}

/// Log timestamps in simulated time (milliseconds since the run started).
struct SimTime;

impl tracing_subscriber::fmt::time::FormatTime for SimTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        match turmoil::sim_elapsed() {
            Some(t) => write!(w, "{:>9.3}s", t.as_secs_f64()),
            None => write!(w, "{:>10}", "-"),
        }
    }
}

/// Runs one seeded simulation in a temporary directory under `work_dir` (the nodes' data
/// directories; tmpfs makes it fast) and judges it.
pub fn run(config: &SimConfig, work_dir: &Path) -> anyhow::Result<SimOutcome> {
    install();
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix(&format!("quorum-sim-{}-", config.seed))
        .tempdir_in(work_dir)?;
    // A panic in any node (an assertion of openraft, raft-engine or quorum) is a finding, not
    // a harness failure: report it as the run's violation.
    FIRST_PANIC.with(|first| first.borrow_mut().take());
    let simulated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        simulate(config, dir.path(), started)
    }));
    match simulated {
        Ok(outcome) => outcome,
        Err(payload) => {
            let message = FIRST_PANIC
                .with(|first| first.borrow_mut().take())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".to_string());
            let mut hasher = DefaultHasher::new();
            message.hash(&mut hasher);
            Ok(SimOutcome {
                seed: config.seed,
                sim_ms: 0,
                ops_ok: 0,
                ops_failed: 0,
                ops_unknown: 0,
                faults: Vec::new(),
                leaders: 0,
                violations: vec![format!("a node panicked: {message}")],
                queue: quorum_check::QueueStats::default(),
                trace_hash: hasher.finish(),
                wall_ms: started.elapsed().as_millis() as u64,
            })
        }
    }
}

/// The body of [`run`]: one simulation in `dir`.
fn simulate(config: &SimConfig, dir: &Path, started: Instant) -> anyhow::Result<SimOutcome> {
    // openraft draws election timeouts from its runtime's thread-local RNG: seed it, since
    // every host of this simulation runs on this thread.
    quorum_raft::runtime::seed_thread_rng(config.seed);
    let mut rng = StdRng::seed_from_u64(config.seed);

    net::reset();
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(config.seed)
        .enable_random_order()
        .simulation_duration(
            config.duration + CHANGE_HEAL_MAX + SETTLE_MAX + Duration::from_secs(5),
        )
        .min_message_latency(Duration::from_millis(0))
        .max_message_latency(Duration::from_millis(rng.gen_range(1..=15)));
    let mut sim = builder.build();

    let slots: Vec<SharedSlot> = (0..config.nodes).map(|_| SharedSlot::default()).collect();
    for id in 1..=config.nodes {
        let slot = slots[(id - 1) as usize].clone();
        let node_config = node::node_config(id, config.nodes, dir.join(host_name(id)));
        let seed = config.seed;
        sim.host(host_name(id), move || {
            let node_config = node_config.clone();
            let seams = node::incarnation_seams(id, seed, &slot);
            let slot = slot.clone();
            async move {
                let result =
                    quorum_server::run_node_with_seams(node_config, seams, std::future::pending())
                        .await;
                match result {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        // After a bit flip of its log, and before Raft started: the node
                        // refused its log. The driver judges the error; the host stays down.
                        let mut slot = slot.lock().expect("node slot");
                        if slot.flip_pending && slot.metrics.is_none() {
                            slot.refused = Some(format!("{e:#}"));
                            Ok(())
                        } else {
                            Err(format!("node {id}: {e:#}").into())
                        }
                    }
                }
            }
        });
    }

    let recorder = Arc::new(Recorder::default());
    let healed = Arc::new(AtomicBool::new(false));
    for client in 0..config.clients {
        let plan = ClientPlan {
            id: client,
            nodes: config.nodes,
            clients: config.clients,
            seed: config.seed ^ (u64::from(client) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            stop_at: config.duration,
            healed: healed.clone(),
            recorder: recorder.clone(),
        };
        sim.client(format!("c{client}"), workload::run_client(plan));
    }

    let mut driver = Driver {
        nodes: config.nodes,
        dir: dir.to_path_buf(),
        down_for_good: None,
        flipped: None,
        slots,
        invariants: Invariants::default(),
        faults: Vec::new(),
        active: None,
        change: None,
        changes: 0,
        stop_at: config.duration,
        next_fault_at: if config.faults {
            FIRST_FAULT_AT
        } else {
            Duration::MAX
        },
        rng,
    };
    let mut healed_at = None;
    let mut heal_started = false;
    let mut clients_done = false;
    loop {
        match sim.step() {
            Ok(done) => clients_done = done,
            Err(e) => {
                driver
                    .invariants
                    .violations
                    .push(format!("a simulated host failed: {e}"));
                break;
            }
        }
        let now = sim.elapsed();
        driver.observe(&mut sim, now);
        driver.follow_change();
        if clients_done {
            break;
        }
        if now < config.duration {
            driver.faults_step(&mut sim, now, config.duration);
        } else if healed_at.is_none() {
            if !heal_started {
                driver.heal(&mut sim, now);
                heal_started = true;
            }
            // A membership change in progress ends on its own (its addition retries until
            // `CHANGE_HEAL_MAX` after the workload): the clients' final reads wait for it.
            if driver.change.is_none() {
                healed.store(true, std::sync::atomic::Ordering::SeqCst);
                healed_at = Some(now);
            } else if now > config.duration + CHANGE_HEAL_MAX + Duration::from_secs(1) {
                driver.invariants.violations.push(format!(
                    "liveness: the membership change did not end within {CHANGE_HEAL_MAX:?} of \
                     the workload's end"
                ));
                break;
            }
        } else if healed_at.is_some_and(|at| now > at + SETTLE_MAX) {
            driver.invariants.violations.push(format!(
                "liveness: the clients' final reads did not finish within {SETTLE_MAX:?} of the \
                 last fault being healed"
            ));
            break;
        }
    }
    if clients_done {
        driver.converge(&mut sim);
    }
    // Stop every node (closing its files as a clean shutdown would), then compare the logs.
    let sim_ms = sim.elapsed().as_millis() as u64;
    drop(sim);
    // A node that refused its damaged log has no log to compare.
    let log_dirs: Vec<_> = (1..=config.nodes)
        .filter(|&id| driver.down_for_good != Some(id))
        .map(|id| (id, dir.join(host_name(id)).join("raft-log")))
        .collect();
    driver
        .invariants
        .violations
        .extend(logs::check_log_matching(&log_dirs));

    let history = recorder.history();
    let report = quorum_check::check(&history);
    let mut violations = driver.invariants.violations.clone();
    violations.extend(
        report
            .anomalies
            .iter()
            .map(|a| format!("{}: {}", a.class.name(), a.explanation)),
    );
    let mut hasher = DefaultHasher::new();
    serde_json::to_string(&history.ops)?.hash(&mut hasher);
    driver.faults.hash(&mut hasher);
    driver.invariants.leaders.hash(&mut hasher);
    let count = |f: fn(&quorum_check::OutcomeCounts) -> u64| -> u64 {
        report.stats.by_call.values().map(f).sum()
    };
    Ok(SimOutcome {
        seed: config.seed,
        sim_ms,
        ops_ok: count(|c| c.ok),
        ops_failed: count(|c| c.failed),
        ops_unknown: count(|c| c.unknown),
        faults: driver.faults,
        leaders: driver.invariants.leaders.len(),
        violations,
        queue: report.queue.clone(),
        trace_hash: hasher.finish(),
        wall_ms: started.elapsed().as_millis() as u64,
    })
}

/// A fault in progress: what heals it, and when.
struct ActiveFault {
    until: Duration,
    heal: Heal,
}

enum Heal {
    Bounce(Vec<NodeId>),
    Release(NodeId),
}

/// The fault injector and invariant checker between simulation steps.
struct Driver {
    nodes: u64,
    /// The run's directory (the nodes' data directories are under it).
    dir: PathBuf,
    /// The node that refused to start after a bit flip of its log: it stays down, and no
    /// fault needs it any more. At most one, so a majority always remains.
    down_for_good: Option<NodeId>,
    /// The node whose log had a bit flipped while it was down, until it starts Raft again or
    /// refuses to start.
    flipped: Option<NodeId>,
    slots: Vec<SharedSlot>,
    invariants: Invariants,
    faults: Vec<String>,
    active: Option<ActiveFault>,
    /// The membership change in progress (at most one), besides `active`.
    change: Option<Change>,
    /// Membership changes started so far (names their admin hosts).
    changes: u32,
    /// When the workload ends.
    stop_at: Duration,
    next_fault_at: Duration,
    rng: StdRng,
}

/// A membership change in progress: its admin host reports here.
struct Change {
    victim: NodeId,
    progress: Arc<std::sync::Mutex<ChangeProgress>>,
}

impl Driver {
    fn slot(&self, id: NodeId) -> std::sync::MutexGuard<'_, NodeSlot> {
        self.slots[(id - 1) as usize].lock().expect("node slot")
    }

    /// Checks the invariants against every running node's metrics.
    fn observe(&mut self, sim: &mut turmoil::Sim<'_>, now: Duration) {
        let now_ms = now.as_millis() as u64;
        self.judge_flip(sim, now_ms);
        for id in 1..=self.nodes {
            if !sim.is_host_running(host_name(id)) {
                continue;
            }
            let (incarnation, metrics) = {
                let slot = self.slot(id);
                (
                    slot.incarnation,
                    slot.metrics.as_ref().map(|m| m.borrow().clone()),
                )
            };
            if let Some(metrics) = metrics {
                self.invariants.observe(now_ms, incarnation, &metrics);
            }
        }
    }

    /// What the node whose log had a bit flipped made of it, once it is known: it refused to
    /// start, naming its log directory (it stays down for the rest of the run), or it started
    /// Raft (and everything must stay correct from then on).
    fn judge_flip(&mut self, sim: &mut turmoil::Sim<'_>, now_ms: u64) {
        let Some(id) = self.flipped else { return };
        let (refused, started) = {
            let mut slot = self.slot(id);
            let refused = slot.refused.take();
            let started = slot.metrics.is_some();
            if refused.is_some() || started {
                slot.flip_pending = false;
            }
            (refused, started)
        };
        if let Some(error) = refused {
            self.flipped = None;
            self.down_for_good = Some(id);
            let log_dir = self.dir.join(host_name(id)).join("raft-log");
            // The run's directory differs between runs: leave it out of the trace.
            let shown = error.replace(&self.dir.display().to_string(), "<run dir>");
            if !error.contains(&log_dir.display().to_string()) {
                self.invariants.violations.push(format!(
                    "node {id} refused to start after a bit flip of its log, with an error that \
                     does not name its log directory: {shown}"
                ));
            }
            self.faults
                .push(format!("{now_ms} ms: node {id} refused: {shown}"));
        } else if started && sim.is_host_running(host_name(id)) {
            self.flipped = None;
            self.faults.push(format!(
                "{now_ms} ms: node {id} started after the bit flip of its log"
            ));
        }
    }

    /// The nodes that may still run: every node but the one down for good.
    fn live(&self) -> Vec<NodeId> {
        (1..=self.nodes)
            .filter(|&id| self.down_for_good != Some(id))
            .collect()
    }

    /// The node that currently leads, if a running node says it does.
    fn leader(&self, sim: &mut turmoil::Sim<'_>) -> Option<NodeId> {
        (1..=self.nodes).find(|&id| {
            sim.is_host_running(host_name(id))
                && self
                    .slot(id)
                    .metrics
                    .as_ref()
                    .is_some_and(|m| m.borrow().state == quorum_raft::openraft::ServerState::Leader)
        })
    }

    fn others(&self, id: NodeId) -> Vec<String> {
        (1..=self.nodes)
            .filter(|&n| n != id)
            .map(host_name)
            .collect()
    }

    /// Heals the active fault when its time is up, starts the next one when due.
    fn faults_step(&mut self, sim: &mut turmoil::Sim<'_>, now: Duration, stop_at: Duration) {
        if self.active.as_ref().is_some_and(|f| now >= f.until) {
            let fault = self.active.take().expect("checked above");
            self.apply_heal(sim, fault.heal);
            self.next_fault_at = now + Duration::from_millis(self.rng.gen_range(200..1_000));
        }
        if self.active.is_some() || now < self.next_fault_at || now >= stop_at {
            return;
        }
        let lasts = Duration::from_millis(self.rng.gen_range(300..3_000));
        let leader = self.leader(sim);
        let live = self.live();
        let victim = match (self.rng.gen_bool(0.5), leader) {
            (true, Some(leader)) => leader,
            _ => live[self.rng.gen_range(0..live.len())],
        };
        let role = if Some(victim) == leader {
            "leader"
        } else {
            "node"
        };
        let mut class = self.rng.gen_range(0..6);
        if class == 5
            && (self.change.is_some()
                || now + lasts + CHANGE_MARGIN > stop_at
                || self.down_for_good.is_some()
                || self.flipped.is_some())
        {
            // One membership change at a time, over before the workload ends, and none once a
            // node may be down for good (removing another voter could leave no quorum to add it
            // back): a power cut instead.
            class = 0;
        }
        let (what, heal) = match class {
            5 => {
                let what = self.start_change(sim, victim, role, lasts);
                self.faults.push(format!("{} ms: {what}", now.as_millis()));
                // Not the active fault: the others go on while the node is out.
                self.next_fault_at = now + Duration::from_millis(self.rng.gen_range(200..1_000));
                return;
            }
            0 | 1 => {
                let crashed = self.crash(sim, victim);
                let mut what = format!("power cut of {role} {victim}");
                // One such cut in four is followed by a bit flip of the node's synced log, if
                // no node is down for good or may be (one at most, so a majority remains) and
                // no membership change runs (it could need the node's vote).
                if self.rng.gen_bool(0.25)
                    && crashed
                    && self.down_for_good.is_none()
                    && self.flipped.is_none()
                    && self.change.is_none()
                {
                    what.push_str(&self.flip(victim));
                }
                (what, Heal::Bounce(vec![victim]))
            }
            2 => {
                // A majority (or all, one time in three) at once.
                // Of the live nodes: with one down for good, a majority is all of them.
                let mut ids = self.live();
                let count = if self.rng.gen_bool(0.33) {
                    ids.len() as u64
                } else {
                    (self.nodes / 2 + 1).min(ids.len() as u64)
                };
                while ids.len() as u64 > count {
                    let keep_out = self.rng.gen_range(0..ids.len());
                    ids.remove(keep_out);
                }
                for &id in &ids {
                    self.crash(sim, id);
                }
                (format!("power cut of nodes {ids:?}"), Heal::Bounce(ids))
            }
            _ => {
                // turmoil drops messages across a partition, TCP segments included, and never
                // retransmits them: a real TCP connection cannot lose bytes in its middle (h2
                // then waits forever, e.g. for a lost WINDOW_UPDATE). Holding them until the
                // heal is what a real partition does to TCP (retransmitted once it heals), and
                // releasing them at once delivers a burst, reordered across connections.
                for other in self.others(victim) {
                    sim.hold(host_name(victim), other);
                }
                (
                    format!(
                        "{role} {victim} cut off from the other nodes (clients reach it; held \
                         messages delivered at the heal)"
                    ),
                    Heal::Release(victim),
                )
            }
        };
        self.faults.push(format!(
            "{} ms: {what} for {} ms",
            now.as_millis(),
            lasts.as_millis()
        ));
        self.active = Some(ActiveFault {
            until: now + lasts,
            heal,
        });
    }

    /// Starts removing `victim` and adding it back after `removed_for`, from an admin host of
    /// its own (see `membership.rs`); returns the fault's description.
    fn start_change(
        &mut self,
        sim: &mut turmoil::Sim<'_>,
        victim: NodeId,
        role: &str,
        removed_for: Duration,
    ) -> String {
        // Any node takes the call: followers name the leader, and the call follows.
        let first_target = self.rng.gen_range(1..=self.nodes);
        let add_target = self.rng.gen_range(1..=self.nodes);
        let progress = Arc::new(std::sync::Mutex::new(ChangeProgress::default()));
        self.changes += 1;
        let plan = ChangePlan {
            victim,
            nodes: self.nodes,
            first_target,
            add_target,
            removed_for,
            add_deadline: self.stop_at + CHANGE_HEAL_MAX,
            progress: progress.clone(),
        };
        sim.client(
            format!("admin{}", self.changes),
            membership::run_change(plan),
        );
        self.change = Some(Change { victim, progress });
        format!(
            "membership change: remove {role} {victim} (asking node {first_target}), add it back \
             as a voter {} ms after it is out (asking node {add_target})",
            removed_for.as_millis()
        )
    }

    /// Records what the membership change in progress did since the last step; forgets it
    /// once it ended (a node that could not be added back is a liveness violation).
    fn follow_change(&mut self) {
        let Some(change) = &self.change else { return };
        let (events, added_back) = {
            let mut progress = change.progress.lock().expect("membership progress");
            (std::mem::take(&mut progress.events), progress.added_back)
        };
        self.faults.extend(events);
        match added_back {
            None => {}
            Some(true) => self.change = None,
            Some(false) => {
                self.invariants.violations.push(format!(
                    "liveness: node {} could not be added back as a voter within \
                     {CHANGE_HEAL_MAX:?} of the workload's end",
                    change.victim
                ));
                self.change = None;
            }
        }
    }

    /// Flips a seeded bit of `id`'s log, which is down after a power cut (its files closed,
    /// holding their synced bytes and a torn prefix); returns what it did, for the fault's
    /// description.
    fn flip(&mut self, id: NodeId) -> String {
        let data_dir = self.dir.join(host_name(id));
        match disk::flip_log_bit(&data_dir, &mut self.rng) {
            Ok(Some(what)) => {
                self.flipped = Some(id);
                self.slot(id).flip_pending = true;
                format!(", then {what}")
            }
            Ok(None) => ", then no bit flipped (no log written)".to_string(),
            Err(e) => {
                self.invariants.violations.push(format!(
                    "harness: flipping a bit of node {id}'s log failed: {e:#}"
                ));
                String::new()
            }
        }
    }

    /// Cuts the power of `id`'s disk (unsynced log writes are lost or torn) and crashes its
    /// host; false if it was not running.
    fn crash(&mut self, sim: &mut turmoil::Sim<'_>, id: NodeId) -> bool {
        if !sim.is_host_running(host_name(id)) {
            return false;
        }
        let tear_seed: u64 = self.rng.gen();
        {
            let mut slot = self.slot(id);
            if let Some(file_system) = &slot.file_system {
                // Unsynced log bytes are lost, except a seeded prefix per file that the
                // "kernel" had written back: the last record may be torn.
                file_system.cut_power_tearing(tear_seed);
            }
            slot.metrics = None;
        }
        // Its connections close in the order they were opened (see `net.rs`).
        net::crashing(|| sim.crash(host_name(id)));
        true
    }

    fn apply_heal(&mut self, sim: &mut turmoil::Sim<'_>, heal: Heal) {
        match heal {
            Heal::Bounce(ids) => {
                for id in ids {
                    if self.down_for_good != Some(id) && !sim.is_host_running(host_name(id)) {
                        sim.bounce(host_name(id));
                    }
                }
            }
            Heal::Release(node) => {
                for other in self.others(node) {
                    sim.release(host_name(node), other);
                }
            }
        }
    }

    /// Heals whatever is active and restarts every crashed node.
    fn heal(&mut self, sim: &mut turmoil::Sim<'_>, now: Duration) {
        if let Some(fault) = self.active.take() {
            self.apply_heal(sim, fault.heal);
        }
        for id in self.live() {
            if !sim.is_host_running(host_name(id)) {
                sim.bounce(host_name(id));
            }
        }
        self.faults
            .push(format!("{} ms: everything healed", now.as_millis()));
    }

    /// After the clients finished: every node must reach the same applied index, with a
    /// leader, within a bound.
    fn converge(&mut self, sim: &mut turmoil::Sim<'_>) {
        let deadline = sim.elapsed() + Duration::from_secs(10);
        let mut last_seen = Vec::new();
        while sim.elapsed() < deadline {
            if let Err(e) = sim.step() {
                self.invariants
                    .violations
                    .push(format!("a simulated host failed: {e}"));
                return;
            }
            let now = sim.elapsed();
            self.observe(sim, now);
            // The node down for good (if any) is left out: it refused its damaged log.
            last_seen = self
                .live()
                .into_iter()
                .map(|id| {
                    self.slot(id)
                        .metrics
                        .as_ref()
                        .and_then(|m| m.borrow().last_applied.map(|l| l.index))
                })
                .collect();
            let converged = last_seen.iter().all(|a| a.is_some() && *a == last_seen[0]);
            if converged && self.leader(sim).is_some() {
                // Every membership change ended with the node added back: each node's
                // configuration is uniform again, with every node a voter.
                let everyone: Vec<NodeId> = (1..=self.nodes).collect();
                let mut wrong = Vec::new();
                for id in 1..=self.nodes {
                    let slot = self.slot(id);
                    let Some(metrics) = slot.metrics.as_ref() else {
                        continue;
                    };
                    let metrics = metrics.borrow();
                    let membership = metrics.membership_config.membership();
                    let voters: Vec<NodeId> = membership.voter_ids().collect();
                    if voters != everyone
                        || membership.learner_ids().next().is_some()
                        || membership.get_joint_config().len() != 1
                    {
                        wrong.push(format!(
                            "membership: after the workload node {id}'s configuration is {:?} \
                             (learners {:?}), not every node a voter",
                            membership.get_joint_config(),
                            membership.learner_ids().collect::<Vec<_>>()
                        ));
                    }
                }
                self.invariants.violations.extend(wrong);
                return;
            }
        }
        self.invariants.violations.push(format!(
            "liveness: nodes did not converge on one applied index with a leader within 10 s \
             after the workload (applied: {last_seen:?})"
        ));
    }
}
