//! A lane: one request at a time, for the protocols whose clients multiplex requests
//! themselves (etcd's gRPC channel, a NATS connection). A client with `--pipeline P` runs P
//! lanes over one connection, so P requests are in flight per connection.
//!
//! In open loop each lane follows its own slice of the schedule; latency runs from the intended
//! time, as in the RESP client. Transport failures back off before the next request; error
//! replies do not (they are answers, and come back at the server's pace).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::args::Plan;
use crate::control::{Backoff, RunControl, Schedule};
use crate::runner::Harness;
use crate::stats::{Recorder, ERROR_TIMEOUT};
use crate::workload::{OpKind, OpStream};

/// Longest a lane sleeps at once waiting for its next due time, so a stop is noticed quickly.
const IDLE_SLEEP_MAX: Duration = Duration::from_millis(100);

/// How one request ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaneError {
    /// The server answered with an error: counted under `kind`, no back-off.
    Reply(String),
    /// The connection failed or the server is unreachable: counted under `kind`, then back-off.
    Transport(String),
}

/// A successful request: whether it found nothing (a read of a missing key).
pub type Found = bool;

/// What a lane needs besides its request function.
pub struct Lane {
    pub index: usize,
    pub control: Arc<RunControl>,
    pub recorder: Recorder,
    pub ops: OpStream,
    pub schedule: Option<Schedule>,
}

impl Lane {
    /// Sends requests through `call` until the send deadline or the request budget. `call`
    /// returns whether the operation found its key.
    pub async fn run<F, Fut>(mut self, mut call: F)
    where
        F: FnMut(OpKind, u64) -> Fut,
        Fut: Future<Output = Result<Found, LaneError>>,
    {
        let mut backoff = Backoff::new(self.index as u64);
        let control = self.control.clone();
        loop {
            let now = Instant::now();
            if control.should_stop(now) {
                return;
            }
            let stamp = match &mut self.schedule {
                None => now,
                Some(schedule) => {
                    let due = schedule.next_due();
                    if due > now {
                        tokio::time::sleep_until(due.min(now + IDLE_SLEEP_MAX).into()).await;
                        continue;
                    }
                    due
                }
            };
            let counted = control.is_counted(stamp);
            if counted && control.claim(1) == 0 {
                return;
            }
            if let Some(schedule) = &mut self.schedule {
                schedule.advance();
                if counted {
                    self.recorder.tally.lock().record_send_lag(now - stamp);
                }
            }
            let (kind, key) = self.ops.next_op();
            let result = tokio::time::timeout(control.timeout, call(kind, key)).await;
            let done = Instant::now();
            let failure = match result {
                Ok(Ok(found)) => {
                    backoff.reset();
                    if counted {
                        let mut tally = self.recorder.tally.lock();
                        tally.record_ok(done.saturating_duration_since(stamp));
                        if !found {
                            tally.nil += 1;
                        }
                        drop(tally);
                        self.recorder.gaps.acknowledged(done);
                    }
                    continue;
                }
                Ok(Err(error)) => error,
                Err(_) => LaneError::Transport(ERROR_TIMEOUT.to_owned()),
            };
            let (kind, back_off) = match &failure {
                LaneError::Reply(kind) => (kind, false),
                LaneError::Transport(kind) => (kind, true),
            };
            if counted {
                self.recorder.tally.lock().record_error(kind, 1);
            }
            if back_off {
                let wake = Instant::now() + backoff.next_delay();
                tokio::time::sleep_until(wake.min(control.send_deadline).into()).await;
            }
        }
    }
}

/// Starts `--clients` × `--pipeline` lanes; lane `i` sends through client `i % clients`, with
/// the request function `call_for(i % clients)` returns.
pub fn spawn_lanes<F, Fut>(
    plan: &Plan,
    harness: &mut Harness,
    mut call_for: impl FnMut(usize) -> F,
) -> JoinSet<()>
where
    F: FnMut(OpKind, u64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Found, LaneError>> + Send + 'static,
{
    let lanes = plan.clients * plan.pipeline;
    let mut tasks = JoinSet::new();
    for index in 0..lanes {
        let lane = Lane {
            index,
            control: harness.control.clone(),
            recorder: harness.recorder(),
            ops: OpStream::new(plan.workload, plan.read_ratio, plan.keys, plan.seed, index),
            schedule: plan
                .rate
                .map(|rate| Schedule::new(harness.control.origin, rate, index, lanes)),
        };
        tasks.spawn(lane.run(call_for(index % plan.clients)));
    }
    tasks
}
