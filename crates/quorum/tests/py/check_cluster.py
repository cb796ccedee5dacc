"""redis-py against a running quorum cluster: pipelines, RESP3 (protocol=3), SET with ex=,
INCR, scan_iter, info() parsing, and a connection pool shared by threads. Run by
crates/quorum/tests/clients.rs as `python3 check_cluster.py PORT PORT PORT`; exits non-zero
with a message on the first failed check, so the Rust test fails with it."""

import sys
import threading
import time

import redis

TIMEOUT = 10  # seconds for any one reply: a hang fails instead of stalling the suite


def client(port, **kw):
    return redis.Redis(
        host="127.0.0.1",
        port=port,
        decode_responses=True,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        **kw,
    )


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}", flush=True)


def wait_for(what, fn, timeout=5.0, interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            print(f"ok: {what}", flush=True)
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last {last!r}")


def pipelines(ports):
    for i, port in enumerate(ports):
        r = client(port)
        # transaction=False: a plain pipeline, no MULTI/EXEC.
        p = r.pipeline(transaction=False)
        p.set(f"pipe:{i}", "a")
        for _ in range(10):
            p.incr(f"pipe-ctr:{i}")
        p.get(f"pipe:{i}")
        p.append(f"pipe:{i}", "bc")
        p.get(f"pipe:{i}")
        p.delete(f"missing:{i}")
        got = p.execute()
        want = [True] + list(range(1, 11)) + ["a", 3, "abc", 0]
        check(got == want, f"pipeline on port {port}: {got} == {want}")
        for other in ports:
            check(client(other).get(f"pipe:{i}") == "abc", f"pipeline write on {port} read on {other}")


def resp3(ports):
    for port in ports:
        r = client(port, protocol=3)
        hello = r.execute_command("HELLO", "3")
        check(isinstance(hello, dict) and hello.get("proto") == 3, f"HELLO 3 on {port} is a map with proto 3: {hello}")
        check(r.get("resp3:missing") is None, "RESP3 null GET is None")
        check(r.set("resp3:k", "v") is True, "RESP3 SET")
        check(r.get("resp3:k") == "v", "RESP3 GET")
        check(r.incrbyfloat(f"resp3:f:{port}", 1.5) == 1.5, "RESP3 INCRBYFLOAT")
    try:
        client(ports[0]).execute_command("HELLO", "4")
        raise AssertionError("HELLO 4 accepted")
    except redis.ResponseError as e:
        check(str(e).startswith("unsupported protocol version") or "NOPROTO" in str(e), f"HELLO 4 refused: {e}")


def expiry(ports):
    a, b = client(ports[0]), client(ports[1])
    check(a.set("ex:k", "v", ex=1) is True, "set(ex=1)")
    check(a.set("px:k", "v", px=800) is True, "set(px=800)")
    for port in ports:
        c = client(port)
        ttl = c.ttl("ex:k")
        check(ttl in (0, 1), f"TTL on {port} is {ttl}")
        pttl = c.pttl("px:k")
        check(0 < pttl <= 800, f"PTTL on {port} is {pttl}")
    for port in ports:
        c = client(port)
        wait_for(f"ex:k and px:k gone on {port}", lambda: c.get("ex:k") is None and c.get("px:k") is None)
        check(c.exists("ex:k", "px:k") == 0, f"EXISTS 0 on {port}")
    check(b.set("nx:k", "1", nx=True) is True and b.set("nx:k", "2", nx=True) is None, "set(nx=True)")


def incr(ports):
    total = 0
    for port in ports:
        c = client(port)
        for _ in range(5):
            total += 1
            check(c.incr("py:n") == total, f"incr via {port} returns {total}")
    check(client(ports[0]).incrby("py:n", 10) == total + 10, "incrby")
    check(client(ports[1]).decr("py:n") == total + 9, "decr")


def scan(ports):
    r = client(ports[0])
    p = r.pipeline(transaction=False)
    want = {f"scan:{i}" for i in range(250)}
    for k in want:
        p.set(k, "1")
    p.execute()
    r.set("other:1", "1")
    for port in ports:
        got = set(client(port).scan_iter(match="scan:*", count=37))
        check(got == want, f"scan_iter on {port}: {len(got)} keys of {len(want)}")
    check(len(list(client(ports[1]).scan_iter(match="other:*"))) == 1, "scan_iter MATCH other:*")


def info(ports):
    def roles():
        return [client(p).info("replication").get("role") for p in ports]

    wait_for("exactly one master among INFO roles", lambda: sorted(roles()) == ["master", "slave", "slave"])
    infos = [client(p).info() for p in ports]
    for p, i in zip(ports, infos):
        for field in ("redis_version", "process_id", "connected_clients", "role"):
            check(field in i, f"info() on {p} has {field}")
    raft = [client(p).info("raft") for p in ports]
    leaders = {r["raft_leader_id"] for r in raft}
    check(len(leaders) == 1 and isinstance(next(iter(leaders)), int), f"one raft_leader_id: {leaders}")
    master = [p for p, i in zip(ports, infos) if i["role"] == "master"]
    master_id = client(master[0]).info("raft")["raft_node_id"]
    check(master_id == next(iter(leaders)), "the master is the raft leader")


def pool(ports):
    pools = [redis.ConnectionPool(host="127.0.0.1", port=p, max_connections=4, socket_timeout=TIMEOUT) for p in ports]
    errors = []

    def work(i):
        try:
            r = redis.Redis(connection_pool=pools[i % len(pools)])
            for _ in range(100):
                r.incr("pool:n")
                r.set(f"pool:{i}", i)
        except Exception as e:  # reported below, so the script fails
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(not any(t.is_alive() for t in threads), "pool threads finished within 60 s")
    check(not errors, f"no errors in pool threads: {errors[:3]}")
    for port in ports:
        check(client(port).get("pool:n") == "800", f"pool:n is 800 on {port}")
        check(client(port).mget([f"pool:{i}" for i in range(8)]) == [str(i) for i in range(8)], f"pool keys on {port}")


def main():
    ports = [int(p) for p in sys.argv[1:]]
    if len(ports) < 2:
        sys.exit("usage: check_cluster.py PORT PORT [PORT...]")
    for step in (pipelines, resp3, expiry, incr, scan, info, pool):
        print(f"== {step.__name__}", flush=True)
        step(ports)
    print("all redis-py checks passed", flush=True)


if __name__ == "__main__":
    main()
