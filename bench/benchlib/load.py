"""The load generator behind one interface: `run(gen, target, cell, ...)` returns the JSON
object of `quorum bench --json` (contract in bench/README section of BENCHMARKS.md).

`quorum bench` drives every system (same generator, same load shape). `redis-benchmark` is a
development stand-in for RESP systems only (`--loadgen redis-benchmark`), used while the
generator did not exist; its results say so in the `tool` field.
"""

import json
import subprocess


class Cell:
    """One point of the matrix."""

    def __init__(self, clients, pipeline, value_size):
        self.clients = clients
        self.pipeline = pipeline
        self.value_size = value_size

    def key(self):
        return (self.clients, self.pipeline, self.value_size)

    def __repr__(self):
        return f"c={self.clients} P={self.pipeline} {self.value_size}B"


class Generator:
    def __init__(self, kind, quorum_bin, threads=None):
        self.kind = kind
        self.quorum_bin = quorum_bin
        self.threads = threads

    def available(self):
        """(ok, reason)."""
        if self.kind == "redis-benchmark":
            return True, ""
        try:
            r = subprocess.run([self.quorum_bin, "bench", "--help"], capture_output=True, text=True, timeout=20)
        except OSError as err:
            return False, str(err)
        if r.returncode != 0 or "--protocol" not in r.stdout:
            return False, "`quorum bench` does not implement the generator yet: " + (r.stdout + r.stderr).strip()[:200]
        return True, ""

    def argv(self, target, cell, keys, duration, warmup, workload=None, extra=()):
        if self.kind == "redis-benchmark":
            return None
        argv = [
            self.quorum_bin, "bench",
            "--endpoints", ",".join(target.endpoints),
            "--protocol", target.protocol,
            "--workload", workload or target.workload,
            "--clients", str(cell.clients),
            "--pipeline", str(cell.pipeline),
            "--keys", str(keys),
            "--value-size", str(cell.value_size),
            "--duration", str(duration),
            "--warmup", str(warmup),
            "--json",
        ]
        if self.threads:
            argv += ["--threads", str(self.threads)]
        return argv + list(target.flags) + list(extra)

    def run(self, target, cell, keys, duration, warmup, workload=None, extra=()):
        """Returns the result dict; on failure a dict with `failed` (and no throughput)."""
        if self.kind == "redis-benchmark":
            return redis_benchmark(target, cell, keys, duration, workload or target.workload)
        argv = self.argv(target, cell, keys, duration, warmup, workload, extra)
        limit = duration + warmup + 60
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return {"failed": f"generator ran past {limit}s", "argv": argv}
        line = next((ln for ln in reversed(r.stdout.splitlines()) if ln.strip().startswith("{")), None)
        if line is None:
            return {"failed": f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-400:]}", "argv": argv}
        try:
            out = json.loads(line)
        except ValueError as err:
            return {"failed": f"bad JSON ({err}): {line[:200]}", "argv": argv}
        out["argv"] = argv
        if r.returncode != 0:
            out["exit_code"] = r.returncode
        return out


def redis_benchmark(target, cell, keys, duration, workload):
    """Stand-in for RESP targets: redis-benchmark --csv, with a request count sized to take
    roughly `duration` seconds at a few thousand requests per client."""
    if target.protocol != "resp" or "--readonly" in target.flags:
        return {"failed": "redis-benchmark cannot drive this target"}
    host, port = target.endpoints[0].rsplit(":", 1)
    n = max(1000, min(2_000_000, cell.clients * cell.pipeline * 400 * duration))
    argv = [
        "redis-benchmark", "-h", host, "-p", port, "-t", workload, "-c", str(cell.clients),
        "-P", str(cell.pipeline), "-d", str(cell.value_size), "-r", str(keys), "-n", str(n), "--csv",
    ]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=duration * 20 + 60)
    except subprocess.TimeoutExpired:
        return {"failed": "redis-benchmark timed out", "argv": argv}
    rows = [ln.replace('"', "").split(",") for ln in r.stdout.splitlines() if ln.startswith('"')]
    if len(rows) < 2:
        return {"failed": f"redis-benchmark exit {r.returncode}: {r.stderr.strip()[-300:]}", "argv": argv}
    head, vals = rows[0], rows[1]
    row = dict(zip(head, vals))
    rps = float(row["rps"])
    ms = lambda k: int(float(row[k]) * 1000)  # noqa: E731
    return {
        "tool": "redis-benchmark", "protocol": "resp", "endpoints": target.endpoints, "workload": workload,
        "clients": cell.clients, "pipeline": cell.pipeline, "rate": None, "value_size": cell.value_size,
        "keys": keys, "read_ratio": None, "duration_s": n / rps if rps else 0.0, "ok": n, "errors": {},
        "throughput": rps,
        "latency_us": {"p50": ms("p50_latency_ms"), "p90": ms("p95_latency_ms"), "p99": ms("p99_latency_ms"),
                       "p999": None, "max": ms("max_latency_ms"), "mean": float(row["avg_latency_ms"]) * 1000},
        "max_gap_ms": None, "argv": argv,
    }
