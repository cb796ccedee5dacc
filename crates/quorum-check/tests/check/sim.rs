//! Generates histories from a correct, sequential store: clients run concurrently in simulated
//! time, every operation takes effect at one instant between its invocation and its reply, and
//! some replies are lost (unknown outcome, applied or not, possibly long after the client gave
//! up) or refused (failed, never applied). Such histories are valid by construction, which is
//! what the property tests and the large-history timing rely on.

use std::collections::HashMap;

use quorum_check::{Call, Consistency, History, Operation, Outcome, Reply};

/// The workload of a generated key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Register,
    List,
    Counter,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub clients: u32,
    /// The last `readonly_clients` clients read with `READONLY` (their writes stay linearizable).
    pub readonly_clients: u32,
    pub keys: u32,
    /// Key i has workload `kinds[i % kinds.len()]`.
    pub kinds: Vec<Kind>,
    pub ops: usize,
    pub unknown_percent: u64,
    pub failed_percent: u64,
    /// A linearizable read of every key once everything has settled.
    pub final_reads: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            clients: 5,
            readonly_clients: 1,
            keys: 3,
            kinds: vec![Kind::Register, Kind::List, Kind::Counter],
            ops: 200,
            unknown_percent: 5,
            failed_percent: 5,
            final_reads: true,
        }
    }
}

/// splitmix64: small, deterministic, good enough to shuffle a simulation.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// A key's state and its past versions (for stale `READONLY` reads).
enum State {
    Register(Vec<Option<String>>),
    List { value: String, lengths: Vec<usize> },
    Counter(i64),
}

impl State {
    fn versions(&self) -> usize {
        match self {
            State::Register(versions) => versions.len(),
            State::List { lengths, .. } => lengths.len(),
            State::Counter(n) => *n as usize + 1,
        }
    }

    fn read(&self, version: usize) -> Option<String> {
        match self {
            State::Register(versions) => versions[version].clone(),
            State::List { value, lengths } => {
                (lengths[version] > 0).then(|| value[..lengths[version]].to_string())
            }
            State::Counter(_) => (version > 0).then(|| version.to_string()),
        }
    }

