"""The load generator: `Generator.run(target, cell, ...)` runs `quorum bench ... --json` and
returns its JSON object (throughput, latency_us percentiles, errors by kind, max_gap_ms), or a
dict with `failed`. The same generator drives every system, so the load shape is the same.
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
    kind = "quorum bench"

    def __init__(self, quorum_bin, threads=None):
        self.quorum_bin = quorum_bin
        self.threads = threads

    def available(self):
        """(ok, reason)."""
        try:
            r = subprocess.run([self.quorum_bin, "bench", "--help"], capture_output=True, text=True, timeout=20)
        except OSError as err:
            return False, str(err)
        if r.returncode != 0 or "--protocol" not in r.stdout:
            return False, "`quorum bench` does not implement the generator yet: " + (r.stdout + r.stderr).strip()[:200]
        return True, ""

    def argv(self, target, cell, keys, duration, warmup, workload=None, extra=()):
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

