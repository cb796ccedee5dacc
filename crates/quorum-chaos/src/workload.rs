//! The workload: which keys exist, which calls each client makes, and the client loop that
//! turns calls into recorded [`Operation`]s.
//!
//! Three workloads share a run, each on its own keys (the checker judges a key by the calls
//! made on it): list-append (`APPEND`/`GET`), registers (`GET`/`SET`/`SET GET`) and counters
//! (`INCR`/`GET`). A subset of clients sends `READONLY` and only reads. Calls are drawn at
//! random; the schedule of faults is what a seed reproduces, not the exact operations, which
//! depend on timing anyway. With `--queue`, producer and consumer clients of their own
//! ([`Role`]) work the queue workload (`queue.rs`). How a call goes over the wire is `call.rs`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use quorum_check::{Call, Consistency, Operation, Outcome, Reply};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::call::{execute_call, reply_timeout};
use crate::queue::QueueWorkload;
use crate::recorder::Recorder;
use crate::resp::RespConn;
use crate::sentinel::Sentinels;

/// A list-append key is retired once its value reaches this many bytes: every read returns
/// the whole value, so a key that grew forever would make the history quadratic in size.
const APPEND_VALUE_BYTES_MAX: i64 = 1024;
/// Pause between two operations of a `READONLY` client: local reads return at once, and
/// unpaced they would fill the history with millions of reads (and the CPU the nodes need).
const READONLY_PAUSE: Duration = Duration::from_millis(5);
/// Pause after a failed connection attempt, so an unreachable node is not hammered.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(100);
/// Attempts of each final read before the client gives up on that key.
const FINAL_READ_ATTEMPTS_MAX: u32 = 50;
/// How long one client's final reads may take in all. A cluster that lost its leader for good
/// (the liveness check reports it) would otherwise keep every client retrying every key for
/// `FINAL_READ_ATTEMPTS_MAX` timeouts, tens of minutes; keys left unread are reported as having
/// no final read.
const FINAL_READS_TIME_MAX: Duration = Duration::from_secs(60);
/// The TTLs of the expiry workload's `SET k v PX ttl`: short enough to expire many times in a
/// run, long enough to be far above the checker's tolerance
/// (`quorum_check::expiry::EXPIRY_TOLERANCE_MS`).
const EXPIRY_TTLS_MS: [u64; 3] = [300, 1_000, 3_000];

/// One node a client can talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Recorded in [`Operation::node`]: the node id (chaos) or endpoint index (verify).
    pub node: u32,
    /// Its RESP address.
    pub addr: SocketAddr,
}

/// The endpoints clients may use; the fault injector replaces them on membership changes.
pub type Endpoints = Arc<RwLock<Vec<Endpoint>>>;

/// How a client finds the endpoint to send to.
#[derive(Debug, Default)]
pub enum Discovery {
    /// The endpoints in turn, moving on after a failure (any quorum node serves any request).
    #[default]
    Direct,
    /// Ask a Redis Sentinel for the primary, as Sentinel clients do.
    Sentinel(Sentinels),
}

/// What every client of a run shares.
#[derive(Debug)]
pub struct Workload {
    /// Prepended to every key, so runs never touch other data.
    pub prefix: String,
    /// Keys per workload.
    pub keys: usize,
    /// Current generation of each list-append key slot (see [`APPEND_VALUE_BYTES_MAX`]).
    append_generation: Vec<AtomicU32>,
    /// A request with no reply within this is recorded as unknown.
    pub op_timeout: Duration,
    /// Seed of the clients' random choices.
    pub seed: u64,
    /// How clients find where to send.
    pub discovery: Discovery,
    /// A client whose request failed reconnects to the same node (`--sticky-clients`).
    pub sticky: bool,
    /// Adds the expiry workload (`--expiry`).
    pub expiry: bool,
    /// The queue workload (`--queue`), worked by clients of their own ([`Role`]).
    pub queue: Option<QueueWorkload>,
}

/// The workload a key slot belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Append,
    Register,
    Counter,
    Expiry,
}

