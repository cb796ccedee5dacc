"""BENCHMARKS.md, the raw JSON and the SVG charts from one run's data."""

import json
import os

from .svg import line_chart


NOTES = [
    "Every system runs on the same machine as every other process of the run, including the load generator: "
    "the figures compare the systems with each other here, not with a deployment on separate machines.",
    "Closed loop: each client sends its next request (or pipeline of requests) when the previous reply arrived. "
    "Latency is per request; with pipeline 16 a request's latency includes waiting behind the others of its batch.",
    "Pipelining (16) is measured for the RESP systems only: etcd's generator client sends one unary gRPC call at a "
    "time per client and JetStream publishes wait for their ack, so their concurrency is the client count.",
    "NATS JetStream has no keyed reads comparable to GET: its row has writes (publish with ack) only.",
    "Ratios compare quorum's leader with each peer at the same cell (writes with writes, linearizable reads with "
    "linearizable reads, READONLY reads with serializable reads and with Redis GET).",
    "Matrix choice (to fit about 15 minutes on 2 cores): the client sweep at 16 B / pipeline 1, pipeline 16 at 50 clients, "
    "the value-size sweep at 50 clients; 73 cells of 7 s take about 9 minutes. `--all` adds failover (about 7 minutes, "
    "dominated by Sentinel's detection and re-configuration), recovery (1-4 minutes) and resources (about 2 minutes).",
    "Reproduce: `bench/compare --all` from the repository root (root or sudo for apt-get; installs redis-server, "
    "redis-tools, redis-sentinel, etcd-server, etcd-client and nats-server when missing, builds quorum in release "
    "mode). `bench/compare --help` lists the options (`--only`, `--duration`, `--failover`, `--smoke`...).",
]


def fmt_num(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:,.1f}"


def fmt_us(v):
    if v is None:
        return "-"
    return f"{v / 1000:.2f}" if v < 100_000 else f"{v / 1000:,.0f}"


def cell_label(c, p, s):
    size = f"{s // 1024} KiB" if s >= 1024 else f"{s} B"
    return f"c{c} P{p} {size}"


def ok_results(data):
    return [r for r in data["results"] if "failed" not in r["result"]]


def throughput(r):
    return r["result"].get("throughput")


def cells_of(data, kind):
    seen = []
    for r in data["results"]:
        k = (r["clients"], r["pipeline"], r["value_size"])
        if r["kind"] == kind and k not in seen:
            seen.append(k)
    # Client sweep first (by value size, pipeline, clients).
    return sorted(seen, key=lambda k: (k[2], k[1], k[0]))


def targets_of(data, kind):
    out = []
    for r in data["results"]:
        if r["kind"] == kind and r["target"] not in out:
            out.append(r["target"])
    return out


def lookup(data, target, cell):
    for r in data["results"]:
        if r["target"] == target and (r["clients"], r["pipeline"], r["value_size"]) == cell:
            return r
    return None


def value_cell(r):
    if r is None:
        return "n/a"
    if "failed" in r["result"]:
        return "failed"
    v = fmt_num(throughput(r))
    errs = sum((r["result"].get("errors") or {}).values())
    return v + (f" ({errs} err)" if errs else "")


def throughput_table(data, kind):
    cells = cells_of(data, kind)
    targets = targets_of(data, kind)
    if not targets:
        return []
    head = "| system | " + " | ".join(cell_label(*c) for c in cells) + " |"
    lines = [head, "|---" * (len(cells) + 1) + "|"]
    for t in targets:
        lines.append(f"| {t} | " + " | ".join(value_cell(lookup(data, t, c)) for c in cells) + " |")
    return lines


