//! The fault schedule: which fault happens when, drawn from a seed before the run starts.
//!
//! The plan names roles ("the leader", "a follower", "a majority"), not node ids: which node
//! leads at that moment is only known at run time. So one seed always yields the same sequence
//! of actions at the same offsets, and `--print-schedule` can show it without a cluster.

use std::fmt;
use std::time::Duration;

use anyhow::bail;
use quorum_testkit::disk::Corruption;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A class of fault, as named by `--faults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultClass {
    /// kill -9 and restart from disk.
    Kill,
    /// SIGSTOP / SIGCONT of the leader.
    Pause,
    /// Network partitions between nodes (network namespaces + iptables as root, the link
    /// proxies otherwise).
    Partition,
    /// Remove a voter (maybe the leader), add a new node.
    Membership,
    /// Low snapshot threshold, and a follower that must catch up by snapshot.
    Snapshot,
    /// A node restarted with its wall clock skewed by hours (libfaketime), or with its
    /// monotonic clock running up to [`CLOCK_RATE_SKEW_PERMILLE_MAX`] fast or slow
    /// (`quorum node --clock-rate`).
    Clock,
    /// A minority node's disk: total loss of its data, a full disk, a torn last log record,
    /// a bit flip or truncation in its log or newest snapshot.
    Disk,
    /// A power cut of a majority or of every node: kill -9 while the nodes keep unsynced log
    /// writes in memory (`quorum node --emulate-power-loss`), so those writes are lost.
    Power,
    /// Latency with jitter on the links of the leader or of every node (the link proxies):
    /// messages slow down and connections reorder against each other.
    Latency,
    /// Duplication: the connections one node opens to another are recorded and replayed once
    /// each into a fresh connection (the link proxies), so whole RPCs arrive twice.
    Duplicate,
}

impl FaultClass {
    /// Every class `all` expands to, in order.
    pub const ALL: [FaultClass; 10] = [
        FaultClass::Kill,
        FaultClass::Pause,
        FaultClass::Partition,
        FaultClass::Membership,
        FaultClass::Snapshot,
        FaultClass::Clock,
        FaultClass::Disk,
        FaultClass::Power,
        FaultClass::Latency,
        FaultClass::Duplicate,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            FaultClass::Kill => "kill",
            FaultClass::Pause => "pause",
            FaultClass::Partition => "partition",
            FaultClass::Membership => "membership",
            FaultClass::Snapshot => "snapshot",
            FaultClass::Clock => "clock",
            FaultClass::Disk => "disk",
            FaultClass::Power => "power",
            FaultClass::Latency => "latency",
            FaultClass::Duplicate => "duplicate",
        }
    }

    /// Parses `--faults`: a comma-separated list of class names, or `all`, or `none`.
    pub fn parse_list(text: &str) -> anyhow::Result<Vec<FaultClass>> {
        let mut classes = Vec::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "all" => classes.extend(FaultClass::ALL),
                "none" => {}
                _ => match FaultClass::ALL.iter().find(|c| c.name() == word) {
                    Some(class) => classes.push(*class),
                    None => bail!(
                        "unknown fault {word:?}; expected a comma-separated list of {} or all",
                        FaultClass::ALL.map(FaultClass::name).join(", ")
                    ),
                },
            }
        }
        classes.sort();
        classes.dedup();
        Ok(classes)
    }
}

impl fmt::Display for FaultClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The largest monotonic clock-rate skew the `clock` fault gives a node, in per mille: ±5 %.
/// The read lease is 0.9 × `election_timeout_min` (`RaftTuning::read_lease_duration`), so
/// between a leader and its followers quorum tolerates about 10 % of rate drift whatever the
/// timings; ±5 % on one node stays inside that.
pub const CLOCK_RATE_SKEW_PERMILLE_MAX: u32 = 50;

/// Which nodes a kill takes down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillTarget {
    /// One follower.
    Follower,
    /// The leader.
    Leader,
    /// A majority of the voters (the cluster stops serving writes until they return).
    Majority,
    /// Every node.
    All,
}

/// How the network is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionShape {
    /// The leader alone on one side.
    LeaderIsolated,
    /// A random minority against the majority.
    MajorityMinority,
    /// Each node sees a majority, no two the same majority (a ring of visibility).
    Bridge,
    /// The leader's messages to the others are dropped, theirs to it still arrive.
    OneWay,
}

/// One fault with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// kill -9 `target`, wait `down_ms`, restart from disk.
    Kill {
        /// Which nodes.
        target: KillTarget,
        /// How long they stay down.
        down_ms: u64,
    },
    /// A power cut: kill -9 `target` (nodes that hold unsynced writes in memory), wait
    /// `down_ms`, restart from what reached the disk.
    PowerCut {
        /// Which nodes: a majority or all.
        target: KillTarget,
        /// How long they stay down.
        down_ms: u64,
    },
    /// SIGSTOP the leader for `ms`, then SIGCONT.
    Pause {
        /// Pause length; shorter or longer than the election timeout.
        ms: u64,
    },
    /// Cut the network in `shape` for `ms`, then heal.
    Partition {
        /// The cut.
        shape: PartitionShape,
        /// How long it lasts.
        ms: u64,
    },
    /// Remove a voter (the leader when `leader`), stop it, then add a fresh node.
    Membership {
        /// Remove the leader rather than a follower.
        leader: bool,
    },
    /// Stop a follower for `down_ms` while the log is compacted past it, then restart it so
    /// it must catch up by snapshot.
    Snapshot {
        /// How long it stays down.
        down_ms: u64,
    },
    /// Restart a follower with its wall clock moved by `skew_hours`, run `ms`, restart it
    /// with the true clock.
    Clock {
        /// Hours added to the wall clock (negative: the past).
        skew_hours: i64,
        /// How long the skewed node runs.
        ms: u64,
    },
    /// Restart the leader (when `leader`) or a follower with its monotonic clock running at
    /// `rate_permille / 1000` of real time (`quorum node --clock-rate`), run `ms`, restart it
    /// at the true rate.
    ClockRate {
        /// Skew the leader rather than a follower.
        leader: bool,
        /// The clock rate in per mille (1000 = real time).
        rate_permille: u32,
        /// How long the skewed node runs.
        ms: u64,
    },
    /// kill -9 a follower, delete its data directory, restart it: total loss of its disk.
    DiskLoss,
    /// kill -9 a follower, damage its data directory as `damage` says (at a place drawn from
    /// `seed`), restart it. A torn tail must be cut and the node rejoin; other damage must be
    /// detected (the node refuses to start naming the file, and is replaced by a new member)
    /// or repaired from its peers, never served.
    DiskCorrupt {
        /// What is damaged and how.
        damage: DiskDamage,
        /// Chooses the byte.
        seed: u64,
    },
    /// Restart a follower on a tmpfs with `spare_kib` KiB free for `ms`, then give it its
    /// space back: writes must be refused cleanly and the node must recover.
    DiskFull {
        /// Free space beyond the node's current data, in KiB.
        spare_kib: u64,
        /// How long the node runs on the small disk.
        ms: u64,
    },
    /// Delay every byte on the links of the leader (when `leader`) or between all nodes by
    /// `delay_ms` ± `jitter_ms` for `ms`.
    Latency {
        /// Only the leader's links, both ways.
        leader: bool,
        /// Mean one-way delay per proxy hop.
        delay_ms: u64,
        /// Uniform jitter around it (reorders connections).
        jitter_ms: u64,
        /// How long it lasts.
        ms: u64,
    },
    /// Record the connections the leader opens to the followers (when `from_leader`) or the
    /// followers to the leader, for `ms`, then replay each once into a fresh connection.
    Duplicate {
        /// The leader's connections to its followers (AppendEntries, heartbeats) rather than
        /// the followers' to the leader (forwarded writes, read indexes, votes).
        from_leader: bool,
        /// How long connections are recorded.
        ms: u64,
    },
}

impl Action {
    /// The class this action belongs to.
    pub fn class(&self) -> FaultClass {
        match self {
            Action::Kill { .. } => FaultClass::Kill,
            Action::Pause { .. } => FaultClass::Pause,
            Action::Partition { .. } => FaultClass::Partition,
            Action::Membership { .. } => FaultClass::Membership,
            Action::Snapshot { .. } => FaultClass::Snapshot,
            Action::Clock { .. } | Action::ClockRate { .. } => FaultClass::Clock,
            Action::DiskLoss | Action::DiskFull { .. } | Action::DiskCorrupt { .. } => {
                FaultClass::Disk
            }
            Action::PowerCut { .. } => FaultClass::Power,
            Action::Latency { .. } => FaultClass::Latency,
            Action::Duplicate { .. } => FaultClass::Duplicate,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Kill { target, down_ms } => {
                write!(f, "kill -9 {target:?} for {down_ms} ms, restart from disk")
            }
            Action::PowerCut { target, down_ms } => write!(
                f,
                "power cut of {target:?} for {down_ms} ms (unsynced writes lost), restart"
            ),
            Action::Pause { ms } => write!(f, "SIGSTOP the leader for {ms} ms"),
            Action::Partition { shape, ms } => write!(f, "partition {shape:?} for {ms} ms"),
            Action::Membership { leader: true } => write!(f, "remove the leader, add a node"),
            Action::Membership { leader: false } => write!(f, "remove a follower, add a node"),
            Action::Snapshot { down_ms } => {
                write!(
                    f,
                    "stop a follower {down_ms} ms, restart: catch up by snapshot"
                )
            }
            Action::Clock { skew_hours, ms } => {
                write!(
                    f,
                    "run a follower {ms} ms with its clock {skew_hours:+} h off"
                )
            }
            Action::ClockRate {
                leader,
                rate_permille,
                ms,
            } => write!(
                f,
                "run {} {ms} ms with its monotonic clock at {}x",
                if *leader { "the leader" } else { "a follower" },
                rate_text(*rate_permille)
            ),
            Action::DiskLoss => write!(f, "wipe a follower's data directory (total loss)"),
            Action::DiskCorrupt { damage, .. } => {
                write!(f, "{damage} of a stopped follower, restart")
            }
            Action::DiskFull { spare_kib, ms } => write!(
                f,
                "run a follower {ms} ms on a disk with {spare_kib} KiB free (fills up)"
            ),
            Action::Latency {
                leader,
                delay_ms,
                jitter_ms,
                ms,
            } => write!(
                f,
                "delay {} by {delay_ms} ± {jitter_ms} ms for {ms} ms",
                if *leader {
                    "the leader's links"
                } else {
                    "every link"
                }
            ),
            Action::Duplicate { from_leader, ms } => write!(
                f,
                "record the connections {} for {ms} ms, replay each once",
                if *from_leader {
                    "the leader opens to its followers"
                } else {
                    "the followers open to the leader"
                }
            ),
        }
    }
}

/// A rate in per mille as `quorum node --clock-rate` takes it, e.g. 1050 -> "1.050".
pub fn rate_text(rate_permille: u32) -> String {
    format!("{}.{:03}", rate_permille / 1000, rate_permille % 1000)
}

/// What [`Action::DiskCorrupt`] does to a follower's data directory (see `quorum_testkit::disk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskDamage {
    /// The newest log file cut in the middle of its last record.
    TornTail,
    /// A bit flip or a truncation anywhere in the written part of a log file.
    Log(Corruption),
    /// A bit flip or a truncation in the newest snapshot (the log when there is none yet).
    Snapshot(Corruption),
}