impl Workload {
    /// A workload of `keys` keys per kind under `prefix`.
    pub fn new(prefix: String, keys: usize, op_timeout: Duration, seed: u64) -> Workload {
        Workload {
            prefix,
            keys,
            append_generation: (0..keys).map(|_| AtomicU32::new(0)).collect(),
            op_timeout,
            seed,
            discovery: Discovery::Direct,
            sticky: false,
            expiry: false,
            queue: None,
        }
    }

    fn append_key(&self, slot: usize, generation: u32) -> String {
        format!("{}append:{slot}:{generation}", self.prefix)
    }

    /// Every key of the string workloads the run may have written, for the final reads (the
    /// queue workload's keys are [`Workload::queue_keys`]).
    pub fn all_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for slot in 0..self.keys {
            let last = self.append_generation[slot].load(Ordering::Relaxed);
            keys.extend((0..=last).map(|g| self.append_key(slot, g)));
        }
        keys.extend((0..self.keys).map(|i| format!("{}register:{i}", self.prefix)));
        keys.extend((0..self.keys).map(|i| format!("{}counter:{i}", self.prefix)));
        if self.expiry {
            keys.extend((0..self.keys).map(|i| format!("{}expiry:{i}", self.prefix)));
        }
        keys
    }

    /// Every key of the queue workload (queues and processing lists), for cleaning up.
    pub fn queue_keys(&self) -> Vec<String> {
        self.queue
            .as_ref()
            .map_or_else(Vec::new, |q| q.keys(&self.prefix))
    }

    fn pick(&self, rng: &mut StdRng, client: u32, seq: u64, readonly: bool) -> (String, Call) {
        // READONLY reads of expiry keys would prove nothing the expiry checker can judge.
        let kinds: &[Kind] = if self.expiry && !readonly {
            &[Kind::Append, Kind::Register, Kind::Counter, Kind::Expiry]
        } else {
            &[Kind::Append, Kind::Register, Kind::Counter]
        };
        let kind = kinds[rng.gen_range(0..kinds.len())];
        let slot = rng.gen_range(0..self.keys.max(1));
        let unique = format!("{client}-{seq}");
        let write = !readonly && rng.gen_bool(0.6);
        match kind {
            Kind::Append => {
                let generation = self.append_generation[slot].load(Ordering::Relaxed);
                let call = if write {
                    Call::Append {
                        token: format!("{unique}{}", quorum_check::history::TOKEN_SEPARATOR),
                    }
                } else {
                    Call::Get
                };
                (self.append_key(slot, generation), call)
            }
            Kind::Register => {
                let call = match (write, rng.gen_bool(0.5)) {
                    (false, _) => Call::Get,
                    (true, false) => Call::Set { value: unique },
                    (true, true) => Call::Swap { value: unique },
                };
                (format!("{}register:{slot}", self.prefix), call)
            }
            Kind::Counter => {
                let call = if write { Call::Incr } else { Call::Get };
                (format!("{}counter:{slot}", self.prefix), call)
            }
            Kind::Expiry => {
                let call = match (write, rng.gen_bool(0.5)) {
                    (true, _) => Call::SetPx {
                        value: unique,
                        ttl_ms: EXPIRY_TTLS_MS[rng.gen_range(0..EXPIRY_TTLS_MS.len())],
                    },
                    (false, true) => Call::Get,
                    (false, false) => Call::Pttl,
                };
                (format!("{}expiry:{slot}", self.prefix), call)
            }
        }
    }

    /// Retires a list-append key that grew too long (only the first client to notice bumps it).
    fn maybe_retire(&self, key: &str, reply: &Reply) {
        let Reply::Int { value } = reply else { return };
        if *value < APPEND_VALUE_BYTES_MAX {
            return;
        }
        let Some(rest) = key.strip_prefix(&format!("{}append:", self.prefix)) else {
            return;
        };
        let mut parts = rest.split(':');
        let (Some(Ok(slot)), Some(Ok(generation))) = (
            parts.next().map(str::parse::<usize>),
            parts.next().map(str::parse::<u32>),
        ) else {
            return;
        };
        if let Some(current) = self.append_generation.get(slot) {
            let _ = current.compare_exchange(
                generation,
                generation + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }
}

/// What a client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Random calls of the string workloads (list-append, registers, counters, expiry).
    Mixed,
    /// Pushes to the queues (`--queue`).
    Producer,
    /// Pops from the queues (`--queue`).
    Consumer,
}

