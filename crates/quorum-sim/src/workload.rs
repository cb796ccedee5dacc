//! The simulated clients: counters (`INCR`), list-append (`APPEND`, `GET`), recorded in
//! `quorum-check`'s history format with simulated time, then final reads of every key once the
//! driver has healed the cluster.
//!
//! Each client is a turmoil client host with one connection at a time, like `quorum chaos`'s
//! clients, and turns replies into outcomes with the same code ([`quorum_chaos::execute_call`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorum_chaos::RespConn;
use quorum_check::{Call, Consistency, History, Operation, Outcome};
use quorum_types::NodeId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::node::{host_name, CLIENT_PORT};

/// Keys of each kind: few, so that clients contend.
const COUNTER_KEYS: usize = 2;
const LIST_KEYS: usize = 2;
/// How long a client waits for one reply before it records the outcome as unknown.
const OP_TIMEOUT: Duration = Duration::from_secs(1);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Attempts per key of the final reads (each on the next node).
const FINAL_READ_ATTEMPTS: usize = 40;

/// Every key of the workload.
pub fn keys() -> Vec<String> {
    (0..COUNTER_KEYS)
        .map(|k| format!("ctr-{k}"))
        .chain((0..LIST_KEYS).map(|k| format!("list-{k}")))
        .collect()
}

/// The history being recorded, shared by every client of one run.
#[derive(Default)]
pub struct Recorder {
    ops: Mutex<Vec<Operation>>,
}

impl Recorder {
    /// Simulated nanoseconds since the run started.
    fn now_ns() -> u64 {
        let elapsed = turmoil::sim_elapsed().unwrap_or(Duration::ZERO);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records the invocation; the returned index is passed to [`Recorder::complete`].
    fn invoke(&self, client: u32, node: u32, key: &str, call: Call) -> usize {
        let mut ops = self.ops.lock().expect("recorder");
        let id = ops.len() as u64;
        ops.push(Operation {
            id,
            client,
            node,
            key: key.to_string(),
            call,
            consistency: Consistency::Linearizable,
            invoke_ns: Self::now_ns(),
            complete_ns: None,
            outcome: Outcome::Unknown {
                error: "not completed".into(),
            },
        });
        ops.len() - 1
    }

    fn complete(&self, index: usize, outcome: Outcome) {
        let mut ops = self.ops.lock().expect("recorder");
        ops[index].complete_ns = Some(Self::now_ns());
        ops[index].outcome = outcome;
    }

    /// The history so far.
    pub fn history(&self) -> History {
        History {
            ops: self.ops.lock().expect("recorder").clone(),
            faults: Vec::new(),
        }
    }
}

/// What one client needs to know.
#[derive(Clone)]
pub struct ClientPlan {
    /// Client number (0-based).
    pub id: u32,
    /// Nodes in the cluster.
    pub nodes: u64,
    /// Seed of this client's choices.
    pub seed: u64,
    /// Simulated time at which the client stops issuing new operations.
    pub stop_at: Duration,
    /// Set by the driver once every fault is healed: then the final reads start.
    pub healed: Arc<AtomicBool>,
    /// The shared history.
    pub recorder: Arc<Recorder>,
}

type Conn = RespConn<turmoil::net::TcpStream>;

/// Runs one client to completion.
pub async fn run_client(plan: ClientPlan) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut conn: Option<Conn> = None;
    let mut node = u64::from(plan.id) % plan.nodes;
    let mut seq = 0u64;
    while turmoil::sim_elapsed().unwrap_or_default() < plan.stop_at {
        let (key, call) = pick(&mut rng, plan.id, &mut seq);
        if conn.is_none() {
            conn = connect(node + 1).await;
            if conn.is_none() {
                node = (node + 1) % plan.nodes;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        }
        let open = conn.as_mut().expect("connected above");
        let index = plan
            .recorder
            .invoke(plan.id, node as u32, &key, call.clone());
        let outcome = quorum_chaos::execute_call(open, &key, &call, OP_TIMEOUT).await;
        let ok = matches!(outcome, Outcome::Ok { .. });
        plan.recorder.complete(index, outcome);
        if !ok {
            // A late reply would be read as the next request's: start afresh elsewhere.
            conn = None;
            node = (node + 1) % plan.nodes;
        }
        let think = rng.gen_range(0..20);
        tokio::time::sleep(Duration::from_millis(think)).await;
    }
    // Wait for the driver to heal every fault, then read every key once, linearizably.
    while !plan.healed.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for key in keys() {
        for _ in 0..FINAL_READ_ATTEMPTS {
            if conn.is_none() {
                conn = connect(node + 1).await;
            }
            if let Some(open) = conn.as_mut() {
                let index = plan.recorder.invoke(plan.id, node as u32, &key, Call::Get);
                let outcome = quorum_chaos::execute_call(open, &key, &Call::Get, OP_TIMEOUT).await;
                let ok = matches!(outcome, Outcome::Ok { .. });
                plan.recorder.complete(index, outcome);
                if ok {
                    break;
                }
                conn = None;
            }
            node = (node + 1) % plan.nodes;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// The next operation: INCR a counter, APPEND a unique token, or read either kind.
fn pick(rng: &mut StdRng, client: u32, seq: &mut u64) -> (String, Call) {
    *seq += 1;
    match rng.gen_range(0..10) {
        0..=3 => (
            format!("ctr-{}", rng.gen_range(0..COUNTER_KEYS)),
            Call::Incr,
        ),
        4..=7 => (
            format!("list-{}", rng.gen_range(0..LIST_KEYS)),
            Call::Append {
                token: format!("c{client}s{seq},"),
            },
        ),
        8 => (format!("ctr-{}", rng.gen_range(0..COUNTER_KEYS)), Call::Get),
        _ => (format!("list-{}", rng.gen_range(0..LIST_KEYS)), Call::Get),
    }
}

async fn connect(node: NodeId) -> Option<Conn> {
    let addr = format!("{}:{CLIENT_PORT}", host_name(node));
    let connecting = turmoil::net::TcpStream::connect(addr.as_str());
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(stream)) => Some(RespConn::over(stream)),
        _ => None,
    }
}
