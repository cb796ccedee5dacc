//! The Redis deployment `--target redis-sentinel` tests: one primary and `n - 1` replicas
//! (Debian's `redis-server`, AOF with `appendfsync always` on every one, as in
//! `bench/compare`) watched by `n` Sentinels (`redis-sentinel`, quorum `n / 2 + 1`).
//!
//! Host `i` runs Redis server `i` and Sentinel `i`. As root each host is a network namespace
//! on the run's bridge (`network.rs`), so a partition cuts a Redis server off together with
//! its Sentinel, as on separate machines; each client gets its own source address on the
//! bridge and lives next to one host ([`super::discovery::home`]), so a partition also cuts
//! the clients of one side off from the other side. Without root everything runs on loopback
//! ports and only kills and pauses are possible.
//!
//! "The leader" of the fault injector is the primary the Sentinels name. Restarts reuse the
//! server's config file, which Sentinel rewrites (`CONFIG REWRITE`) when it reconfigures a
//! server: a killed primary comes back as its last config says, as a real one would.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};
use nix::sys::signal::Signal;
use quorum_testkit::poll_until;

use super::discovery::{home, Sentinels};
use crate::cluster::ClusterControl;
use crate::network::{in_namespace, Network};
use crate::process::Process;

/// The name the Sentinels monitor the primary under.
const MASTER_NAME: &str = "quorum-chaos";
/// Ports inside each namespace (every host has its own address).
const REDIS_PORT: u16 = 6379;
const SENTINEL_PORT: u16 = 26379;
/// Client `c` connects from bridge address `CLIENT_HOST_FIRST + c` (hosts are 1..=n, 254 is
/// the bridge's own address).
const CLIENT_HOST_FIRST: u8 = 128;
/// Sentinel's `failover-timeout`: its default (3 minutes) would forbid a second failover of
/// the same primary within a whole run; a shorter one only makes Redis more available.
const FAILOVER_TIMEOUT_MS: u64 = 10_000;
/// Timeout of one control-plane query (the harness's own view, never cut by partitions).
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the deployment gets to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One host: a Redis server and a Sentinel, in one namespace (or on loopback).
struct Host {
    id: u64,
    ns: Option<String>,
    redis_addr: SocketAddr,
    sentinel_addr: SocketAddr,
    dir: PathBuf,
    redis: Process,
    sentinel: Process,
}

impl Host {
    fn command(&self, program: &str) -> Command {
        match &self.ns {
            Some(ns) => in_namespace(ns, Path::new(program)),
            None => Command::new(program),
        }
    }

    fn start_redis(&mut self) -> anyhow::Result<()> {
        let mut command = self.command("redis-server");
        command.arg(self.dir.join("redis.conf"));
        self.redis
            .start(command, &self.dir.join("redis.log"))
            .with_context(|| format!("cannot start redis-server {}", self.id))
    }

    fn start_sentinel(&mut self) -> anyhow::Result<()> {
        let mut command = self.command("redis-sentinel");
        command.arg(self.dir.join("sentinel.conf"));
        self.sentinel
            .start(command, &self.dir.join("sentinel.log"))
            .with_context(|| format!("cannot start redis-sentinel {}", self.id))
    }
}

/// Redis servers and Sentinels on hosts 1..=n; everything is stopped and removed on drop.
pub struct RedisSentinelCluster {
    hosts: BTreeMap<u64, Host>,
    /// Each client's source address (namespace mode only).
    client_sources: Vec<IpAddr>,
    root: Option<tempfile::TempDir>,
    /// Declared after `hosts`: the namespaces go once the processes in them are stopped.
    net: Option<Network>,
}

