"""Resource figures: resident memory with 1 M keys of 100 B (quorum per node vs redis-server),
disk bytes written per acknowledged write (/proc/PID/io write_bytes), and quorum's fsyncs per
second against acknowledged writes per second at each client count (strace on fsync-family
calls only, through a seccomp filter, so other system calls run untraced)."""

import os
import re

from . import resp
from .load import Cell
from .procs import Timeout, wait_until
from .systems import QuorumCluster, RedisSingle

VALUE = b"v" * 100
SYNC_CALLS = ("fsync", "fdatasync", "sync_file_range", "syncfs")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return None


def write_bytes(pid):
    with open(f"/proc/{pid}/io") as f:
        for ln in f:
            if ln.startswith("write_bytes:"):
                return int(ln.split()[1])
    return 0


def quorum_pid(proc):
    """The quorum process of a node (the strace wrapper's child when wrapped)."""
    pid = proc.pid
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
        return kids[0] if kids else pid
    except OSError:
        return pid


def count_syncs(path):
    counts = dict.fromkeys(SYNC_CALLS, 0)
    try:
        with open(path, errors="replace") as f:
            for ln in f:
                if "resumed>" in ln:
                    continue
                m = re.search(r"\b(fsync|fdatasync|sync_file_range|syncfs)\(", ln)
                if m:
                    counts[m.group(1)] += 1
    except OSError:
        pass
    return counts


def mib(kib):
    return f"{kib / 1024:,.0f} MiB" if kib is not None else "-"