impl fmt::Display for DiskDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = |c: &Corruption| match c {
            Corruption::BitFlip => "a bit flip",
            Corruption::Truncate => "a truncation",
        };
        match self {
            DiskDamage::TornTail => write!(f, "a torn last log record"),
            DiskDamage::Log(c) => write!(f, "{} in the Raft log", how(c)),
            DiskDamage::Snapshot(c) => write!(f, "{} in the newest snapshot", how(c)),
        }
    }
}

/// A planned fault: `action` starts `at` after the run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedFault {
    /// Offset from the run's start.
    pub at: Duration,
    /// What to do.
    pub action: Action,
}

/// Draws the schedule: one fault every `interval` from `interval` until `duration`, each of a
/// class drawn from `classes`. Actions that overrun delay the ones after them at run time.
pub fn plan(
    seed: u64,
    duration: Duration,
    interval: Duration,
    classes: &[FaultClass],
) -> Vec<PlannedFault> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut faults = Vec::new();
    if classes.is_empty() || interval.is_zero() {
        return faults;
    }
    let mut at = interval;
    while at < duration {
        let class = classes[rng.gen_range(0..classes.len())];
        faults.push(PlannedFault {
            at,
            action: draw(&mut rng, class),
        });
        at += interval;
    }
    faults
}