/// One logical client: one connection at a time, one operation at a time.
pub struct Client {
    /// The client number recorded in the history.
    pub id: u32,
    /// `READONLY` clients only read.
    pub consistency: Consistency,
    /// Which workload it works.
    pub role: Role,
    conn: Option<(Endpoint, RespConn)>,
    /// Index into the endpoint list of the next connection attempt.
    cursor: usize,
    /// Everything this client did, in order.
    pub ops: Vec<Operation>,
    /// Operations drawn so far (makes values unique with the client id).
    pub(crate) seq: u64,
}

impl Client {
    /// A client working `role` that starts on endpoint `id % endpoints` (spreading clients over
    /// nodes).
    pub fn new(id: u32, consistency: Consistency, role: Role) -> Client {
        Client {
            id,
            consistency,
            role,
            conn: None,
            cursor: id as usize,
            ops: Vec::new(),
            seq: 0,
        }
    }

    /// The seed of this client's random choices.
    pub(crate) fn rng(&self, workload: &Workload) -> StdRng {
        StdRng::seed_from_u64(workload.seed ^ (u64::from(self.id) << 32))
    }

    /// Runs random operations until `stop` is set.
    pub async fn run(
        &mut self,
        workload: &Workload,
        endpoints: &Endpoints,
        recorder: &Recorder,
        stop: &AtomicBool,
    ) {
        match self.role {
            Role::Mixed => {}
            Role::Producer => {
                return crate::queue::produce(self, workload, endpoints, recorder, stop).await
            }
            Role::Consumer => {
                return crate::queue::consume(self, workload, endpoints, recorder, stop).await
            }
        }
        let mut rng = self.rng(workload);
        let readonly = self.consistency == Consistency::ReadOnly;
        while !stop.load(Ordering::Relaxed) {
            self.seq += 1;
            let (key, call) = workload.pick(&mut rng, self.id, self.seq, readonly);
            if let Some(reply) = self
                .execute(workload, endpoints, recorder, &key, call)
                .await
            {
                workload.maybe_retire(&key, &reply);
            }
            if readonly {
                tokio::time::sleep(READONLY_PAUSE).await;
            }
        }
    }

    /// Reads every key once, linearizably, retrying each until it succeeds (bounded), so that
    /// a write lost in the faults shows up as missing from these reads.
    pub async fn final_reads(
        &mut self,
        workload: &Workload,
        endpoints: &Endpoints,
        recorder: &Recorder,
    ) {
        // A READONLY session's final reads would prove nothing about lost writes.
        self.conn = None;
        self.consistency = Consistency::Linearizable;
        let deadline = tokio::time::Instant::now() + FINAL_READS_TIME_MAX;
        if self.role != Role::Mixed {
            return crate::queue::final_reads(self, workload, endpoints, recorder, deadline).await;
        }
        for key in workload.all_keys() {
            self.final_read(workload, endpoints, recorder, &key, Call::Get, deadline)
                .await;
        }
    }

    /// Sends `call` until it is acknowledged, [`FINAL_READ_ATTEMPTS_MAX`] times at most and
    /// not after `deadline`.
    pub(crate) async fn final_read(
        &mut self,
        workload: &Workload,
        endpoints: &Endpoints,
        recorder: &Recorder,
        key: &str,
        call: Call,
        deadline: tokio::time::Instant,
    ) {
        for _ in 0..FINAL_READ_ATTEMPTS_MAX {
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            let reply = self
                .execute(workload, endpoints, recorder, key, call.clone())
                .await;
            if reply.is_some() {
                return;
            }
        }
    }

