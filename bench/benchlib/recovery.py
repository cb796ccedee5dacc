"""Recovery figures for quorum: restart-to-serving of a node holding 1 M keys, and of a
follower that was stopped while 1 M writes were committed without it."""

import time

from . import resp
from .procs import Timeout, wait_until
from .systems import QuorumCluster

VALUE = b"v" * 100
CATCH_UP_WAIT_S = 180


def load_keys(port, n, prefix):
    t = time.monotonic()
    res = resp.bulk_load(port, n, VALUE, prefix=prefix, timeout=120)
    return res, time.monotonic() - t


def serves(port, key):
    """The node answers a READONLY GET of `key` with the loaded value."""
    with resp.Conn(port, timeout=1.0) as c:
        c.call("READONLY")
        return c.call("GET", key) == VALUE


def raft_int(c, i, field):
    return int(c.raft(i).get(field, "0") or 0)


def run(args, workdir, registry, quorum_bin, log):
    n = 20_000 if args.smoke else 1_000_000
    c = QuorumCluster(quorum_bin, workdir + "/recovery", registry).start()
    rows, notes = [], []
    try:
        lid = c.wait_ready()
        fid = c.follower_id()
        lport = c.resp_ports[lid]
        res, took = load_keys(lport, n, "k:")
        log(f"recovery: {res.describe(n)} in {took:.1f} s ({res.acks / took:,.0f}/s, pipelined SET, 100 B values)")
        if res.acks < n:
            notes.append(f"first load: {res.describe(n)}")
        last = f"k:{res.last_acked}"
        wait_until("the follower to apply the load", lambda: serves(c.resp_ports[fid], last), 120, interval=0.2)
        info = c.raft(fid)
        # 1) restart with all keys on disk.
        c.procs[fid].stop()
        t = time.monotonic()
        c.start_node(fid)
        wait_until(f"node {fid} to serve after restart", lambda: serves(c.resp_ports[fid], last), 300, interval=0.05)
        took1 = time.monotonic() - t
        rows.append({"case": f"restart of a follower holding {res.acks:,} keys of 100 B", "seconds": round(took1, 2),
                     "detail": f"log {info.get('raft_last_log_index')} entries, snapshot at index {info.get('raft_snapshot_index')}"})
        log(f"recovery: node {fid} serves {took1:.2f} s after restart ({rows[-1]['detail']})")
        # 2) restart behind by n writes.
        lid = c.wait_ready()
        fid = next(i for i in c.resp_ports if i != lid)
        lport = c.resp_ports[lid]
        before = raft_int(c, lid, "raft_last_log_index")
        c.procs[fid].stop()
        res2, _ = load_keys(lport, n, "b:")
        acks2 = res2.acks
        if acks2 < n:
            notes.append(f"second load: {res2.describe(n)}")
        entries = raft_int(c, lid, "raft_last_log_index") - before
        commit = raft_int(c, lid, "raft_commit_index")
        last2 = f"b:{res2.last_acked}"
        t = time.monotonic()
        c.start_node(fid)
        case = f"restart of a follower {acks2:,} writes behind ({entries:,} log entries: the proposer batches writes)"
        try:
            wait_until(f"node {fid} to catch up", lambda: raft_int(c, fid, "raft_applied_index") >= commit and serves(c.resp_ports[fid], last2), CATCH_UP_WAIT_S, interval=0.05)
        except Timeout:
            applied = raft_int(c, fid, "raft_applied_index")
            info = c.raft(fid)
            rows.append({"case": case, "seconds": None,
                         "detail": f"NOT caught up after {CATCH_UP_WAIT_S} s: applied index {applied} of {commit}, term {info.get('raft_term')} "
                                   f"(leader's term {c.raft(lid).get('raft_term')}); see the node's log for AppendEntries timeouts"})
            log(f"recovery: node {fid} {rows[-1]['detail']}")
        else:
            took2 = time.monotonic() - t
            snap = c.raft(fid).get("raft_snapshot_index")
            rows.append({"case": case, "seconds": round(took2, 2), "detail": f"caught up to commit index {commit}; its snapshot index afterwards {snap}"})
            log(f"recovery: node {fid} caught up {took2:.2f} s after restart ({rows[-1]['detail']})")
    finally:
        c.stop()
    md = ["## Recovery (quorum)", "",
          "Time from starting the node's process until it answers a `READONLY` `GET` of the last key written "
          "(and, when behind, until its applied index reaches the leader's commit index at restart). Keys loaded "
          "with pipelined `SET`s of 100 B values through the leader; the node was stopped with SIGTERM.", "",
          "| case | restart to serving | detail |", "|---|---|---|"]
    md += [f"| {r['case']} | {str(r['seconds']) + ' s' if r['seconds'] is not None else 'did not finish'} | {r['detail']} |" for r in rows]
    if notes:
        md += ["", "Loading did not go cleanly: " + "; ".join(notes) + "."]
    return {"rows": rows, "notes": notes, "markdown": md}
