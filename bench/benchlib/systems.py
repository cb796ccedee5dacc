"""The systems under comparison: each starts on free loopback ports in its own temp dir,
waits until it serves (bounded), exposes its endpoints, and is stopped by the Registry.

Every class has: `name`, `durability` (text for the table), `start()`, `stop()`, and `targets()`
(what to drive: label, protocol, endpoints, workload kind, extra generator flags).
"""

import json
import os
import shutil
import subprocess
import urllib.request

from . import resp
from .procs import free_ports, wait_until

START_TIMEOUT_S = 60


class Target:
    """One thing to drive: a row of the results.

    kind: "write" or "read"; workload: the generator's --workload; flags: extra generator flags.
    """

    def __init__(self, system, label, kind, protocol, endpoints, workload, flags=(), pipeline_ok=True, setup=None):
        self.system = system
        self.label = label
        self.kind = kind
        self.protocol = protocol
        self.endpoints = endpoints
        self.workload = workload
        self.flags = list(flags)
        self.pipeline_ok = pipeline_ok
        self.setup = setup  # callable(cell_index) -> extra flags, e.g. a fresh NATS stream


def http_get(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def http_post_json(url, body, timeout=2.0):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


# ---------------------------------------------------------------------------------------------
# quorum


class QuorumCluster:
    """Three `quorum node` processes with default settings (what `quorum dev` starts), managed
    one by one so that a node can be killed and restarted."""

    key = "quorum"
    name = "quorum (3 nodes)"
    durability = "Raft, 3 nodes; ack after fsync on a majority (2 of 3); loses no acknowledged write when a minority crashes"
    replication = "synchronous (majority)"

    def __init__(self, binary, workdir, registry, nodes=3, wrap=None):
        self.binary = binary
        self.dir = os.path.join(workdir, "quorum")
        self.registry = registry
        self.n = nodes
        self.wrap = wrap  # callable(node_id, argv) -> argv, e.g. to run a node under strace
        self.procs = {}
        ports = free_ports(3 * nodes)
        self.resp_ports = {i + 1: ports[i] for i in range(nodes)}
        self.peer_ports = {i + 1: ports[nodes + i] for i in range(nodes)}
        self.http_ports = {i + 1: ports[2 * nodes + i] for i in range(nodes)}

    def argv(self, i):
        initial = ",".join(f"{j}=127.0.0.1:{self.peer_ports[j]}" for j in self.resp_ports)
        argv = [
            self.binary, "node", "--id", str(i), "--data-dir", os.path.join(self.dir, f"n{i}"),
            "--listen", f"127.0.0.1:{self.resp_ports[i]}",
            "--peer-listen", f"127.0.0.1:{self.peer_ports[i]}",
            "--http-listen", f"127.0.0.1:{self.http_ports[i]}",
            "--initial-cluster", initial,
            # As `quorum dev` does: nodes sharing one machine share its cores.
            "--worker-threads", str(max(1, (os.cpu_count() or 1) // self.n)),
        ]
        return self.wrap(i, argv) if self.wrap else argv

    def start_node(self, i):
        os.makedirs(self.dir, exist_ok=True)
        self.procs[i] = self.registry.start(f"quorum-n{i}", self.argv(i), os.path.join(self.dir, f"n{i}.log"))

    def start(self):
        for i in self.resp_ports:
            self.start_node(i)
        self.wait_ready()
        return self

    def raft(self, i):
        return resp.info(self.resp_ports[i], "raft", timeout=1.0)

    def leader_id(self, among=None):
        """The leader a majority of live nodes agree on, or None."""
        votes = {}
        for i in among or self.resp_ports:
            try:
                lid = int(self.raft(i).get("raft_leader_id", "0") or 0)
            except Exception:  # noqa: BLE001
                continue
            if lid:
                votes[lid] = votes.get(lid, 0) + 1
        for lid, v in votes.items():
            if v * 2 > self.n:
                return lid
        return None

    def wait_ready(self, timeout=START_TIMEOUT_S, nodes=None):
        nodes = nodes or list(self.resp_ports)

        def ready():
            for i in nodes:
                if not self.procs[i].alive():
                    raise RuntimeError(f"quorum node {i} exited:\n{self.procs[i].log_tail()}")
                http_get(f"http://127.0.0.1:{self.http_ports[i]}/readyz", timeout=1.0)
            return self.leader_id()

        return wait_until("quorum cluster to elect a leader", ready, timeout)

    def follower_id(self):
        lid = self.leader_id()
        return next(i for i in self.resp_ports if i != lid)

    def targets(self):
        lid = self.wait_ready()
        fid = next(i for i in self.resp_ports if i != lid)
        lead = [f"127.0.0.1:{self.resp_ports[lid]}"]
        foll = [f"127.0.0.1:{self.resp_ports[fid]}"]
        return [
            Target(self, "quorum SET (leader)", "write", "resp", lead, "set"),
            Target(self, "quorum GET (leader, linearizable)", "read", "resp", lead, "get"),
            Target(self, "quorum GET (follower, READONLY)", "read", "resp", foll, "get", ["--readonly"]),
        ]

    def pids(self):
        return {i: p.pid for i, p in self.procs.items() if p.alive()}

    def stop(self):
        for p in self.procs.values():
            p.stop()


# ---------------------------------------------------------------------------------------------
# Redis


def redis_conf(port, directory, fsync, replicaof=None):
    lines = [
        f"port {port}", "bind 127.0.0.1", "protected-mode no", f"dir {directory}",
        "appendonly yes", f"appendfsync {fsync}", 'save ""', "daemonize no", 'logfile ""',
    ]
    if replicaof:
        lines.append(f"replicaof 127.0.0.1 {replicaof}")
    return "\n".join(lines) + "\n"


class RedisNode:
    def __init__(self, registry, directory, name, port, fsync, replicaof=None):
        self.registry = registry
        self.dir = directory
        self.name = name
        self.port = port
        # One directory per instance: the AOF directory and dump file names are fixed.
        self.data_dir = os.path.join(directory, name)
        self.conf_path = os.path.join(directory, f"{name}.conf")
        os.makedirs(self.data_dir, exist_ok=True)
        with open(self.conf_path, "w") as f:
            f.write(redis_conf(port, self.data_dir, fsync, replicaof))
        self.proc = None

    def start(self):
        self.proc = self.registry.start(self.name, ["redis-server", self.conf_path], os.path.join(self.dir, f"{self.name}.log"))
        return self

    def wait_ping(self, timeout=START_TIMEOUT_S):
        def ping():
            if not self.proc.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.proc.log_tail()}")
            return resp.call(self.port, "PING", timeout=1.0) == "PONG"

        wait_until(f"{self.name} to answer PING", ping, timeout)


class RedisSingle:
    replication = "none"

    def __init__(self, workdir, registry, fsync):
        self.fsync = fsync
        self.key = f"redis-{fsync}"
        self.name = f"Redis 1 node, AOF {fsync}"
        self.durability = (
            "1 node, AOF appendfsync always (fsync before the reply); a single copy"
            if fsync == "always"
            else "1 node, AOF appendfsync everysec: a crash loses up to ~1 s of acknowledged writes; a single copy"
        )
        (port,) = free_ports(1)
        self.node = RedisNode(registry, os.path.join(workdir, self.key), self.key, port, fsync)

    def start(self):
        self.node.start().wait_ping()
        return self

    def targets(self):
        ep = [f"127.0.0.1:{self.node.port}"]
        out = [Target(self, self.name + " SET", "write", "resp", ep, "set")]
        if self.fsync == "always":
            out.append(Target(self, self.name + " GET", "read", "resp", ep, "get"))
        return out

    def pids(self):
        return {1: self.node.proc.pid}

    def stop(self):
        self.node.proc.stop()


def replication_info(port):
    return resp.info(port, "replication", timeout=1.0)


class RedisReplicated:
    """A primary and 2 replicas (asynchronous replication), AOF always on all three;
    optionally 3 Sentinels monitoring the primary."""

    key = "redis-replicas"
    name = "Redis primary + 2 replicas, AOF always"
    durability = (
        "primary + 2 asynchronous replicas, AOF always on all; the primary acks before replicas "
        "have the write: a failover can lose acknowledged writes"
    )
    replication = "asynchronous"

    def __init__(self, workdir, registry, sentinels=False, down_after_ms=None, tag=""):
        self.registry = registry
        self.dir = os.path.join(workdir, f"redis-repl{tag}")
        ports = free_ports(6)
        self.nodes = [RedisNode(registry, self.dir, f"redis{tag}-r{i}", ports[i], "always", None if i == 0 else ports[0]) for i in range(3)]
        self.sentinel_ports = ports[3:]
        self.want_sentinels = sentinels
        self.down_after = down_after_ms  # None: Sentinel's default (30 s)
        self.sentinels = []

    def start(self):
        for n in self.nodes:
            n.start()
        for n in self.nodes:
            n.wait_ping()

        def linked():
            for n in self.nodes[1:]:
                if replication_info(n.port).get("master_link_status") != "up":
                    return False
            return True

        wait_until("Redis replicas to sync with the primary", linked, START_TIMEOUT_S)
        if self.want_sentinels:
            self.start_sentinels()
        return self

    def start_sentinels(self):
        for i, port in enumerate(self.sentinel_ports):
            path = os.path.join(self.dir, f"sentinel{i}.conf")
            lines = [
                f"port {port}", "bind 127.0.0.1", "protected-mode no", "daemonize no", 'logfile ""',
                f"dir {self.dir}",
                f"sentinel monitor mymaster 127.0.0.1 {self.nodes[0].port} 2",
            ]
            if self.down_after:
                lines.append(f"sentinel down-after-milliseconds mymaster {self.down_after}")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            proc = self.registry.start(f"sentinel{i}", ["redis-sentinel", path], os.path.join(self.dir, f"sentinel{i}.log"))
            self.sentinels.append(proc)

        def sentinels_ready():
            for port in self.sentinel_ports:
                info = resp.info(port, "sentinel", timeout=1.0)
                m = info.get("master0", "")
                if "status=ok" not in m or "sentinels=3" not in m or "slaves=2" not in m:
                    return False
            return True

        wait_until("3 Sentinels to see the primary, 2 replicas and each other", sentinels_ready, START_TIMEOUT_S, interval=0.3)

    def primary_port(self):
        """The primary as the Sentinels report it (or node 0 without Sentinels)."""
        if not self.sentinels:
            return self.nodes[0].port
        for port in self.sentinel_ports:
            try:
                host, p = resp.call(port, "SENTINEL", "get-master-addr-by-name", "mymaster", timeout=0.5)
                return int(p)
            except Exception:  # noqa: BLE001
                continue
        return None

    def node_by_port(self, port):
        return next(n for n in self.nodes if n.port == port)

    def targets(self):
        ep = [f"127.0.0.1:{self.nodes[0].port}"]
        return [Target(self, self.name + " SET", "write", "resp", ep, "set")]

    def pids(self):
        return {i + 1: n.proc.pid for i, n in enumerate(self.nodes)}

    def stop(self):
        for s in self.sentinels:
            s.stop()
        for n in self.nodes:
            n.proc.stop()


# ---------------------------------------------------------------------------------------------
# etcd


def etcd_binary():
    for path in (shutil.which("etcd"), "/usr/bin/etcd"):
        if path and os.path.exists(path):
            return path
    raise RuntimeError("etcd not found (Debian package etcd-server)")


class EtcdCluster:
    key = "etcd"
    name = "etcd 3 members"
    durability = "Raft, 3 members; ack after the WAL entry is fsynced on a majority"
    replication = "synchronous (majority)"

    def __init__(self, workdir, registry):
        self.registry = registry
        self.dir = os.path.join(workdir, "etcd")
        ports = free_ports(6)
        self.client_ports = ports[:3]
        self.peer_ports = ports[3:]
        self.procs = []

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        initial = ",".join(f"e{i}=http://127.0.0.1:{p}" for i, p in enumerate(self.peer_ports))
        for i in range(3):
            c, p = self.client_ports[i], self.peer_ports[i]
            argv = [
                etcd_binary(), "--name", f"e{i}", "--data-dir", os.path.join(self.dir, f"e{i}"),
                "--listen-client-urls", f"http://127.0.0.1:{c}", "--advertise-client-urls", f"http://127.0.0.1:{c}",
                "--listen-peer-urls", f"http://127.0.0.1:{p}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{p}",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", "quorum-bench", "--logger", "zap", "--log-level", "warn",
                # A whole run writes a few GB of 16 KiB values with full MVCC history: keep the
                # default 2 GB quota from stopping it (quota only; no effect on the write path).
                "--quota-backend-bytes", str(8 * 1024**3),
            ]
            self.procs.append(self.registry.start(f"etcd{i}", argv, os.path.join(self.dir, f"e{i}.log"), env=dict(os.environ, ETCD_UNSUPPORTED_ARCH="")))

        def healthy():
            for i, c in enumerate(self.client_ports):
                if not self.procs[i].alive():
                    raise RuntimeError(f"etcd{i} exited:\n{self.procs[i].log_tail()}")
                _, body = http_get(f"http://127.0.0.1:{c}/health", timeout=1.0)
                if json.loads(body).get("health") != "true":
                    return False
            return self.leader_port() is not None

        wait_until("etcd members to be healthy with a leader", healthy, START_TIMEOUT_S, interval=0.2)
        return self

    def leader_port(self):
        for c in self.client_ports:
            st = http_post_json(f"http://127.0.0.1:{c}/v3/maintenance/status", {}, timeout=1.0)
            if st.get("leader") and st.get("header", {}).get("member_id") == st.get("leader"):
                return c
        return None

    def targets(self):
        lead = [f"127.0.0.1:{self.leader_port()}"]
        return [
            Target(self, "etcd put", "write", "etcd", lead, "set", pipeline_ok=False),
            Target(self, "etcd range (linearizable)", "read", "etcd", lead, "get", pipeline_ok=False),
            Target(self, "etcd range (serializable)", "read", "etcd", lead, "get", ["--serializable"], pipeline_ok=False),
        ]

    def pids(self):
        return {i + 1: p.pid for i, p in enumerate(self.procs)}

    def stop(self):
        for p in self.procs:
            p.stop()


# ---------------------------------------------------------------------------------------------
# NATS JetStream


def nats_binary():
    for path in (shutil.which("nats-server"), "/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if path and os.path.exists(path):
            return path
    raise RuntimeError("nats-server not found (Debian package nats-server)")


def nats_supports_sync_always(workdir):
    """Whether this nats-server accepts `jetstream { sync_interval: always }` (2.10+)."""
    path = os.path.join(workdir, "nats-sync-probe.conf")
    with open(path, "w") as f:
        f.write(f'jetstream {{ store_dir: "{workdir}/nats-probe", sync_interval: always }}\n')
    r = subprocess.run([nats_binary(), "-t", "-c", path], capture_output=True, text=True, timeout=20)
    text = (r.stdout + r.stderr).strip().replace(path + ":", "config ")
    return r.returncode == 0, text


def nats_version():
    r = subprocess.run([nats_binary(), "--version"], capture_output=True, text=True, timeout=20)
    return r.stdout.strip()


class NatsCluster:
    replication = "synchronous (R3 Raft, majority)"

    def __init__(self, workdir, registry, sync_always=False):
        self.registry = registry
        self.sync_always = sync_always
        self.key = "nats-always" if sync_always else "nats"
        self.name = "NATS JetStream R3" + (", sync_interval always" if sync_always else ", default sync")
        self.durability = (
            "3 servers, R3 stream (Raft); ack after a majority stored the message, each fsyncing before the ack"
            if sync_always
            else "3 servers, R3 stream (Raft); ack after a majority wrote the message to the OS, fsync only every 2 min "
            "(default sync_interval): a crash of a majority of machines can lose acknowledged messages"
        )
        self.dir = os.path.join(workdir, self.key)
        ports = free_ports(9)
        self.client_ports = ports[:3]
        self.route_ports = ports[3:6]
        self.http_ports = ports[6:]
        self.procs = []
        self.streams = 0

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        for i in range(3):
            routes = ", ".join(f"nats://127.0.0.1:{p}" for j, p in enumerate(self.route_ports) if j != i)
            sync = ", sync_interval: always" if self.sync_always else ""
            conf = (
                f'server_name: "n{i}"\nlisten: "127.0.0.1:{self.client_ports[i]}"\n'
                f'http: "127.0.0.1:{self.http_ports[i]}"\n'
                f'jetstream {{ store_dir: "{self.dir}/n{i}"{sync} }}\n'
                f'cluster {{ name: "quorumbench", listen: "127.0.0.1:{self.route_ports[i]}", routes: [{routes}] }}\n'
            )
            path = os.path.join(self.dir, f"n{i}.conf")
            with open(path, "w") as f:
                f.write(conf)
            self.procs.append(self.registry.start(f"{self.key}{i}", [nats_binary(), "-c", path], os.path.join(self.dir, f"n{i}.log")))

        def healthy():
            for i, hp in enumerate(self.http_ports):
                if not self.procs[i].alive():
                    raise RuntimeError(f"nats n{i} exited:\n{self.procs[i].log_tail()}")
                status, _ = http_get(f"http://127.0.0.1:{hp}/healthz", timeout=1.0)
                if status != 200:
                    return False
                _, body = http_get(f"http://127.0.0.1:{hp}/jsz", timeout=1.0)
                meta = json.loads(body).get("meta_cluster", {})
                if not meta.get("leader"):
                    return False
            return True

        wait_until("NATS JetStream meta leader on all 3 servers", healthy, START_TIMEOUT_S, interval=0.3)
        return self

    def fresh_stream(self, _cell):
        """A new R3 stream for every measurement, so every cell starts from an empty stream."""
        self.streams += 1
        name = f"BENCH{self.streams}"
        return ["--nats-stream", name, "--nats-create-stream", "--nats-replicas", "3"]

    def targets(self):
        eps = [f"127.0.0.1:{p}" for p in self.client_ports]
        return [Target(self, self.name + " publish", "write", "nats", eps, "set", pipeline_ok=False, setup=self.fresh_stream)]

    def pids(self):
        return {i + 1: p.pid for i, p in enumerate(self.procs)}

    def stop(self):
        for p in self.procs:
            p.stop()

