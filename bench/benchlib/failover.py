"""Failover figures: kill -9 of the quorum leader / the Redis primary (watched by 3 Sentinels)
under a steady write load; the longest gap between acknowledged writes around each kill, and
how many acknowledged writes are missing afterwards.

The writers are this module's own (threads, RESP, one connection each): every write is
`SET fo:<writer>:<seq> 1` with a unique key; an ack is recorded with its time; after the last
kill every acknowledged key is read back from the current leader/primary (EXISTS).
"""

import statistics
import threading
import time

from . import resp
from .procs import Timeout, wait_until
from .systems import QuorumCluster, RedisReplicated

WRITERS = 4
PROMOTE_WAIT_S = 420
IO_TIMEOUT_S = 1.0


class Writers:
    def __init__(self, endpoint_fn, tag):
        self.endpoint_fn = endpoint_fn  # () -> port to (re)connect to, or None
        self.tag = tag
        self.acks = []  # (monotonic time, key)
        self.errors = {}
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=(w,), daemon=True) for w in range(WRITERS)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=10)

    def error(self, kind):
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def loop(self, w):
        seq = 0
        conn = None
        rotate = w
        while not self.stop_flag.is_set():
            if conn is None:
                try:
                    port = self.endpoint_fn(rotate)
                    rotate += 1
                    if port is None:
                        raise ConnectionError("no endpoint")
                    conn = resp.Conn(port, timeout=IO_TIMEOUT_S)
                except Exception:  # noqa: BLE001
                    self.error("connect")
                    conn = None
                    time.sleep(0.02)
                    continue
            seq += 1
            key = f"fo:{self.tag}:{w}:{seq}"
            try:
                conn.sock.sendall(resp.encode("SET", key, "1"))
                reply = conn.read_reply()
            except Exception:  # noqa: BLE001 - outcome unknown: not acknowledged
                self.error("io")
                conn.close()
                conn = None
                continue
            if reply == "OK":
                self.acks.append((time.monotonic(), key))
            else:
                self.error(str(reply).split(" ")[0][:20])
                conn.close()
                conn = None
                time.sleep(0.01)
        if conn:
            conn.close()

    def acks_after(self, t):
        return sum(1 for a, _ in self.acks[-2000:] if a > t)


def longest_gap(times, start, end):
    """Longest interval between consecutive acks, over acks in [start, end] plus the last ack
    before `start` (so a gap that began just before the kill counts whole)."""
    before = [t for t in times if t < start]
    inside = [t for t in times if start <= t <= end]
    seq = ([before[-1]] if before else []) + inside
    if len(seq) < 2:
        return None
    return max(b - a for a, b in zip(seq, seq[1:]))


def missing(port, keys, batch=1000):
    lost = 0
    with resp.Conn(port, timeout=30) as c:
        for i in range(0, len(keys), batch):
            chunk = keys[i : i + batch]
            for r in c.pipeline([("EXISTS", k) for k in chunk]):
                if r != 1:
                    lost += 1
    return lost


def gaps_of(writers, kill_times, restart_times):
    """Per kill: the longest gap from the kill until the killed node was restarted (the
    failover), and the longest gap from the restart until the next kill (the rejoin)."""
    times = sorted(a for a, _ in writers.acks)
    end = times[-1] if times else 0
    nxt = kill_times[1:] + [end]
    failover = [longest_gap(times, k, r) for k, r in zip(kill_times, restart_times)]
    rejoin = [longest_gap(times, r, n) for r, n in zip(restart_times, nxt)]
    return failover, rejoin


def summarize(name, gaps, rejoin, writers, lost, note=""):
    g = [x for x in gaps if x is not None]
    rj = [x for x in rejoin if x is not None]
    return {
        "rejoin_gap_max_ms": round(max(rj) * 1000, 1) if rj else None,
        "system": name, "kills": len(gaps),
        "gap_p50_ms": round(statistics.median(g) * 1000, 1) if g else None,
        "gap_max_ms": round(max(g) * 1000, 1) if g else None,
        "gaps_ms": [round(x * 1000, 1) if x is not None else None for x in gaps],
        "acked": len(writers.acks), "lost": lost, "errors": writers.errors, "note": note,
    }


def quorum_failover(workdir, registry, quorum_bin, kills, log):
    c = QuorumCluster(quorum_bin, workdir + "/failover", registry).start()
    ports = list(c.resp_ports.values())
    w = Writers(lambda k: ports[k % len(ports)], "q").start()
    kill_times, restart_times = [], []
    try:
        time.sleep(2)
        for k in range(kills):
            lid = c.wait_ready(timeout=30)
            t = time.monotonic()
            kill_times.append(t)
            c.procs[lid].kill9()
            others = [i for i in c.resp_ports if i != lid]
            wait_until("a new quorum leader", lambda: c.leader_id(among=others) not in (None, lid), 30, interval=0.05)
            wait_until("writes to resume after the kill", lambda: w.acks_after(time.monotonic() - 0.2) > 0 and w.acks[-1][0] > t, 30, interval=0.05)
            restart_times.append(time.monotonic())
            c.start_node(lid)
            c.wait_ready(timeout=30)
            lead_port = c.resp_ports[c.leader_id()]

            def caught_up():
                commit = int(resp.info(lead_port, "raft")["raft_commit_index"])
                return int(c.raft(lid)["raft_applied_index"]) >= commit - 1000

            wait_until(f"restarted node {lid} to catch up", caught_up, 60, interval=0.1)
            time.sleep(1.0)
            log(f"  quorum kill {k + 1}/{kills}: leader {lid} killed; writes resumed, node back")
        time.sleep(1.0)
    finally:
        w.stop()
    gaps, rejoin = gaps_of(w, kill_times, restart_times)
    lid = c.wait_ready(timeout=30)
    lost = missing(c.resp_ports[lid], [key for _, key in w.acks])
    c.stop()
    return summarize("quorum (3 nodes, default settings)", gaps, rejoin, w, lost)