    /// Executes one call, records it, and returns the reply when acknowledged.
    pub(crate) async fn execute(
        &mut self,
        workload: &Workload,
        endpoints: &Endpoints,
        recorder: &Recorder,
        key: &str,
        call: Call,
    ) -> Option<Reply> {
        let connected = self.connect(workload, endpoints).await;
        let node = match &connected {
            Ok(endpoint) => endpoint.node,
            Err((endpoint, _)) => endpoint.map_or(u32::MAX, |e| e.node),
        };
        let mut op = recorder.invoke(self.id, node, key, call.clone(), self.consistency);
        let outcome = match connected {
            // Nothing was sent: certainly no effect.
            Err((_, error)) => Outcome::Failed { error },
            Ok(_) => self.send(workload, key, &call).await,
        };
        if matches!(outcome, Outcome::Failed { .. }) && self.conn.is_none() {
            tokio::time::sleep(RECONNECT_BACKOFF).await;
        }
        recorder.complete(&mut op, outcome);
        let reply = op.reply().cloned();
        self.ops.push(op);
        reply
    }

    /// Ensures a connection; on failure moves to the next endpoint for the next attempt.
    async fn connect(
        &mut self,
        workload: &Workload,
        endpoints: &Endpoints,
    ) -> Result<Endpoint, (Option<Endpoint>, String)> {
        if let Some((endpoint, _)) = &self.conn {
            return Ok(*endpoint);
        }
        let (endpoint, source) = match &workload.discovery {
            Discovery::Direct => {
                let list = endpoints.read().unwrap_or_else(|e| e.into_inner());
                if list.is_empty() {
                    return Err((None, "no endpoint to connect to".into()));
                }
                (list[self.cursor % list.len()], None)
            }
            Discovery::Sentinel(sentinels) => match sentinels.primary(self.id).await {
                Ok(primary) => (primary, sentinels.source(self.id)),
                Err(err) => return Err((None, format!("{err:#}"))),
            },
        };
        let connected = RespConn::connect_from(endpoint.addr, source, workload.op_timeout).await;
        let mut conn = match connected {
            Ok(conn) => conn,
            Err(err) => {
                self.cursor += 1;
                return Err((Some(endpoint), format!("{err:#}")));
            }
        };
        if self.consistency == Consistency::ReadOnly {
            // Servers without READONLY (a single Redis) answer an error and read linearizably,
            // which is stricter than asked: keep the connection either way.
            let ok = tokio::time::timeout(workload.op_timeout, conn.call(&[b"READONLY"])).await;
            if !matches!(ok, Ok(Ok(_))) {
                self.cursor += 1;
                return Err((Some(endpoint), "READONLY got no reply".into()));
            }
        }
        self.conn = Some((endpoint, conn));
        Ok(endpoint)
    }

    async fn send(&mut self, workload: &Workload, key: &str, call: &Call) -> Outcome {
        let timeout = reply_timeout(call, workload.op_timeout);
        let Some((_, conn)) = self.conn.as_mut() else {
            return Outcome::Failed {
                error: "not connected".into(),
            };
        };
        let outcome = execute_call(conn, key, call, timeout).await;
        if !matches!(outcome, Outcome::Ok { .. }) {
            // A late reply to an abandoned request would be read as the next one's answer,
            // and an error may mean the node is unhealthy: start afresh, on another node
            // (on the same one with --sticky-clients).
            self.conn = None;
            if !workload.sticky {
                self.cursor += 1;
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_append_key_is_retired_once() {
        let w = Workload::new("p:".into(), 2, Duration::from_secs(1), 1);
        w.maybe_retire("p:append:1:0", &Reply::Int { value: 5000 });
        w.maybe_retire("p:append:1:0", &Reply::Int { value: 6000 });
        assert_eq!(w.append_generation[1].load(Ordering::Relaxed), 1);
        assert!(w.all_keys().contains(&"p:append:1:1".to_string()));
        assert!(w.all_keys().contains(&"p:append:1:0".to_string()));
    }
}
