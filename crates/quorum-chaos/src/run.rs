//! What `chaos` and `verify` share: starting the clients, the progress line, the final reads,
//! turning the clients' records into one [`History`], and the verdict.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quorum_check::{Consistency, FaultEvent, History};
use tokio::task::JoinHandle;

use crate::nemesis::{Nemesis, Shared};
use crate::queue::QueueWorkload;
use crate::recorder::Recorder;
use crate::report::RunFacts;
use crate::schedule::{self, FaultClass, PlannedFault};
use crate::workload::{Client, Discovery, Endpoint, Endpoints, Role, Workload};
use crate::{ChaosArgs, WorkloadArgs};

/// The clients of one run while they work.
pub struct Session {
    /// The run's clock and counters.
    pub recorder: Arc<Recorder>,
    /// Keys and timeouts.
    pub workload: Arc<Workload>,
    /// Where clients connect; the fault injector updates it.
    pub endpoints: Endpoints,
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<Client>>,
}

impl Session {
    /// Validates the workload flags and starts the clients against `endpoints`.
    pub fn start(
        args: &WorkloadArgs,
        prefix: String,
        seed: u64,
        endpoints: Vec<Endpoint>,
    ) -> anyhow::Result<Session> {
        Session::start_with(args, prefix, seed, endpoints, Discovery::Direct)
    }

    /// [`Session::start`] with clients that find where to send by `discovery`.
    pub fn start_with(
        args: &WorkloadArgs,
        prefix: String,
        seed: u64,
        endpoints: Vec<Endpoint>,
        discovery: Discovery,
    ) -> anyhow::Result<Session> {
        if args.clients == 0 || args.keys == 0 || args.op_timeout_ms == 0 {
            anyhow::bail!("--clients, --keys and --op-timeout-ms must be at least 1");
        }
        let readonly = args.readonly_clients.unwrap_or(args.clients / 5);
        if readonly >= args.clients {
            anyhow::bail!(
                "--readonly-clients ({readonly}) must be fewer than --clients ({}): the final \
                 reads need a linearizable client",
                args.clients
            );
        }
        let mut workload = Workload::new(
            prefix,
            args.keys,
            Duration::from_millis(args.op_timeout_ms),
            seed,
        );
        workload.discovery = discovery;
        workload.sticky = args.sticky_clients;
        workload.expiry = args.expiry;
        // Queue clients come after the others, so the others' ids (and choices) do not move.
        let mut roles = vec![Role::Mixed; args.clients];
        if args.queue {
            if args.queue_producers == 0 || args.queue_consumers == 0 {
                anyhow::bail!("--queue needs at least one producer and one consumer");
            }
            roles.extend(std::iter::repeat_n(Role::Producer, args.queue_producers));
            let first = roles.len() as u32;
            roles.extend(std::iter::repeat_n(Role::Consumer, args.queue_consumers));
            workload.queue = Some(QueueWorkload {
                consumers: (first..roles.len() as u32).collect(),
            });
        }
        let workload = Arc::new(workload);
        let recorder = Recorder::new();
        let endpoints: Endpoints = Arc::new(std::sync::RwLock::new(endpoints));
        let stop = Arc::new(AtomicBool::new(false));
        let handles = (0..roles.len())
            .map(|i| {
                // The READONLY clients are the last of the mixed ones, so client 0 always reads
                // linearizably; queue clients always do.
                let consistency = if (args.clients - readonly..args.clients).contains(&i) {
                    Consistency::ReadOnly
                } else {
                    Consistency::Linearizable
                };
                let mut client = Client::new(i as u32, consistency, roles[i]);
                let (workload, endpoints, recorder, stop) = (
                    workload.clone(),
                    endpoints.clone(),
                    recorder.clone(),
                    stop.clone(),
                );
                tokio::spawn(async move {
                    client.run(&workload, &endpoints, &recorder, &stop).await;
                    client
                })
            })
            .collect();
        Ok(Session {
            recorder,
            workload,
            endpoints,
            stop,
            handles,
        })
    }

