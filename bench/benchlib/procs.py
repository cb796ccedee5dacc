"""Processes, ports and bounded waits.

Every process is started in its own session (process group), registered, and stopped by
`Registry.stop_all` (SIGTERM to the group, then SIGKILL after a grace period). `bench/compare`
calls it in a `finally`, and SIGINT/SIGTERM are turned into exceptions so that path always runs.
"""

import os
import signal
import socket
import subprocess
import time


class Timeout(Exception):
    """A bounded wait ran out."""


def free_ports(count):
    """`count` distinct ports the kernel considers free on 127.0.0.1 (bind to port 0)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_until(what, predicate, timeout, interval=0.1):
    """Polls `predicate()` until it returns a truthy value (returned) or `timeout` seconds pass.
    Exceptions from the predicate count as "not yet"; the last one is named in the Timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as err:  # noqa: BLE001 - any failure means "not ready yet"
            last_error = err
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise Timeout(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Proc:
    """One started process: its command, log file and Popen."""

    def __init__(self, name, argv, log_path, cwd=None, env=None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = env
        self.popen = None

    def start(self):
        log = open(self.log_path, "ab")
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
            )
        finally:
            log.close()
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, sig):
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def kill9(self):
        """kill -9 of the whole group, reaped."""
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def stop(self, grace=10.0):
        """SIGTERM to the group, SIGKILL after `grace` seconds; returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                try:
                    self.popen.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        # Children that outlived the leader of the group (e.g. a wrapper's child).
        self.signal_group(signal.SIGKILL)
        return self.popen.returncode

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()[-8000:].decode("utf-8", "replace")
            return "\n".join(data.splitlines()[-lines:])
        except OSError:
            return ""


class Registry:
    """Every process this run started, so that all of them are stopped on any exit path."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, log_path, **kw):
        proc = Proc(name, argv, log_path, **kw)
        self.procs.append(proc)
        return proc.start()

    def stop_all(self):
        # Ask all first, then wait: the systems shut down in parallel.
        for proc in self.procs:
            if proc.alive():
                proc.signal_group(signal.SIGTERM)
        for proc in self.procs:
            proc.stop()
        self.procs = [p for p in self.procs if p.alive()]


def exit_on_signals():
    """SIGTERM/SIGHUP become KeyboardInterrupt, so `finally` blocks stop what was started."""

    def handler(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
