"""What machine and which versions a run used (cores, memory, disk, software)."""

import os
import subprocess


def _run(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return r.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def describe(workdir, quorum_bin):
    lscpu = dict(
        (k.strip(), v.strip()) for k, v in (ln.split(":", 1) for ln in _run(["lscpu"]).splitlines() if ":" in ln)
    )
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            for ln in f:
                if ln.startswith("MemTotal:"):
                    mem_kb = int(ln.split()[1])
    except OSError:
        pass
    df = _run(["df", "-PT", workdir]).splitlines()
    dev, fstype = (df[1].split()[0], df[1].split()[1]) if len(df) > 1 else ("?", "?")
    disks = []
    for ln in _run(["lsblk", "-dnbo", "NAME,SIZE,ROTA,TYPE,MODEL"]).splitlines():
        parts = ln.split(None, 4)
        if len(parts) >= 4 and int(parts[1] or 0) > 0:
            model = parts[4].strip() if len(parts) > 4 else "no model string"
            kind = "rotational" if parts[2] == "1" else "non-rotational"
            disks.append(f"{parts[0]} {int(parts[1]) / 1024**3:.0f} GiB, {model}, reported {kind}")
    disks = "; ".join(disks)
    os_name = ""
    try:
        with open("/etc/os-release") as f:
            os_name = next((ln.split("=", 1)[1].strip().strip('"') for ln in f if ln.startswith("PRETTY_NAME=")), "")
    except OSError:
        pass
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return {
        "cpu_model": lscpu.get("Model name", "?"),
        "cpus": os.cpu_count(),
        "threads_per_core": lscpu.get("Thread(s) per core", "?"),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "disk_device": dev,
        "filesystem": fstype,
        "disks": disks,
        "os": os_name,
        "kernel": _run(["uname", "-r"]),
        "quorum": _run([quorum_bin, "--version"]).split("\n")[0],
        "quorum_commit": _run(["git", "-C", root, "rev-parse", "--short", "HEAD"]),
        "redis": _run(["redis-server", "--version"]),
        "etcd": _run(["etcd", "--version"]).splitlines()[0] if _run(["etcd", "--version"]) else "",
        "nats": _run(["nats-server", "--version"]),
    }


def loadavg():
    """The 1/5/15-minute load averages (other work on the machine skews every figure)."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return ""