fn draw(rng: &mut StdRng, class: FaultClass) -> Action {
    match class {
        FaultClass::Kill => Action::Kill {
            target: [
                KillTarget::Follower,
                KillTarget::Leader,
                KillTarget::Majority,
                KillTarget::All,
            ][rng.gen_range(0..4)],
            down_ms: rng.gen_range(200..2_000),
        },
        FaultClass::Power => Action::PowerCut {
            target: [KillTarget::Majority, KillTarget::All][rng.gen_range(0..2)],
            down_ms: rng.gen_range(200..2_000),
        },
        // The election timeout under test timings is 250-500 ms: pauses below it must not
        // cost leadership, pauses above it must, and a deposed leader must not serve.
        FaultClass::Pause => Action::Pause {
            ms: if rng.gen_bool(0.5) {
                rng.gen_range(50..200)
            } else {
                rng.gen_range(1_000..4_000)
            },
        },
        FaultClass::Partition => Action::Partition {
            shape: [
                PartitionShape::LeaderIsolated,
                PartitionShape::MajorityMinority,
                PartitionShape::Bridge,
                PartitionShape::OneWay,
            ][rng.gen_range(0..4)],
            ms: rng.gen_range(1_000..5_000),
        },
        FaultClass::Membership => Action::Membership {
            leader: rng.gen_bool(0.5),
        },
        FaultClass::Snapshot => Action::Snapshot {
            down_ms: rng.gen_range(1_000..3_000),
        },
        FaultClass::Clock if rng.gen_bool(0.5) => Action::Clock {
            skew_hours: if rng.gen_bool(0.5) { 3 } else { -5 },
            ms: rng.gen_range(1_000..3_000),
        },
        // Long enough for several leases and election timeouts on the skewed clock.
        FaultClass::Clock => {
            let skew = rng.gen_range(20..=CLOCK_RATE_SKEW_PERMILLE_MAX);
            Action::ClockRate {
                leader: rng.gen_bool(0.5),
                rate_permille: if rng.gen_bool(0.5) {
                    1000 + skew
                } else {
                    1000 - skew
                },
                ms: rng.gen_range(2_000..5_000),
            }
        }
        // Mostly below the election timeout (250-500 ms under test timings, and a round trip
        // crosses a proxy twice); sometimes above it, so leaders are deposed by slowness alone.
        FaultClass::Latency => {
            let delay_ms = if rng.gen_bool(0.7) {
                rng.gen_range(5..60)
            } else {
                rng.gen_range(100..300)
            };
            Action::Latency {
                leader: rng.gen_bool(0.5),
                delay_ms,
                jitter_ms: rng.gen_range(0..=delay_ms),
                ms: rng.gen_range(2_000..6_000),
            }
        }
        FaultClass::Duplicate => Action::Duplicate {
            from_leader: rng.gen_bool(0.5),
            ms: rng.gen_range(1_000..4_000),
        },
        FaultClass::Disk => match rng.gen_range(0..4) {
            0 => Action::DiskLoss,
            1 => Action::DiskFull {
                spare_kib: rng.gen_range(64..1024),
                ms: rng.gen_range(1_000..4_000),
            },
            2 => Action::DiskCorrupt {
                damage: DiskDamage::TornTail,
                seed: rng.gen(),
            },
            _ => {
                let how = [Corruption::BitFlip, Corruption::Truncate][rng.gen_range(0..2)];
                let damage = [DiskDamage::Log(how), DiskDamage::Snapshot(how)][rng.gen_range(0..2)];
                Action::DiskCorrupt {
                    damage,
                    seed: rng.gen(),
                }
            }
        },
    }
}