impl RedisSentinelCluster {
    /// Starts `nodes` Redis servers (host 1 the first primary) and `nodes` Sentinels with
    /// `down_after_ms`, and waits until every Sentinel sees the primary, its replicas and the
    /// other Sentinels. `clients` source addresses are made in namespace mode (`netns`).
    pub fn start(
        nodes: usize,
        clients: usize,
        down_after_ms: u64,
        netns: bool,
    ) -> anyhow::Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("quorum-chaos-redis-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let mut net = if netns {
            Some(Network::create()?)
        } else {
            None
        };
        let loopback = if netns {
            Vec::new()
        } else {
            quorum_testkit::free_addrs(2 * nodes)?
        };
        let mut hosts = BTreeMap::new();
        for (i, id) in (1..=nodes as u64).enumerate() {
            let (ns, redis_addr, sentinel_addr) = match net.as_mut() {
                Some(net) => {
                    let (ns, ip) = net.add_namespace(id)?;
                    let ip = IpAddr::V4(ip);
                    (
                        Some(ns),
                        SocketAddr::new(ip, REDIS_PORT),
                        SocketAddr::new(ip, SENTINEL_PORT),
                    )
                }
                None => (None, loopback[2 * i], loopback[2 * i + 1]),
            };
            let dir = root.path().join(format!("host-{id}"));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let host = Host {
                id,
                ns,
                redis_addr,
                sentinel_addr,
                dir,
                redis: Process::default(),
                sentinel: Process::default(),
            };
            hosts.insert(id, host);
        }
        let mut client_sources = Vec::new();
        if let Some(net) = &net {
            let last = usize::from(u8::MAX - 1 - CLIENT_HOST_FIRST);
            if clients > last {
                bail!("--target redis-sentinel with partitions supports at most {last} clients");
            }
            for c in 0..clients {
                client_sources.push(IpAddr::V4(
                    net.add_root_address(CLIENT_HOST_FIRST + c as u8)?,
                ));
            }
        }
        let mut cluster = RedisSentinelCluster {
            hosts,
            client_sources,
            root: Some(root),
            net,
        };
        cluster.write_configs(down_after_ms)?;
        cluster.start_all().map_err(|e| {
            e.context(format!(
                "the Redis deployment did not come up; logs:\n{}",
                cluster.log_tails()
            ))
        })?;
        Ok(cluster)
    }

    fn write_configs(&self, down_after_ms: u64) -> anyhow::Result<()> {
        let primary = self.hosts.values().next().context("no hosts")?.redis_addr;
        let quorum = self.hosts.len() / 2 + 1;
        for host in self.hosts.values() {
            let mut redis = vec![
                format!("port {}", host.redis_addr.port()),
                format!("bind {}", host.redis_addr.ip()),
                "protected-mode no".to_string(),
                format!("dir {}", host.dir.display()),
                "appendonly yes".into(),
                "appendfsync always".into(),
                "save \"\"".into(),
                "daemonize no".into(),
                "logfile \"\"".into(),
                // Only delays full resyncs (to batch replicas); changes nothing acknowledged.
                "repl-diskless-sync-delay 0".into(),
            ];
            if host.redis_addr != primary {
                redis.push(format!("replicaof {} {}", primary.ip(), primary.port()));
            }
            let sentinel = [
                format!("port {}", host.sentinel_addr.port()),
                format!("bind {}", host.sentinel_addr.ip()),
                "protected-mode no".to_string(),
                "daemonize no".into(),
                "logfile \"\"".into(),
                format!("dir {}", host.dir.display()),
                format!(
                    "sentinel monitor {MASTER_NAME} {} {} {quorum}",
                    primary.ip(),
                    primary.port()
                ),
                format!("sentinel down-after-milliseconds {MASTER_NAME} {down_after_ms}"),
                format!("sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}"),
            ];
            for (name, lines) in [("redis.conf", &redis[..]), ("sentinel.conf", &sentinel[..])] {
                let path = host.dir.join(name);
                std::fs::write(&path, lines.join("\n") + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        Ok(())
    }

    fn start_all(&mut self) -> anyhow::Result<()> {
        for host in self.hosts.values_mut() {
            host.start_redis()?;
        }
        poll_until(
            "the replicas to sync with the primary",
            START_TIMEOUT,
            Duration::from_millis(100),
            || self.replication_converged(1).map(Some),
        )?;
        for host in self.hosts.values_mut() {
            host.start_sentinel()?;
        }
        let (replicas, sentinels) = (self.hosts.len() - 1, self.hosts.len());
        poll_until(
            "every Sentinel to see the primary, its replicas and the other Sentinels",
            START_TIMEOUT,
            Duration::from_millis(200),
            || {
                for host in self.hosts.values() {
                    let info: String =
                        query(host.sentinel_addr, redis::cmd("INFO").arg("sentinel"))
                            .map_err(|e| format!("Sentinel {}: {e:#}", host.id))?;
                    let wanted = [
                        "status=ok".to_string(),
                        format!("slaves={replicas}"),
                        format!("sentinels={sentinels}"),
                    ];
                    if !wanted.iter().all(|w| info.contains(w.as_str())) {
                        return Err(format!("Sentinel {}: {}", host.id, info.trim()));
                    }
                }
                Ok(Some(()))
            },
        )
    }

    /// What clients need to find the primary.
    pub fn sentinels(&self) -> Sentinels {
        Sentinels {
            master_name: MASTER_NAME.to_string(),
            sentinels: self.hosts.values().map(|h| h.sentinel_addr).collect(),
            servers: self.endpoints(),
            sources: self.client_sources.clone(),
        }
    }

    fn host(&mut self, id: u64) -> anyhow::Result<&mut Host> {
        self.hosts
            .get_mut(&id)
            .with_context(|| format!("no Redis host {id}"))
    }

    fn id_of(&self, addr: SocketAddr) -> Option<u64> {
        self.hosts
            .values()
            .find(|h| h.redis_addr == addr)
            .map(|h| h.id)
    }

    /// The primary each reachable Sentinel names (the harness's view: never partitioned).
    fn named_primaries(&self) -> Vec<Result<u64, String>> {
        let get = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(MASTER_NAME)
            .clone();
        self.hosts
            .values()
            .filter(|h| h.sentinel.is_up())
            .map(|h| {
                let named: Option<(String, u16)> = query(h.sentinel_addr, &get)
                    .map_err(|e| format!("Sentinel {}: {e:#}", h.id))?;
                let (ip, port) = named.ok_or(format!("Sentinel {} names no primary", h.id))?;
                let addr = format!("{ip}:{port}").parse().map_err(|e| format!("{e}"))?;
                self.id_of(addr)
                    .ok_or(format!("Sentinel {} names an unknown server {addr}", h.id))
            })
            .collect()
    }

    /// `Ok(primary)` when the running servers form one replication group under `primary`:
    /// it says it is a master, every other running server replicates it with the link up.
    fn replication_converged(&self, primary: u64) -> Result<u64, String> {
        let primary_addr = self
            .hosts
            .get(&primary)
            .map(|h| h.redis_addr)
            .ok_or(format!("no host {primary}"))?;
        for host in self.hosts.values().filter(|h| h.redis.is_up()) {
            let info: String = query(host.redis_addr, redis::cmd("INFO").arg("replication"))
                .map_err(|e| format!("Redis {}: {e:#}", host.id))?;
            let field = |name: &str| {
                info.lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string()
            };
            let ok = if host.id == primary {
                field("role") == "master"
            } else {
                let master = format!("{}:{}", field("master_host"), field("master_port"));
                field("role") == "slave"
                    && master.parse() == Ok(primary_addr)
                    && field("master_link_status") == "up"
            };
            if !ok {
                return Err(format!(
                    "Redis {} is not yet in the group of primary {primary}: role {}, master {}:{}, link {}",
                    host.id,
                    field("role"),
                    field("master_host"),
                    field("master_port"),
                    field("master_link_status")
                ));
            }
        }
        Ok(primary)
    }

    /// `Ok(primary)` when every running Sentinel names `primary` and the servers follow it.
    fn converged(&self) -> Result<u64, String> {
        let named = self
            .named_primaries()
            .into_iter()
            .collect::<Result<Vec<u64>, String>>()?;
        let Some(&primary) = named.first() else {
            return Err("no Sentinel is running".into());
        };
        if named.iter().any(|p| *p != primary) {
            return Err(format!("the Sentinels name different primaries: {named:?}"));
        }
        self.replication_converged(primary)
    }
}

/// One query on a fresh connection, bounded by [`PROBE_TIMEOUT`].
fn query<T: redis::FromRedisValue>(addr: SocketAddr, cmd: &redis::Cmd) -> anyhow::Result<T> {
    let client = redis::Client::open(format!("redis://{addr}/"))?;
    let mut conn = client.get_connection_with_timeout(PROBE_TIMEOUT)?;
    conn.set_read_timeout(Some(PROBE_TIMEOUT))?;
    conn.set_write_timeout(Some(PROBE_TIMEOUT))?;
    Ok(cmd.query(&mut conn)?)
}

impl ClusterControl for RedisSentinelCluster {
    fn members(&self) -> Vec<u64> {
        self.hosts.keys().copied().collect()
    }

    fn resp_addr(&self, id: u64) -> SocketAddr {
        self.hosts
            .get(&id)
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |h| h.redis_addr)
    }

    /// The primary a majority of the Sentinels name.
    fn leader(&self) -> Option<u64> {
        let named: Vec<u64> = self.named_primaries().into_iter().flatten().collect();
        named
            .iter()
            .copied()
            .find(|p| named.iter().filter(|q| *q == p).count() > self.hosts.len() / 2)
    }

    /// Waits until the deployment has converged: every running Sentinel names one primary,
    /// which says it is a master, and every other running server replicates it.
    fn wait_for_leader(&self, timeout: Duration) -> anyhow::Result<u64> {
        poll_until(
            "the Sentinels and Redis servers to agree on one primary",
            timeout,
            Duration::from_millis(100),
            || self.converged().map(Some),
        )
    }

    fn kill9(&mut self, id: u64) -> anyhow::Result<()> {
        self.host(id)?.redis.kill9();
        Ok(())
    }

    fn restart(&mut self, id: u64, env: &[(String, String)]) -> anyhow::Result<()> {
        if !env.is_empty() {
            bail!("the Redis target cannot give a server its own environment");
        }
        let host = self.host(id)?;
        if host.redis.running() {
            bail!("Redis {id} is still running");
        }
        host.start_redis()
    }

    fn pause(&mut self, id: u64) -> anyhow::Result<()> {
        self.host(id)?.redis.signal(Signal::SIGSTOP)
    }

    fn resume(&mut self, id: u64) -> anyhow::Result<()> {
        self.host(id)?.redis.signal(Signal::SIGCONT)
    }

    fn is_running(&mut self, id: u64) -> bool {
        self.hosts.get_mut(&id).is_some_and(|h| h.redis.running())
    }

    fn remove_member(&mut self, _id: u64) -> anyhow::Result<()> {
        bail!("the Redis target has no membership changes")
    }

    fn add_member(&mut self) -> anyhow::Result<u64> {
        bail!("the Redis target has no membership changes")
    }

    fn wipe(&mut self, _id: u64) -> anyhow::Result<()> {
        bail!("the Redis target has no disk faults")
    }

    /// Cuts host `from` (its server, its Sentinel and the clients next to it) off from
    /// host `to`.
    fn drop_link(&mut self, from: u64, to: u64) -> anyhow::Result<()> {
        let hosts = self.hosts.len();
        let from_index = self
            .hosts
            .keys()
            .position(|id| *id == from)
            .with_context(|| format!("no Redis host {from}"))?;
        let from_ip = self.resp_addr(from).ip();
        let mut sources = vec![from_ip];
        sources.extend(
            self.client_sources
                .iter()
                .enumerate()
                .filter(|(c, _)| home(*c as u32, hosts) == from_index)
                .map(|(_, ip)| *ip),
        );
        let net = self
            .net
            .as_mut()
            .context("partitions need the network-namespace deployment (run as root)")?;
        for source in sources {
            let IpAddr::V4(source) = source else {
                bail!("not an IPv4 address: {source}");
            };
            net.drop_from(source, to)?;
        }
        Ok(())
    }

    fn heal_network(&mut self) -> anyhow::Result<()> {
        match self.net.as_mut() {
            Some(net) => net.heal(),
            None => Ok(()),
        }
    }

    fn log_tails(&self) -> String {
        let mut out = String::new();
        for host in self.hosts.values() {
            for name in ["redis.log", "sentinel.log"] {
                let path = host.dir.join(name);
                let log = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = &lines[lines.len().saturating_sub(30)..];
                out.push_str(&format!(
                    "===== {} =====\n{}\n",
                    path.display(),
                    tail.join("\n")
                ));
            }
        }
        out
    }
}

impl Drop for RedisSentinelCluster {
    fn drop(&mut self) {
        for host in self.hosts.values_mut() {
            host.sentinel.kill9();
            host.redis.kill9();
        }
        let keep = std::thread::panicking()
            || std::env::var_os("QUORUM_TEST_KEEP").is_some_and(|v| v != "0");
        if keep {
            if let Some(root) = self.root.take() {
                eprintln!(
                    "chaos: Redis data and logs kept in {}",
                    root.keep().display()
                );
            }
        }
    }
}