def run(args, gen, workdir, registry, quorum_bin, keys, log):
    n = 20_000 if args.smoke else 1_000_000
    duration = args.duration
    md = ["## Resources", ""]
    data = {}
    # 1) RSS with n keys of 100 B.
    rss_rows = []
    if "quorum" in keys:
        c = QuorumCluster(quorum_bin, workdir + "/res-rss", registry).start()
        try:
            lid = c.wait_ready()
            base = {i: rss_kib(quorum_pid(p)) for i, p in c.procs.items()}
            res = resp.bulk_load(c.resp_ports[lid], n, VALUE, prefix="k:", timeout=120)
            log(f"resources: quorum {res.describe(n)}")
            try:
                for i in c.resp_ports:
                    wait_until("every node to apply the load", lambda i=i: int(c.raft(i)["raft_applied_index"]) >= int(c.raft(lid)["raft_commit_index"]), 120)
            except Timeout as err:
                log(f"resources: {err}; RSS measured anyway")
                data["rss_note"] = str(err)
            for i, p in c.procs.items():
                role = "leader" if i == lid else "follower"
                rss_rows.append({"process": f"quorum node {i} ({role})", "empty_kib": base[i], "loaded_kib": rss_kib(quorum_pid(p)),
                                 "keys": res.acks})
        finally:
            c.stop()
    if any(k.startswith("redis") for k in keys):
        r = RedisSingle(workdir + "/res-rss", registry, "always").start()
        try:
            base = rss_kib(r.node.proc.pid)
            res = resp.bulk_load(r.node.port, n, VALUE, prefix="k:", timeout=120)
            rss_rows.append({"process": "redis-server (1 node, AOF always)", "empty_kib": base, "loaded_kib": rss_kib(r.node.proc.pid),
                             "keys": res.acks})
        finally:
            r.stop()
    data["rss"] = rss_rows
    md += [f"Resident memory (VmRSS) after loading {n:,} keys with 100 B values (pipelined SET); keys `k:0`..:", "",
           "| process | empty | loaded | keys acknowledged |", "|---|---|---|---|"]
    md += [f"| {x['process']} | {mib(x['empty_kib'])} | {mib(x['loaded_kib'])} | {x['keys']:,} |" for x in rss_rows] + [""]
    if data.get("rss_note"):
        md += [f"Note: {data['rss_note']}", ""]

    # 2) + 3) disk bytes per acknowledged write, and fsyncs per second (quorum under strace).
    io_rows, sync_rows = [], []
    sizes = [16] if args.smoke else [16, 1024]
    client_counts = [4] if args.smoke else [1, 10, 50, 200]
    if "quorum" in keys:
        trace_dir = os.path.join(workdir, "res-strace")
        os.makedirs(trace_dir, exist_ok=True)

        def wrap(i, argv):
            return ["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=" + ",".join(SYNC_CALLS), "-o", os.path.join(trace_dir, f"n{i}.trace")] + argv

        c = QuorumCluster(quorum_bin, workdir + "/res-io", registry, wrap=wrap).start()
        try:
            for t in c.targets():
                if t.kind == "write":
                    target = t
            lid = c.wait_ready()
            pids = {i: quorum_pid(p) for i, p in c.procs.items()}
            for size in sizes:
                cell = Cell(50, 1, size)
                before = {i: write_bytes(p) for i, p in pids.items()}
                res = gen.run(target, cell, 100_000, duration, 0)
                if "failed" in res:
                    log(f"resources: quorum write run failed: {res['failed']}")
                    continue
                after = {i: write_bytes(p) for i, p in pids.items()}
                acks = res.get("ok") or 0
                per = {i: (after[i] - before[i]) / acks if acks else None for i in pids}
                io_rows.append({"system": "quorum (3 nodes)", "value_size": size, "acks": acks,
                                "bytes_per_ack_total": sum(v for v in per.values() if v) if acks else None,
                                "bytes_per_ack_leader": per[lid],
                                "bytes_per_ack_follower": max(v for i, v in per.items() if i != lid) if acks else None})
            for clients in client_counts:
                cell = Cell(clients, 1, 16)
                b = {i: count_syncs(os.path.join(trace_dir, f"n{i}.trace")) for i in pids}
                res = gen.run(target, cell, 100_000, duration, 0)
                a = {i: count_syncs(os.path.join(trace_dir, f"n{i}.trace")) for i in pids}
                if "failed" in res:
                    log(f"resources: quorum fsync run failed: {res['failed']}")
                    continue
                secs = res.get("duration_s") or duration
                syncs = {i: sum(a[i].values()) - sum(b[i].values()) for i in pids}
                calls = sorted({k for i in pids for k in SYNC_CALLS if a[i][k] > b[i][k]})
                sync_rows.append({"clients": clients, "acks_per_s": res.get("throughput"),
                                  "leader_syncs_per_s": syncs[lid] / secs,
                                  "follower_syncs_per_s": max(v for i, v in syncs.items() if i != lid) / secs,
                                  "calls": calls})
                log(f"resources: {clients} clients: {res.get('throughput', 0):,.0f} acks/s, leader {syncs[lid] / secs:,.0f} syncs/s")
        finally:
            c.stop()
    if any(k.startswith("redis") for k in keys):
        r = RedisSingle(workdir + "/res-io", registry, "always").start()
        try:
            target = r.targets()[0]
            for size in sizes:
                before = write_bytes(r.node.proc.pid)
                res = gen.run(target, Cell(50, 1, size), 100_000, duration, 0)
                if "failed" in res:
                    continue
                acks = res.get("ok") or 0
                per = (write_bytes(r.node.proc.pid) - before) / acks if acks else None
                io_rows.append({"system": "redis-server (1 node, AOF always)", "value_size": size, "acks": acks,
                                "bytes_per_ack_total": per, "bytes_per_ack_leader": per, "bytes_per_ack_follower": None})
        finally:
            r.stop()
    data["io"] = io_rows
    data["syncs"] = sync_rows
    f = lambda v: f"{v:,.0f}" if v is not None else "-"  # noqa: E731
    md += ["Disk bytes written per acknowledged write (`/proc/PID/io` `write_bytes` delta / acknowledged SETs; 50 clients, "
           "pipeline 1, 100,000 keys). quorum: all three nodes together, and the leader and one follower alone:", "",
           "| system | value | acknowledged writes | bytes/ack (all nodes) | leader / primary | follower |", "|---|---|---|---|---|---|"]
    md += [f"| {x['system']} | {x['value_size']} B | {x['acks']:,} | {f(x['bytes_per_ack_total'])} | {f(x['bytes_per_ack_leader'])} | "
           f"{f(x['bytes_per_ack_follower'])} |" for x in io_rows] + [""]
    if sync_rows:
        md += ["quorum: fsync-family calls per second against acknowledged writes per second (SET, 16 B, pipeline 1; every node "
               "under `strace -f --seccomp-bpf -e trace=" + ",".join(SYNC_CALLS) + "`, which slows each sync call slightly). "
               "Fewer syncs than writes is group commit:", "",
               "| clients | acknowledged writes/s | leader syncs/s | follower syncs/s | writes per leader sync | calls seen |",
               "|---|---|---|---|---|---|"]
        for x in sync_rows:
            ratio = x["acks_per_s"] / x["leader_syncs_per_s"] if x["leader_syncs_per_s"] else None
            md.append(f"| {x['clients']} | {f(x['acks_per_s'])} | {f(x['leader_syncs_per_s'])} | {f(x['follower_syncs_per_s'])} | "
                      f"{ratio:.1f} | {', '.join(x['calls'])} |" if ratio else
                      f"| {x['clients']} | {f(x['acks_per_s'])} | {f(x['leader_syncs_per_s'])} | {f(x['follower_syncs_per_s'])} | - | {', '.join(x['calls'])} |")
    data["markdown"] = md
    return data
