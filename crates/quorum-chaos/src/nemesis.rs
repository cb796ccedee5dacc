//! The fault injector: executes the planned schedule against a cluster, heals each fault
//! before the next, records every fault as a [`FaultEvent`], and heals everything at the end.
//!
//! It runs on its own thread because the cluster controls block (process signals, HTTP
//! probes). Which node is "the leader" or "a follower" is decided here, at run time, from the
//! cluster's answer and a generator seeded by the run's seed.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use quorum_check::FaultEvent;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

mod disk_damage;

use crate::cluster::ClusterControl;
use crate::recorder::Recorder;
use crate::schedule::{Action, KillTarget, PartitionShape, PlannedFault};
use crate::workload::Endpoints;

/// How long the injector waits for a leader after healing a fault before it moves on (the
/// final recovery check judges liveness; this only keeps the schedule going).
const LEADER_WAIT: Duration = Duration::from_secs(30);
/// Step of every sleep, so an abort (Ctrl-C) is noticed quickly.
const SLEEP_STEP: Duration = Duration::from_millis(50);
/// How long the injector gives replays of recorded connections to be written before it
/// counts them.
const REPLAY_SETTLE_MS: u64 = 500;
/// Why a latency or duplication fault could not be injected.
const NO_LINKS: &str = "skipped: the cluster runs without link proxies";
/// libfaketime's preload library on Debian (package `faketime`).
pub const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// State shared with the progress line and the main task.
#[derive(Debug, Default)]
pub struct Shared {
    /// The current leader (0: none known).
    pub leader: AtomicU64,
    /// Set to stop early (Ctrl-C): the injector heals and returns.
    pub abort: AtomicBool,
    /// Faults injected so far.
    pub faults: Mutex<Vec<FaultEvent>>,
    /// Faults skipped or failed, with the reason, for the report.
    pub notes: Mutex<Vec<String>>,
}

/// Executes a schedule against one cluster.
pub struct Nemesis {
    /// The cluster under test; handed back when the schedule is done.
    pub cluster: Box<dyn ClusterControl>,
    recorder: Arc<Recorder>,
    shared: Arc<Shared>,
    endpoints: Endpoints,
    rng: StdRng,
    paused: BTreeSet<u64>,
    killed: BTreeSet<u64>,
}

impl Nemesis {
    /// An injector for `cluster`; `seed` decides which follower is picked.
    pub fn new(
        cluster: Box<dyn ClusterControl>,
        recorder: Arc<Recorder>,
        shared: Arc<Shared>,
        endpoints: Endpoints,
        seed: u64,
    ) -> Nemesis {
        Nemesis {
            cluster,
            recorder,
            shared,
            endpoints,
            rng: StdRng::seed_from_u64(seed ^ 0x6e656d65736973),
            paused: BTreeSet::new(),
            killed: BTreeSet::new(),
        }
    }

    /// Runs the schedule until `until` (time since the run started), then heals everything.
    pub fn run(&mut self, plan: &[PlannedFault], until: Duration) {
        for planned in plan {
            self.sleep_until(planned.at.min(until));
            if self.aborted() || self.recorder.elapsed() >= until {
                break;
            }
            if let Err(err) = self.inject(planned.action) {
                self.note(format!("{}: {err:#}", planned.action));
                // Leave the cluster whole for the next fault, whatever the failed one left.
                self.heal_all();
            }
            self.refresh_leader();
        }
        self.sleep_until(until);
        let started = std::time::Instant::now();
        self.heal_all();
        eprintln!("chaos: final heal took {:?}", started.elapsed());
    }

    fn aborted(&self) -> bool {
        self.shared.abort.load(Ordering::Relaxed)
    }

