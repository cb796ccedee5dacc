//! Runs a plan: builds the runtime, connects the clients, starts the clock, prints progress
//! once per second, stops on the deadline, the request budget or Ctrl-C, and merges what the
//! clients measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::task::JoinSet;

use crate::args::Plan;
use crate::control::RunControl;
use crate::report::progress_line;
use crate::stats::{merge_all, GapTracker, Recorder, Tally};

/// How often the progress line is printed.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// How long after the send deadline clients may take to drain before they are abandoned:
/// every wait is bounded by `--timeout-ms`, so this is only a backstop.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What a finished run measured.
#[derive(Debug)]
pub struct Measured {
    pub tally: Tally,
    /// From the start of measuring to the end of the last client.
    pub measured: Duration,
    pub max_gap: Duration,
}

/// The clock, the gap tracker and every client's tally of one run.
#[derive(Debug)]
pub struct Harness {
    pub control: Arc<RunControl>,
    gaps: Arc<GapTracker>,
    tallies: Vec<Arc<Mutex<Tally>>>,
}

impl Harness {
    /// Starts the clock now: call it after the clients have connected.
    pub fn start(plan: &Plan) -> Harness {
        let control = Arc::new(RunControl::start(plan, Instant::now()));
        let gaps = Arc::new(GapTracker::new(control.measure_start));
        Harness {
            control,
            gaps,
            tallies: Vec::new(),
        }
    }

    /// A recorder for one more client.
    pub fn recorder(&mut self) -> Recorder {
        let tally = Arc::new(Mutex::new(Tally::new()));
        self.tallies.push(tally.clone());
        Recorder {
            tally,
            gaps: self.gaps.clone(),
        }
    }

    /// Waits for every client task, printing progress each second and stopping the run on
    /// Ctrl-C, and merges the results.
    pub async fn finish(self, mut clients: JoinSet<()>) -> Measured {
        let control = &self.control;
        let mut ticker = tokio::time::interval(PROGRESS_INTERVAL);
        ticker.tick().await;
        let mut last_ok = 0;
        let mut last_tick = Instant::now();
        let hard_stop = control.send_deadline + control.timeout + DRAIN_GRACE;
        let mut interrupted = false;
        loop {
            tokio::select! {
                joined = clients.join_next() => match joined {
                    None => break,
                    Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Some(_) => {}
                },
                _ = ticker.tick() => {
                    let now = Instant::now();
                    let tally = merge_all(&self.tallies);
                    eprintln!("{}", progress_line(
                        now - control.origin,
                        now < control.measure_start,
                        tally.ok - last_ok,
                        now - last_tick,
                        &tally,
                    ));
                    last_ok = tally.ok;
                    last_tick = now;
                    if now > hard_stop {
                        eprintln!("clients did not drain in time; abandoning them");
                        clients.abort_all();
                    }
                }
                _ = tokio::signal::ctrl_c(), if !interrupted => {
                    eprintln!("interrupted: stopping the run");
                    interrupted = true;
                    control.stop();
                }
            }
        }
        let end = Instant::now();
        Measured {
            tally: merge_all(&self.tallies),
            measured: end.saturating_duration_since(control.measure_start),
            max_gap: self.gaps.max_gap(end),
        }
    }
}

/// The runtime the generator runs on: one thread (`threads == 1`, the default: no work
/// stealing or cross-thread wake-ups, which matters when the generator shares two cores with
/// the servers it measures) or a multi-threaded one.
pub fn build_runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    runtime.map_err(|e| anyhow::anyhow!("start the tokio runtime: {e}"))
}

/// Reports clients that could not connect before the run started (they keep retrying).
pub fn report_connect_failures(failures: &[String], clients: usize) {
    if let Some(first) = failures.first() {
        eprintln!(
            "{} of {clients} clients could not connect before the start (they retry): {first}",
            failures.len()
        );
    }
}
