//! The simulated clients: counters (`INCR`), list-append (`APPEND`, `GET`) and queues (`RPUSH`
//! and `LPUSH` of unique elements; `BLPOP`, `BRPOP`, `LPOP`; `LMOVE`/`BLMOVE` into the client's
//! processing list followed by `LREM`), recorded in `quorum-check`'s history format with
//! simulated time, then final reads of every key once the driver has healed the cluster (each
//! queue with every processing list in one `MULTI`/`EXEC`).
//!
//! Each client is a turmoil client host with one connection at a time, like `quorum chaos`'s
//! clients, and turns replies into outcomes with the same code ([`quorum_chaos::execute_call`]).
//! Every client both produces and consumes, so the checker's rules see pushes and pops from
//! every client. Blocking pops work as on real nodes: their timeout runs on the node's tokio
//! clock, which turmoil simulates.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorum_chaos::{QueueWorkload, RespConn};
use quorum_check::{Call, Consistency, History, ListEnd, Operation, Outcome, Reply};
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
/// Queues: few, so that clients contend for their elements.
const QUEUE_KEYS: usize = 2;
/// The blocking pops' timeout: well below a fault's length, above a few message latencies.
const BLOCK_MS: u64 = 200;

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
    /// Clients in the run (each has a processing list per queue, which the final reads read).
    pub clients: u32,
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
    // The element an acknowledged move handed over, to remove from the processing list next.
    let mut processed: Option<(String, Call)> = None;
    while turmoil::sim_elapsed().unwrap_or_default() < plan.stop_at {
        let (key, call) = match processed.take() {
            Some(remove) => remove,
            None => pick(&mut rng, plan.id, &mut seq),
        };
        if conn.is_none() {
            conn = connect(node + 1).await;
            if conn.is_none() {
                if matches!(call, Call::Remove { .. }) {
                    processed = Some((key, call));
                }
                node = (node + 1) % plan.nodes;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        }
        let open = conn.as_mut().expect("connected above");
        let index = plan
            .recorder
            .invoke(plan.id, node as u32, &key, call.clone());
        let timeout = quorum_chaos::reply_timeout(&call, OP_TIMEOUT);
        let outcome = quorum_chaos::execute_call(open, &key, &call, timeout).await;
        let ok = matches!(outcome, Outcome::Ok { .. });
        if let (
            Call::Move { to, .. },
            Outcome::Ok {
                reply: Reply::Value {
                    value: Some(element),
                },
            },
        ) = (&call, &outcome)
        {
            let remove = Call::Remove {
                element: element.clone(),
            };
            processed = Some((to.clone(), remove));
        }
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
    let finals = keys().into_iter().map(|key| (key, Call::Get));
    let ranges = (0..QUEUE_KEYS).map(|q| {
        let with = (0..plan.clients)
            .map(|c| QueueWorkload::processing_key("", q, c))
            .collect();
        (QueueWorkload::queue_key("", q), Call::Range { with })
    });
    for (key, call) in finals.chain(ranges) {
        for _ in 0..FINAL_READ_ATTEMPTS {
            if conn.is_none() {
                conn = connect(node + 1).await;
            }
            if let Some(open) = conn.as_mut() {
                let index = plan
                    .recorder
                    .invoke(plan.id, node as u32, &key, call.clone());
                let outcome = quorum_chaos::execute_call(open, &key, &call, OP_TIMEOUT).await;
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

/// The next operation: INCR a counter, APPEND a unique token, read either kind, push a unique
/// element to a queue or pop one.
fn pick(rng: &mut StdRng, client: u32, seq: &mut u64) -> (String, Call) {
    *seq += 1;
    let q = rng.gen_range(0..QUEUE_KEYS);
    let queue = QueueWorkload::queue_key("", q);
    match rng.gen_range(0..16) {
        10..=12 => {
            let end = if rng.gen_bool(0.2) {
                ListEnd::Head
            } else {
                ListEnd::Tail
            };
            let element = format!("c{client}s{seq}");
            (queue, Call::Push { element, end })
        }
        13 => {
            let end = if rng.gen_bool(0.7) {
                ListEnd::Head
            } else {
                ListEnd::Tail
            };
            (
                queue,
                Call::Pop {
                    end,
                    block_ms: Some(BLOCK_MS),
                },
            )
        }
        14 => (
            queue,
            Call::Pop {
                end: ListEnd::Head,
                block_ms: None,
            },
        ),
        15 => {
            let to = QueueWorkload::processing_key("", q, client);
            let block_ms = rng.gen_bool(0.5).then_some(BLOCK_MS);
            (queue, Call::Move { to, block_ms })
        }
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