def quorum_pairs(data, kind):
    """(quorum target, peer target) pairs for the ratio table."""
    q = [t for t in targets_of(data, kind) if t.startswith("quorum")]
    peers = [t for t in targets_of(data, kind) if not t.startswith("quorum")]
    pairs = []
    for pt in peers:
        for qt in q:
            if kind == "read":
                serial = "serializable" in pt
                # Linearizable peers against quorum's linearizable reads; serializable/stale-
                # tolerant peers against READONLY; Redis single-node GET against both.
                if serial and "READONLY" not in qt:
                    continue
                if "etcd" in pt and not serial and "READONLY" in qt:
                    continue
            pairs.append((qt, pt))
    return pairs


def ratio_table(data, kind):
    cells = cells_of(data, kind)
    pairs = quorum_pairs(data, kind)
    if not pairs:
        return []
    lines = ["| quorum / peer | " + " | ".join(cell_label(*c) for c in cells) + " |", "|---" * (len(cells) + 1) + "|"]
    for qt, pt in pairs:
        vals = []
        for c in cells:
            a, b = lookup(data, qt, c), lookup(data, pt, c)
            if a and b and "failed" not in a["result"] and "failed" not in b["result"] and throughput(b):
                ratio = throughput(a) / throughput(b)
                vals.append(f"{ratio:.3f}" if ratio < 0.1 else f"{ratio:.2f}")
            else:
                vals.append("n/a")
        lines.append(f"| {qt} / {pt} | " + " | ".join(vals) + " |")
    return lines