def sentinel_failover(workdir, registry, kills, down_after_ms, log):
    tag = f"-s{down_after_ms or 'default'}"
    r = RedisReplicated(workdir + "/failover", registry, sentinels=True, down_after_ms=down_after_ms, tag=tag).start()
    w = Writers(lambda _k: r.primary_port(), "r" + tag).start()
    kill_times, restart_times = [], []
    note = ""
    try:
        time.sleep(2)
        for k in range(kills):
            primary = r.primary_port()
            node = r.node_by_port(primary)
            t = time.monotonic()
            kill_times.append(t)
            node.proc.kill9()
            try:
                # Sentinel retries a failed failover only after 2 x failover-timeout (default 180 s).
                wait_until("Sentinel to promote a replica", lambda: r.primary_port() not in (None, primary), PROMOTE_WAIT_S, interval=0.1)
            except Timeout:
                note = f"kill {k + 1}: no replica promoted within {PROMOTE_WAIT_S} s; kills stopped there"
                log(f"  {note}")
                restart_times.append(time.monotonic())
                node.start()  # still the primary as far as Sentinel knows: read back from it
                node.wait_ping(timeout=30)
                break
            wait_until("writes to resume", lambda: w.acks and w.acks[-1][0] > t, 60, interval=0.05)
            restart_times.append(time.monotonic())
            node.start()
            node.wait_ping(timeout=30)

            def rejoined():
                rep = resp.info(node.port, "replication", timeout=1.0)
                return rep.get("role") == "slave" and rep.get("master_link_status") == "up"

            wait_until(f"restarted Redis :{node.port} to rejoin as a replica", rejoined, 120, interval=0.2)
            time.sleep(1.0)
            log(f"  Redis+Sentinel ({down_after_ms or 'default'} ms) kill {k + 1}/{kills}: primary :{primary} killed; replica promoted")
        time.sleep(1.0)
    finally:
        w.stop()
    gaps, rejoin = gaps_of(w, kill_times, restart_times)
    primary = r.primary_port()
    lost = missing(primary, [key for _, key in w.acks])
    r.stop()
    name = f"Redis primary + 2 replicas + 3 Sentinels, down-after-milliseconds {down_after_ms or '30000 (default)'}"
    return summarize(name, gaps, rejoin, w, lost, note)


def run(args, workdir, registry, quorum_bin, keys, log):
    rows = []
    smoke = args.smoke
    if "quorum" in keys:
        log("failover: quorum")
        rows.append(quorum_failover(workdir, registry, quorum_bin, 1 if smoke else 10, log))
    if any(k.startswith("redis") for k in keys):
        log("failover: Redis + Sentinel, down-after 1000 ms")
        rows.append(sentinel_failover(workdir, registry, 1 if smoke else 10, 1000, log))
        if not smoke:
            log("failover: Redis + Sentinel, default down-after (30 s)")
            rows.append(sentinel_failover(workdir, registry, 3, None, log))
    md = [
        "## Failover", "",
        f"{WRITERS} writers (this harness's own, one connection each, `SET` of unique keys, 1 s I/O timeout, reconnecting to "
        "any quorum node / to the primary Sentinel names) run throughout; the leader / primary is killed with `kill -9`, "
        "then restarted and waited for (caught up / replica again) before the next kill. Gap: the longest time between two "
        "consecutive acknowledged writes (all writers together) from each kill until the killed node is restarted; the "
        "rejoin column is the same measure from the restart until the next kill. Lost: acknowledged keys missing when read "
        "back from the final leader / primary. Redis with the default 30 s detection: 3 kills (each costs over 30 s).", "",
        "| system | kills | longest gap p50 | longest gap max | longest gap while the killed node rejoins (max) | acknowledged writes | lost acknowledged writes | failed/unknown writes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        errs = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "0"
        p50 = f"{r['gap_p50_ms']:,.0f} ms" if r["gap_p50_ms"] is not None else "-"
        mx = f"{r['gap_max_ms']:,.0f} ms" if r["gap_max_ms"] is not None else "-"
        rj = f"{r['rejoin_gap_max_ms']:,.0f} ms" if r["rejoin_gap_max_ms"] is not None else "-"
        md.append(f"| {r['system']}{' (' + r['note'] + ')' if r['note'] else ''} | {r['kills']} | {p50} | {mx} | {rj} | {r['acked']:,} | {r['lost']:,} | {errs} |")
    return {"rows": rows, "markdown": md}