    /// Stops the clients (each finishes its current operation, bounded by the op timeout),
    /// then has every linearizable client read every key once more.
    pub async fn finish(self) -> anyhow::Result<Vec<Client>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut clients = Vec::new();
        for handle in self.handles {
            clients.push(handle.await?);
        }
        let readers: Vec<JoinHandle<Client>> = clients
            .into_iter()
            .map(|mut client| {
                let (workload, endpoints, recorder) = (
                    self.workload.clone(),
                    self.endpoints.clone(),
                    self.recorder.clone(),
                );
                tokio::spawn(async move {
                    if client.consistency == Consistency::Linearizable {
                        client.final_reads(&workload, &endpoints, &recorder).await;
                    }
                    client
                })
            })
            .collect();
        let mut clients = Vec::new();
        for reader in readers {
            clients.push(reader.await?);
        }
        Ok(clients)
    }
}

/// Runs `plan` with `nemesis` on a thread of its own (cluster controls block) until
/// `duration`, heals, and hands the injector back.
pub async fn inject(
    mut nemesis: Nemesis,
    plan: Vec<PlannedFault>,
    duration: Duration,
) -> anyhow::Result<Nemesis> {
    let injector = std::thread::spawn(move || {
        nemesis.run(&plan, duration);
        nemesis
    });
    tokio::task::spawn_blocking(move || injector.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the fault injector panicked"))
}

/// The fault schedule of `seed` and its report lines; `None` when `--print-schedule` only
/// asked to see it (printed here, with the seed).
pub fn plan_or_print(
    seed: u64,
    args: &ChaosArgs,
    classes: &[FaultClass],
) -> Option<(Vec<PlannedFault>, Vec<String>)> {
    let plan = schedule::plan(seed, args.duration, args.interval, classes);
    let lines: Vec<String> = plan
        .iter()
        .map(|f| format!("at {:.1} s: {}", f.at.as_secs_f64(), f.action))
        .collect();
    if args.print_schedule {
        println!("seed {seed}");
        for line in &lines {
            println!("{line}");
        }
        return None;
    }
    Some((plan, lines))
}

/// `node=addr` for each endpoint, for the report.
pub fn endpoint_names(endpoints: &[Endpoint]) -> Vec<String> {
    endpoints
        .iter()
        .map(|e| format!("{}={}", e.node, e.addr))
        .collect()
}

/// [`history`] with the faults the injector recorded in `shared`; its notes go to `facts`.
pub fn history_with_faults(clients: Vec<Client>, shared: &Shared, facts: &mut RunFacts) -> History {
    let faults = std::mem::take(&mut *shared.faults.lock().unwrap_or_else(|e| e.into_inner()));
    facts.notes.extend(
        shared
            .notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..),
    );
    history(clients, faults)
}

/// Merges the clients' operations (sorted by id) and the faults into one history.
pub fn history(clients: Vec<Client>, faults: Vec<FaultEvent>) -> History {
    let mut ops: Vec<_> = clients.into_iter().flat_map(|c| c.ops).collect();
    ops.sort_by_key(|op| op.id);
    History { ops, faults }
}

/// Prints a progress line to stderr every second until aborted; `faults` adds the fault
/// count and the leader (chaos), which verify cannot know.
pub fn spawn_progress(
    recorder: Arc<Recorder>,
    shared: Arc<Shared>,
    faults: bool,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let (ok, failed, unknown) = recorder.counts();
            let elapsed = recorder.elapsed().as_secs_f64();
            if !faults {
                eprintln!("[{elapsed:>5.1}s] ops ok {ok} failed {failed} unknown {unknown}");
                continue;
            }
            let (count, last) = {
                let faults = shared.faults.lock().unwrap_or_else(|e| e.into_inner());
                let last = faults
                    .last()
                    .filter(|f| f.end_ns.is_none())
                    .map(|f| format!(" (now: {} {})", f.class, f.detail))
                    .unwrap_or_default();
                (faults.len(), last)
            };
            let leader = match shared.leader.load(Ordering::Relaxed) {
                0 => "none".to_string(),
                id => id.to_string(),
            };
            eprintln!(
                "[{elapsed:>5.1}s] ops ok {ok} failed {failed} unknown {unknown} | faults {count}{last} | leader {leader}"
            );
        }
    })
}

/// Sets `shared.abort` on Ctrl-C, so the run heals the cluster and stops cleanly.
pub fn spawn_interrupt(shared: Arc<Shared>) -> JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("chaos: interrupted; healing the cluster and stopping");
            shared.abort.store(true, Ordering::Relaxed);
        }
    })
}

/// A random seed when none was given (time and process id: reproducibility comes from
/// printing it, not from its quality).
/// The multi-threaded runtime every `quorum chaos` / `quorum verify` run uses.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn seed_or_random(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        (nanos ^ (u64::from(std::process::id()) << 40)) % 1_000_000_000
    })
}