def latency_table(data):
    lines = ["| system | workload | clients | pipeline | value | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | errors |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in data["results"]:
        res = r["result"]
        size = f"{r['value_size'] // 1024} KiB" if r["value_size"] >= 1024 else f"{r['value_size']} B"
        wl = r["workload"] + ("".join(" " + f for f in r["flags"]))
        if "failed" in res:
            lines.append(f"| {r['target']} | {wl} | {r['clients']} | {r['pipeline']} | {size} | failed: {res['failed'][:120].replace('|', '/')} | | | | | |")
            continue
        lat = res.get("latency_us") or {}
        errs = ", ".join(f"{k} {v}" for k, v in (res.get("errors") or {}).items()) or "0"
        lines.append(
            f"| {r['target']} | {wl} | {r['clients']} | {r['pipeline']} | {size} | {fmt_num(res.get('throughput'))} | "
            f"{fmt_us(lat.get('p50'))} | {fmt_us(lat.get('p99'))} | {fmt_us(lat.get('p999'))} | {fmt_us(lat.get('max'))} | {errs} |")
    return lines


def charts(data, results_dir, stem):
    """Writes the SVGs; returns [(title, path)]."""
    out = []
    for kind, what in (("write", "writes"), ("read", "reads")):
        sweep = [c for c in cells_of(data, kind) if c[1] == 1 and c[2] == 16]
        if len(sweep) < 1:
            continue
        series_t, series_l = [], []
        for t in targets_of(data, kind):
            pts_t, pts_l = [], []
            for c in sweep:
                r = lookup(data, t, c)
                if r and "failed" not in r["result"] and throughput(r):
                    pts_t.append((c[0], throughput(r)))
                    p99 = (r["result"].get("latency_us") or {}).get("p99")
                    if p99:
                        pts_l.append((throughput(r), p99 / 1000))
            series_t.append((t, pts_t))
            series_l.append((t, pts_l))
        for name, title, series, xl, yl in (
            (f"{stem}-{what}-throughput-vs-clients.svg", f"{what}: throughput vs clients (16 B, pipeline 1)", series_t, "clients", "operations per second"),
            (f"{stem}-{what}-p99-vs-throughput.svg", f"{what}: p99 latency vs throughput (clients 1-200, 16 B, pipeline 1)", series_l, "operations per second", "p99 latency (ms)"),
        ):
            path = os.path.join(results_dir, name)
            with open(path, "w") as f:
                f.write(line_chart(title, series, xl, yl))
            out.append((title, path))
    return out


def write(data, out, results_dir):
    os.makedirs(results_dir, exist_ok=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    stem = data["started"][:10]
    json_path = os.path.join(results_dir, f"{stem}.json")
    with open(json_path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")
    chart_paths = charts(data, results_dir, stem) if data["results"] else []
    rel = lambda p: os.path.relpath(p, os.path.dirname(out))  # noqa: E731
    m = data["machine"]
    L = ["# Benchmarks", ""]
    if data.get("smoke"):
        L += ["**Smoke run** (a few seconds per system: checks the harness, the figures mean nothing).", ""]
    if data.get("note"):
        L += [f"**Note:** {data['note']}", ""]
    L += [
        f"Run {data['started']} – {data.get('finished', '?')} ({data.get('elapsed_s', '?')} s), every figure measured in this run, "
        "all systems one after another on the same machine, every process (servers and the load generator) on it.",
        "",
        "```sh",
        data["command"],
        "```",
        "",
        f"- Machine: {m['cpus']} CPUs ({m['cpu_model']}, {m['threads_per_core']} thread(s) per core), {m['memory_gib']} GiB memory, "
        f"data on {m['disk_device']} ({m['filesystem']}); disks: {m['disks'].replace(chr(10), '; ')}; {m['os']}, Linux {m['kernel']}.",
        f"- Load average (1/5/15 min) at the start: {data.get('loadavg_start') or '?'}; at the end: {data.get('loadavg_end') or '?'}.",
        f"- Software: {m['quorum']} (commit {m['quorum_commit']}); {m['redis']}; {m['etcd']}; {m['nats']}.",
        f"- Load: `{data['generator']}` for every system (closed loop); {data['duration_s']} s measured after {data['warmup_s']} s warm-up per cell. "
        f"Matrix: {data['matrix']}. Writes: SET / etcd put / JetStream publish with ack over {data['write_keys']:,} keys; reads: "
        f"GET / etcd range over {data['read_keys']:,} keys, which the generator writes (at the cell's value size) before it measures.",
        "- quorum, Redis and etcd are driven through the leader/primary; quorum's READONLY GET through a follower; "
        "NATS clients are spread round-robin over the three servers (JetStream forwards each publish to the stream leader).",
        f"- Raw results: [{rel(json_path)}]({rel(json_path)}).",
        "",
    ]
    if data["systems"]:
        L += ["## Systems and durability", "", "| system | replication | what an acknowledgement means | started in |", "|---|---|---|---|"]
        for s in data["systems"]:
            status = s.get("skipped") and "skipped" or (f"failed: {s['failed']}" if s.get("failed") else f"{s.get('start_s', '-')} s")
            L.append(f"| {s['name']} | {s['replication']} | {s['durability']} | {status} |")
        L.append("")
    if data["results"]:
        L += ["## Writes: throughput (operations/s)", ""] + throughput_table(data, "write") + [""]
        if ratio_table(data, "write"):
            L += ["Ratio quorum / peer (above 1: quorum is faster):", ""] + ratio_table(data, "write") + [""]
        if targets_of(data, "read"):
            L += ["## Reads: throughput (operations/s)", ""] + throughput_table(data, "read") + [""]
            if ratio_table(data, "read"):
                L += ["Ratio quorum / peer (linearizable reads against linearizable ones; READONLY against serializable and Redis):", ""]
                L += ratio_table(data, "read") + [""]
        L += ["## Latency (every cell)", "", "Latency of each request, from the generator's histogram (closed loop).", ""]
        L += latency_table(data) + [""]
        if chart_paths:
            L += ["## Charts", ""]
            for title, p in chart_paths:
                L += [f"![{title}]({rel(p)})", ""]
    for section in ("failover", "recovery", "resources"):
        if data.get(section):
            L += data[section].get("markdown", []) + [""]
    L += ["## How to read this", ""] + [f"- {n}" for n in NOTES] + [""]
    with open(out, "w") as f:
        f.write("\n".join(L).rstrip() + "\n")
    return [out, json_path] + [p for _, p in chart_paths]