/// Parses a duration such as `500ms`, `30s`, `5m`, `1h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let Ok(number) = number.parse::<f64>() else {
        bail!("invalid duration {text:?}: expected e.g. 500ms, 30s, 5m, 1h");
    };
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => bail!("invalid duration unit {other:?} in {text:?}: use ms, s, m or h"),
    };
    if !seconds.is_finite() || !(0.0..=1e9).contains(&seconds) {
        bail!("duration {text:?} is out of range");
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let classes = FaultClass::parse_list("all").unwrap();
        let a = plan(
            7,
            Duration::from_secs(300),
            Duration::from_secs(5),
            &classes,
        );
        let b = plan(
            7,
            Duration::from_secs(300),
            Duration::from_secs(5),
            &classes,
        );
        let c = plan(
            8,
            Duration::from_secs(300),
            Duration::from_secs(5),
            &classes,
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 59);
        for class in FaultClass::ALL {
            assert!(a.iter().any(|f| f.action.class() == class), "{class}");
        }
    }

    #[test]
    fn disk_faults_include_every_kind_of_damage() {
        let plan = plan(
            3,
            Duration::from_secs(600),
            Duration::from_secs(1),
            &[FaultClass::Disk],
        );
        let damages: Vec<DiskDamage> = plan
            .iter()
            .filter_map(|f| match f.action {
                Action::DiskCorrupt { damage, .. } => Some(damage),
                _ => None,
            })
            .collect();
        for how in [Corruption::BitFlip, Corruption::Truncate] {
            for damage in [
                DiskDamage::TornTail,
                DiskDamage::Log(how),
                DiskDamage::Snapshot(how),
            ] {
                assert!(damages.contains(&damage), "{damage} never drawn");
            }
        }
        assert!(plan.iter().any(|f| f.action == Action::DiskLoss));
    }

    #[test]
    fn clock_faults_skew_wall_clocks_and_clock_rates_within_the_bound() {
        let plan = plan(
            5,
            Duration::from_secs(200),
            Duration::from_secs(1),
            &[FaultClass::Clock],
        );
        let rates: Vec<(bool, u32)> = plan
            .iter()
            .filter_map(|f| match f.action {
                Action::ClockRate {
                    leader,
                    rate_permille,
                    ..
                } => Some((leader, rate_permille)),
                _ => None,
            })
            .collect();
        assert!(plan
            .iter()
            .any(|f| matches!(f.action, Action::Clock { .. })));
        for (leader, fast) in [(true, true), (true, false), (false, true), (false, false)] {
            assert!(
                rates
                    .iter()
                    .any(|&(l, rate)| l == leader && (rate > 1000) == fast),
                "leader {leader}, fast {fast} never drawn"
            );
        }
        for (_, rate) in rates {
            assert!(
                rate.abs_diff(1000) <= CLOCK_RATE_SKEW_PERMILLE_MAX,
                "{rate}"
            );
            assert_ne!(rate, 1000);
        }
        assert_eq!(rate_text(950), "0.950");
        assert_eq!(rate_text(1050), "1.050");
    }

    #[test]
    fn fault_lists_and_durations_parse() {
        assert_eq!(
            FaultClass::parse_list("pause,kill,kill").unwrap(),
            vec![FaultClass::Kill, FaultClass::Pause]
        );
        assert!(FaultClass::parse_list("kill,flood").is_err());
        assert_eq!(
            FaultClass::parse_list("power").unwrap(),
            vec![FaultClass::Power]
        );
        assert!(FaultClass::parse_list("all")
            .unwrap()
            .contains(&FaultClass::Power));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
