"""A small blocking RESP2 client (stdlib only) for setup, checks, failover writers and loading."""

import socket


class RespError(Exception):
    """An error reply (-ERR ...)."""


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.port = port

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2 :]
                return line
            self._fill()

    def read_reply(self):
        """One reply; error replies are returned as RespError instances (not raised)."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read_reply() for _ in range(n)]
        raise ConnectionError(f"bad reply line {line[:80]!r}")

    def call(self, *args):
        self.sock.sendall(encode(*args))
        reply = self.read_reply()
        if isinstance(reply, RespError):
            raise reply
        return reply

    def pipeline(self, commands):
        """Sends all commands, then reads all replies (errors returned in place)."""
        self.sock.sendall(b"".join(encode(*c) for c in commands))
        return [self.read_reply() for _ in commands]


def call(port, *args, timeout=2.0):
    with Conn(port, timeout=timeout) as c:
        return c.call(*args)


def info(port, section="", timeout=2.0):
    """INFO as a dict of str -> str."""
    raw = call(port, "INFO", section, timeout=timeout) if section else call(port, "INFO", timeout=timeout)
    out = {}
    for line in raw.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


class LoadResult:
    """What a bulk load achieved: acknowledged SETs, error replies by kind, the highest index
    acknowledged, the first client-side failure if any."""

    def __init__(self):
        self.acks = 0
        self.errors = {}
        self.last_acked = -1
        self.failure = None

    def describe(self, total):
        errs = ", ".join(f"{k} x{v}" for k, v in self.errors.items())
        out = f"{self.acks:,} of {total:,} SETs acknowledged"
        if errs:
            out += f" (errors: {errs})"
        if self.failure:
            out += f" (client: {self.failure})"
        return out


def bulk_load(port, keys, value, prefix="k:", batch=1000, timeout=60.0, connections=4):
    """SETs `keys` keys (`prefix` + index) to `value` over `connections` connections with deep
    pipelining. Returns a LoadResult; raises only when nothing was acknowledged."""
    import threading

    result = LoadResult()
    lock = threading.Lock()

    def worker(w):
        pre = prefix.encode()
        try:
            with Conn(port, timeout=timeout) as c:
                for start in range(w * batch, keys, batch * connections):
                    end = min(keys, start + batch)
                    c.sock.sendall(b"".join(encode(b"SET", b"%s%d" % (pre, i), value) for i in range(start, end)))
                    for i in range(start, end):
                        r = c.read_reply()
                        with lock:
                            if r == "OK":
                                result.acks += 1
                                result.last_acked = max(result.last_acked, i)
                            else:
                                kind = str(r).split(" ")[0][:24]
                                result.errors[kind] = result.errors.get(kind, 0) + 1
        except Exception as err:  # noqa: BLE001 - reported with the result
            with lock:
                result.failure = result.failure or f"{type(err).__name__}: {err}"

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if result.acks == 0:
        raise RuntimeError("bulk load: " + result.describe(keys))
    return result