    fn note(&self, text: String) {
        eprintln!("chaos: {text}");
        self.shared
            .notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text);
    }

    fn refresh_leader(&self) {
        let leader = self.cluster.leader().unwrap_or(0);
        self.shared.leader.store(leader, Ordering::Relaxed);
    }

    /// Sleeps until `at` after the start, refreshing the leader about twice a second.
    fn sleep_until(&self, at: Duration) {
        let mut since_refresh = Duration::ZERO;
        // Bounded by the clock and by a round count (at / step + 1).
        let rounds_max = at.as_millis() / SLEEP_STEP.as_millis() + 1;
        for _ in 0..rounds_max {
            if self.aborted() || self.recorder.elapsed() >= at {
                return;
            }
            std::thread::sleep(SLEEP_STEP);
            since_refresh += SLEEP_STEP;
            if since_refresh >= Duration::from_millis(500) {
                self.refresh_leader();
                since_refresh = Duration::ZERO;
            }
        }
    }

    fn sleep_ms(&self, ms: u64) {
        self.sleep_until(self.recorder.elapsed() + Duration::from_millis(ms));
    }

    fn start_event(&self, action: Action, detail: String) -> usize {
        let mut faults = self.shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        eprintln!("chaos: fault {}: {detail}", action.class());
        faults.push(FaultEvent {
            class: action.class().name().to_string(),
            detail,
            start_ns: self.recorder.now_ns(),
            end_ns: None,
        });
        faults.len() - 1
    }

    fn end_event(&self, index: usize) {
        let mut faults = self.shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(event) = faults.get_mut(index) {
            event.end_ns = Some(self.recorder.now_ns());
        }
    }

    /// The leader, or (when none is confirmed within a while) any member.
    fn leader_or_any(&mut self) -> anyhow::Result<u64> {
        if let Ok(leader) = self.cluster.wait_for_leader(Duration::from_secs(10)) {
            return Ok(leader);
        }
        self.cluster
            .members()
            .choose(&mut self.rng)
            .copied()
            .ok_or_else(|| anyhow::anyhow!("the cluster has no members"))
    }

    /// Every member but `leader`.
    fn followers(&self, leader: u64) -> Vec<u64> {
        let mut members = self.cluster.members();
        members.retain(|id| *id != leader);
        members
    }

    fn follower(&mut self, leader: u64) -> anyhow::Result<u64> {
        self.followers(leader)
            .choose(&mut self.rng)
            .copied()
            .ok_or_else(|| anyhow::anyhow!("no follower to pick"))
    }

    fn inject(&mut self, action: Action) -> anyhow::Result<()> {
        let leader = self.leader_or_any()?;
        match action {
            Action::Kill { target, down_ms } | Action::PowerCut { target, down_ms } => {
                let what = match action {
                    Action::PowerCut { .. } => "power cut (unsynced writes lost) of",
                    _ => "kill -9",
                };
                let mut members = self.cluster.members();
                members.shuffle(&mut self.rng);
                members.retain(|id| *id != leader);
                let victims: Vec<u64> = match target {
                    KillTarget::Follower => members.into_iter().take(1).collect(),
                    KillTarget::Leader => vec![leader],
                    KillTarget::Majority => {
                        let majority = self.cluster.members().len() / 2 + 1;
                        std::iter::once(leader)
                            .chain(members)
                            .take(majority)
                            .collect()
                    }
                    KillTarget::All => std::iter::once(leader).chain(members).collect(),
                };
                let event = self.start_event(
                    action,
                    format!(
                        "{what} nodes {victims:?} ({target:?}; leader {leader}), {down_ms} ms down"
                    ),
                );
                for id in &victims {
                    self.cluster.kill9(*id)?;
                    self.killed.insert(*id);
                }
                self.sleep_ms(down_ms);
                for id in &victims {
                    self.cluster.restart(*id, &[])?;
                    self.killed.remove(id);
                }
                self.end_event(event);
            }
            Action::Pause { ms } => {
                let event =
                    self.start_event(action, format!("SIGSTOP leader {leader} for {ms} ms"));
                self.cluster.pause(leader)?;
                self.paused.insert(leader);
                self.sleep_ms(ms);
                self.cluster.resume(leader)?;
                self.paused.remove(&leader);
                self.end_event(event);
            }
            Action::Membership { leader: of_leader } => {
                let victim = if of_leader {
                    leader
                } else {
                    self.follower(leader)?
                };
                let role = if of_leader { "leader" } else { "follower" };
                let event = self.start_event(action, format!("remove {role} {victim}"));
                self.cluster.remove_member(victim)?;
                self.publish_endpoints();
                let added = self.cluster.add_member()?;
                self.publish_endpoints();
                self.rename_event(
                    event,
                    format!("removed {role} {victim}, added node {added}"),
                );
                self.end_event(event);
            }
            Action::Snapshot { down_ms } => {
                let victim = self.follower(leader)?;
                let event = self.start_event(
                    action,
                    format!(
                        "follower {victim} down {down_ms} ms while the log is compacted, restarted"
                    ),
                );
                self.cluster.kill9(victim)?;
                self.killed.insert(victim);
                self.sleep_ms(down_ms);
                self.cluster.restart(victim, &[])?;
                self.killed.remove(&victim);
                self.end_event(event);
            }
            Action::DiskFull { spare_kib, ms } => {
                let victim = self.follower(leader)?;
                let event = self.start_event(
                    action,
                    format!("follower {victim} on a disk with {spare_kib} KiB free for {ms} ms"),
                );
                self.cluster.kill9(victim)?;
                self.killed.insert(victim);
                self.cluster
                    .restart_on_small_disk(victim, spare_kib * 1024)?;
                self.sleep_ms(ms);
                if self.cluster.is_running(victim) {
                    self.cluster.kill9(victim)?;
                } else {
                    self.note(format!(
                        "node {victim} exited on the full disk (expected: a failed write stops it)"
                    ));
                }
                self.cluster.restore_disk(victim)?;
                self.cluster.restart(victim, &[])?;
                self.killed.remove(&victim);
                self.end_event(event);
            }
            Action::DiskLoss => {
                let victim = self.follower(leader)?;
                self.lose_disk(action, victim)?;
            }
            Action::DiskCorrupt { damage, seed } => {
                let victim = self.follower(leader)?;
                self.damage_disk(action, victim, damage, seed)?;
            }
            Action::Clock { skew_hours, ms } => {
                if !self.cluster.supports_env() {
                    anyhow::bail!("skipped: needs the network-namespace cluster (run as root)");
                }
                if !std::path::Path::new(FAKETIME_LIB).exists() {
                    anyhow::bail!("skipped: {FAKETIME_LIB} is missing (Debian package faketime)");
                }
                let victim = self.follower(leader)?;
                let event = self.start_event(
                    action,
                    format!("node {victim} restarted with its wall clock {skew_hours:+} h off for {ms} ms"),
                );
                let env = [
                    ("LD_PRELOAD".to_string(), FAKETIME_LIB.to_string()),
                    ("FAKETIME".to_string(), format!("{skew_hours:+}h")),
                    // Without this tokio's timers hang (see NOTES.md).
                    ("FAKETIME_DONT_FAKE_MONOTONIC".to_string(), "1".to_string()),
                ];
                self.cluster.kill9(victim)?;
                self.killed.insert(victim);
                self.cluster.restart(victim, &env)?;
                self.sleep_ms(ms);
                self.cluster.kill9(victim)?;
                self.cluster.restart(victim, &[])?;
                self.killed.remove(&victim);
                self.end_event(event);
            }
            Action::ClockRate {
                leader: of_leader,
                rate_permille,
                ms,
            } => {
                let victim = if of_leader {
                    leader
                } else {
                    self.follower(leader)?
                };
                let role = if of_leader { "leader" } else { "follower" };
                let rate = crate::schedule::rate_text(rate_permille);
                let event = self.start_event(
                    action,
                    format!(
                        "{role} {victim} restarted with its monotonic clock at {rate}x for {ms} ms"
                    ),
                );
                self.cluster.kill9(victim)?;
                self.killed.insert(victim);
                self.cluster
                    .restart_with_args(victim, &["--clock-rate".to_string(), rate])?;
                self.sleep_ms(ms);
                self.cluster.kill9(victim)?;
                self.cluster.restart(victim, &[])?;
                self.killed.remove(&victim);
                self.end_event(event);
            }
            Action::Partition { shape, ms } => {
                let links = self.links(shape, leader);
                let event = self.start_event(
                    action,
                    format!("{shape:?} (leader {leader}) for {ms} ms: dropped links {links:?}"),
                );
                for (from, to) in &links {
                    self.cluster.drop_link(*from, *to)?;
                }
                self.sleep_ms(ms);
                self.cluster.heal_network()?;
                self.end_event(event);
            }
            Action::Latency {
                leader: of_leader,
                delay_ms,
                jitter_ms,
                ms,
            } => {
                let members = self.cluster.members();
                let pairs: Vec<(u64, u64)> = members
                    .iter()
                    .flat_map(|a| members.iter().map(move |b| (*a, *b)))
                    .filter(|(a, b)| a < b && (!of_leader || *a == leader || *b == leader))
                    .collect();
                let links = self.cluster.links().context(NO_LINKS)?;
                let (delay, jitter) = (
                    Duration::from_millis(delay_ms),
                    Duration::from_millis(jitter_ms),
                );
                for (a, b) in &pairs {
                    links.delay_between(*a, *b, delay, jitter)?;
                }
                let event = self.start_event(
                    action,
                    format!(
                        "links {pairs:?} (leader {leader}) delayed {delay_ms} ± {jitter_ms} ms for {ms} ms"
                    ),
                );
                self.sleep_ms(ms);
                self.cluster.heal_network()?;
                self.end_event(event);
            }
            Action::Duplicate { from_leader, ms } => {
                let links: Vec<(u64, u64)> = self
                    .followers(leader)
                    .iter()
                    .map(|f| {
                        if from_leader {
                            (leader, *f)
                        } else {
                            (*f, leader)
                        }
                    })
                    .collect();
                let proxies = self.cluster.links().context(NO_LINKS)?;
                let replays_before = proxies.replays(&links);
                for (from, to) in &links {
                    proxies.duplicate(*from, *to)?;
                }
                let detail = format!(
                    "connections on links {links:?} (leader {leader}) recorded for {ms} ms"
                );
                let event = self.start_event(action, detail.clone());
                self.sleep_ms(ms);
                // Healing ends the recorded connections, which replays them.
                self.cluster.heal_network()?;
                self.sleep_ms(REPLAY_SETTLE_MS);
                let replays = self
                    .cluster
                    .links()
                    .map_or(0, |p| p.replays(&links).saturating_sub(replays_before));
                self.rename_event(event, format!("{detail}, {replays} replayed"));
                self.end_event(event);
            }
        }
        self.cluster.wait_for_leader(LEADER_WAIT)?;
        Ok(())
    }

    fn rename_event(&self, index: usize, detail: String) {
        let mut faults = self.shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(event) = faults.get_mut(index) {
            event.detail = detail;
        }
    }

    /// The directed links a partition shape cuts.
    fn links(&mut self, shape: PartitionShape, leader: u64) -> Vec<(u64, u64)> {
        let members = self.cluster.members();
        let both = |a: &[u64], b: &[u64]| {
            let mut links = Vec::new();
            for x in a {
                for y in b {
                    links.push((*x, *y));
                    links.push((*y, *x));
                }
            }
            links
        };
        let others: Vec<u64> = members.iter().copied().filter(|m| *m != leader).collect();
        match shape {
            PartitionShape::LeaderIsolated => both(&[leader], &others),
            PartitionShape::OneWay => others.iter().map(|o| (leader, *o)).collect(),
            PartitionShape::MajorityMinority => {
                let mut shuffled = members.clone();
                shuffled.shuffle(&mut self.rng);
                let (minority, majority) = shuffled.split_at(members.len() / 2);
                both(minority, majority)
            }
            PartitionShape::Bridge => {
                let mut ring = members.clone();
                ring.shuffle(&mut self.rng);
                let n = ring.len();
                if n <= 3 {
                    // Two nodes cannot see each other; the third (the bridge) sees both.
                    return both(&ring[..1], &ring[1..2.min(n)]);
                }
                let mut links = Vec::new();
                for i in 0..n {
                    for j in 0..n {
                        let distance = (i + n - j) % n;
                        if distance > 1 && distance < n - 1 {
                            links.push((ring[i], ring[j]));
                        }
                    }
                }
                links
            }
        }
    }

    fn publish_endpoints(&self) {
        let endpoints = self.cluster.endpoints();
        *self.endpoints.write().unwrap_or_else(|e| e.into_inner()) = endpoints;
    }

    /// Resumes paused nodes, restarts stopped members, heals the network, waits for a leader.
    pub fn heal_all(&mut self) {
        for id in std::mem::take(&mut self.paused) {
            if let Err(err) = self.cluster.resume(id) {
                self.note(format!("heal: SIGCONT node {id}: {err:#}"));
            }
        }
        if let Err(err) = self.cluster.heal_network() {
            self.note(format!("heal: network: {err:#}"));
        }
        for id in self.cluster.members() {
            if let Err(err) = self.cluster.restore_disk(id) {
                self.note(format!("heal: disk of node {id}: {err:#}"));
            }
        }
        self.killed.clear();
        for id in self.cluster.members() {
            if !self.cluster.is_running(id) {
                if let Err(err) = self.cluster.restart(id, &[]) {
                    self.note(format!("heal: restart node {id}: {err:#}"));
                }
            }
        }
        self.publish_endpoints();
        if let Err(err) = self.cluster.wait_for_leader(LEADER_WAIT) {
            self.note(format!("heal: no leader: {err:#}"));
        }
        self.refresh_leader();
    }
}