    /// Applies `call` and returns the reply.
    fn apply(&mut self, call: &Call) -> Reply {
        match (self, call) {
            (state, Call::Get) => Reply::Value {
                value: state.read(state.versions() - 1),
            },
            (State::Register(versions), Call::Set { value }) => {
                versions.push(Some(value.clone()));
                Reply::Ok
            }
            (State::Register(versions), Call::Swap { value }) => {
                let previous = versions.last().cloned().flatten();
                versions.push(Some(value.clone()));
                Reply::Value { value: previous }
            }
            (State::List { value, lengths }, Call::Append { token }) => {
                value.push_str(token);
                lengths.push(value.len());
                Reply::Int {
                    value: value.len() as i64,
                }
            }
            (State::Counter(n), Call::Incr) => {
                *n += 1;
                Reply::Int { value: *n }
            }
            _ => unreachable!("calls are generated per workload"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Plan {
    Ok,
    Failed,
    /// No reply; `applies` says whether it takes effect, `late` whether after the client gave up.
    Unknown {
        applies: bool,
        late: bool,
    },
}

struct InFlight {
    op: usize,
    plan: Plan,
    applied: bool,
}

/// Generates a valid history.
pub fn generate(config: &SimConfig) -> History {
    let mut rng = Rng::new(config.seed);
    let kind_of = |k: u32| config.kinds[k as usize % config.kinds.len()];
    let name_of = |k: u32| format!("{:?}-{k}", kind_of(k)).to_lowercase();
    let mut states: Vec<State> = (0..config.keys)
        .map(|k| match kind_of(k) {
            Kind::Register => State::Register(vec![None]),
            Kind::List => State::List {
                value: String::new(),
                lengths: vec![0],
            },
            Kind::Counter => State::Counter(0),
        })
        .collect();
    let mut ops: Vec<Operation> = Vec::with_capacity(config.ops + config.keys as usize);
    let mut op_keys: Vec<u32> = Vec::with_capacity(ops.capacity());
    let mut in_flight: Vec<Option<InFlight>> = (0..config.clients).map(|_| None).collect();
    let mut last_seen: HashMap<(u32, u32), usize> = HashMap::new();
    let mut limbo: Vec<usize> = Vec::new();
    let readonly_from = config.clients - config.readonly_clients.min(config.clients);
    let mut now = 0u64;
    let mut busy = 0;
    while ops.len() < config.ops || busy > 0 {
        now += 1 + rng.below(2_000);
        if !limbo.is_empty() && rng.percent(3) {
            let i = limbo.swap_remove(rng.below(limbo.len() as u64) as usize);
            let call = ops[i].call.clone();
            states[op_keys[i] as usize].apply(&call);
        }
        let client = rng.below(u64::from(config.clients)) as u32;
        let slot = &mut in_flight[client as usize];
        match slot {
            None if ops.len() < config.ops => {
                let key = rng.below(u64::from(config.keys)) as u32;
                let id = ops.len() as u64;
                let call = match (kind_of(key), rng.below(2)) {
                    (_, 0) => Call::Get,
                    (Kind::Register, _) if rng.percent(30) => Call::Swap {
                        value: format!("v{id}"),
                    },
                    (Kind::Register, _) => Call::Set {
                        value: format!("v{id}"),
                    },
                    (Kind::List, _) => Call::Append {
                        token: format!("t{id},"),
                    },
                    (Kind::Counter, _) => Call::Incr,
                };
                let readonly = call == Call::Get && client >= readonly_from;
                let roll = rng.below(100);
                let plan = if roll < config.failed_percent {
                    Plan::Failed
                } else if roll < config.failed_percent + config.unknown_percent {
                    Plan::Unknown {
                        applies: call != Call::Get && rng.percent(50),
                        late: rng.percent(50),
                    }
                } else {
                    Plan::Ok
                };
                ops.push(Operation {
                    id,
                    client,
                    node: client % 3,
                    key: name_of(key),
                    call,
                    consistency: if readonly {
                        Consistency::ReadOnly
                    } else {
                        Consistency::Linearizable
                    },
                    invoke_ns: now,
                    complete_ns: None,
                    outcome: Outcome::Unknown {
                        error: "in flight".to_string(),
                    },
                });
                op_keys.push(key);
                *slot = Some(InFlight {
                    op: id as usize,
                    plan,
                    applied: false,
                });
                busy += 1;
            }
            None => {}
            Some(flight) => {
                let i = flight.op;
                let key = op_keys[i];
                let applies_now = match flight.plan {
                    Plan::Ok => true,
                    Plan::Unknown { applies, late } => applies && !late,
                    Plan::Failed => false,
                };
                if applies_now && !flight.applied {
                    // The linearization point.
                    flight.applied = true;
                    let state = &mut states[key as usize];
                    let reply = if ops[i].consistency == Consistency::ReadOnly {
                        let seen = last_seen.entry((client, key)).or_insert(0);
                        let newest = state.versions() - 1;
                        *seen += rng.below((newest - *seen) as u64 + 1) as usize;
                        Reply::Value {
                            value: state.read(*seen),
                        }
                    } else {
                        state.apply(&ops[i].call)
                    };
                    ops[i].outcome = Outcome::Ok { reply };
                    continue;
                }
                ops[i].complete_ns = Some(now);
                match flight.plan {
                    Plan::Ok => {}
                    Plan::Failed => {
                        ops[i].outcome = Outcome::Failed {
                            error: "refused".to_string(),
                        }
                    }
                    Plan::Unknown { applies, late } => {
                        if applies && late {
                            limbo.push(i);
                        }
                        if rng.percent(50) {
                            ops[i].complete_ns = None;
                        }
                        ops[i].outcome = Outcome::Unknown {
                            error: "timeout".to_string(),
                        };
                    }
                }
                *slot = None;
                busy -= 1;
            }
        }
    }
    // Late effects land (or are lost) before the final reads.
    for i in limbo {
        if rng.percent(50) {
            let call = ops[i].call.clone();
            states[op_keys[i] as usize].apply(&call);
        }
    }
    if config.final_reads {
        for key in 0..config.keys {
            now += 1_000;
            let reply = states[key as usize].apply(&Call::Get);
            ops.push(Operation {
                id: ops.len() as u64,
                client: 0,
                node: 0,
                key: name_of(key),
                call: Call::Get,
                consistency: Consistency::Linearizable,
                invoke_ns: now,
                complete_ns: Some(now + 500),
                outcome: Outcome::Ok { reply },
            });
            now += 1_000;
        }
    }
    History {
        ops,
        faults: Vec::new(),
    }
}
