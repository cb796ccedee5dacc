"""The "reliable queue" users hand-write on Redis lists, run with redis-py against a quorum
cluster: producers `LPUSH jobs <id>` (recording which pushes were acknowledged); workers take
ids with `BLMOVE jobs processing:<worker> RIGHT LEFT <timeout>`, "process" them (`SADD done
<id>`), then `LREM processing:<worker> 1 <id>`. After any error a worker reconnects to the next
node and first runs the recovery step users write: move what is left in its processing list
back to `jobs`. Once the producers are done and the lists are empty (or the deadline passed),
a final recovery step moves every processing list back and drains `jobs` itself.

Prints `progress pushed=P processed=D` lines while it runs and one final `summary {json}`
line (acknowledged, done, lost, unexpected, redeliveries, errors). Run by
crates/quorum/tests/frameworks.rs with the system python3 (redis-py is installed by
scripts/test):

    python3 reliable_queue.py --nodes 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 \
        --producers 4 --per-producer 600 --workers 4 --deadline-s 90

Clients do not retry by themselves here (redis-py's retry is off): an error is seen by this
code, which is what decides what was acknowledged."""

import argparse
import collections
import json
import sys
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

REPLY_TIMEOUT_S = 10
BLOCK_S = 1  # BLMOVE's timeout: a worker re-checks whether to stop this often
PUSH_ATTEMPTS_MAX = 40


def parse_nodes(text):
    nodes = []
    for item in text.split(","):
        host, port = item.rsplit(":", 1)
        nodes.append((host, int(port)))
    return nodes


class Client:
    """One connection at a time, to the next node after an error (what a user's list of
    nodes and retry on connection error does)."""

    def __init__(self, nodes, start):
        self.nodes = nodes
        self.index = start
        self.conn = None

    def get(self):
        if self.conn is None:
            host, port = self.nodes[self.index % len(self.nodes)]
            self.conn = redis.Redis(host=host, port=port, decode_responses=True,
                                    socket_timeout=REPLY_TIMEOUT_S, socket_connect_timeout=1,
                                    retry=Retry(NoBackoff(), 0))
        return self.conn

    def failed(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except RedisError:
                pass
        self.conn = None
        self.index += 1


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.attempted = set()
        self.acked = set()
        self.processed = collections.Counter()
        self.errors = collections.Counter()
        self.recovered = 0
        # Ids that may legitimately be delivered twice: moved back by a recovery step, or
        # pushed by an LPUSH whose reply was lost and which was then sent again.
        self.recovered_ids = set()
        self.pushed_after_error = set()
        # LREM of an id this worker holds (its BLMOVE was acknowledged) removing nothing.
        self.lrem_removed_nothing = 0
        self.worker_restarts = 0

    def error(self, where, e):
        text = str(e)
        kind = text.split(" ", 1)[0] if isinstance(e, redis.ResponseError) else type(e).__name__
        with self.lock:
            self.errors[f"{where}: {kind}"] += 1


def producer(nodes, index, count, stats):
    client = Client(nodes, index)
    for k in range(count):
        jid = f"p{index}-{k:05d}"
        with stats.lock:
            stats.attempted.add(jid)
        for attempt in range(PUSH_ATTEMPTS_MAX):
            try:
                client.get().lpush("jobs", jid)
            except RedisError as e:
                # Outcome unknown: pushing again may push twice (then it is processed twice).
                stats.error("lpush", e)
                with stats.lock:
                    stats.pushed_after_error.add(jid)
                client.failed()
                time.sleep(min(0.05 * (attempt + 1), 0.5))
                continue
            with stats.lock:
                stats.acked.add(jid)
            break


def recover(conn, processing, stats):
    """The recovery step: what this worker took but did not finish goes back to the queue,
    at the end that is served next."""
    while True:
        jid = conn.lmove(processing, "jobs", "RIGHT", "RIGHT")
        if jid is None:
            return
        with stats.lock:
            stats.recovered += 1
            stats.recovered_ids.add(jid)


def process(conn, jid, processing, stats):
    with stats.lock:
        stats.processed[jid] += 1
    conn.sadd("done", jid)
    if conn.lrem(processing, 1, jid) == 0:
        with stats.lock:
            stats.lrem_removed_nothing += 1


def worker(nodes, name, start, stats, stop):
    client = Client(nodes, start)
    processing = f"processing:{name}"
    needs_recovery = True
    while not stop.is_set():
        try:
            conn = client.get()
            if needs_recovery:
                recover(conn, processing, stats)
                needs_recovery = False
            jid = conn.blmove("jobs", processing, BLOCK_S, "RIGHT", "LEFT")
            if jid is not None:
                process(conn, jid, processing, stats)
        except RedisError as e:
            stats.error("worker", e)
            with stats.lock:
                stats.worker_restarts += 1
            client.failed()
            needs_recovery = True
            time.sleep(0.1)


def queue_empty(conn, names):
    pipe = conn.pipeline(transaction=False)
    pipe.llen("jobs")
    for name in names:
        pipe.llen(f"processing:{name}")
    return not any(pipe.execute())


def final_recovery(nodes, names, stats, deadline):
    """Run once every worker has stopped: move each processing list back to `jobs` and
    process what is there, with the same commands as a worker. Returns how many ids it
    finished."""
    client = Client(nodes, 0)
    finished = 0
    while time.monotonic() < deadline:
        try:
            conn = client.get()
            for name in names:
                recover(conn, f"processing:{name}", stats)
            while True:
                jid = conn.lmove("jobs", "processing:final", "RIGHT", "LEFT")
                if jid is None:
                    break
                process(conn, jid, "processing:final", stats)
                finished += 1
            recover(conn, "processing:final", stats)
            if queue_empty(conn, names + ["final"]):
                return finished
        except RedisError as e:
            stats.error("final", e)
            client.failed()
            time.sleep(0.2)
    return finished


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", required=True)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--per-producer", type=int, default=600)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--deadline-s", type=float, default=90)
    args = parser.parse_args()
    nodes = parse_nodes(args.nodes)
    started = time.monotonic()
    deadline = started + args.deadline_s
    stats = Stats()
    stop = threading.Event()
    names = [f"w{k}" for k in range(args.workers)]
    workers = [threading.Thread(target=worker, args=(nodes, name, k, stats, stop), daemon=True)
               for k, name in enumerate(names)]
    producers = [threading.Thread(target=producer, args=(nodes, k, args.per_producer, stats),
                                  daemon=True)
                 for k in range(args.producers)]
    for t in workers + producers:
        t.start()

    def progress():
        with stats.lock:
            pushed, processed = len(stats.acked), len(stats.processed)
        print(f"progress pushed={pushed} processed={processed}", flush=True)

    while any(t.is_alive() for t in producers) and time.monotonic() < deadline:
        progress()
        time.sleep(0.25)
    produce_s = time.monotonic() - started
    # Let the workers empty the lists (bounded), then stop them.
    watcher = Client(nodes, 1)
    while time.monotonic() < deadline:
        progress()
        try:
            if not any(t.is_alive() for t in producers) and queue_empty(watcher.get(), names):
                break
        except RedisError as e:
            stats.error("watch", e)
            watcher.failed()
        time.sleep(0.25)
    stop.set()
    for t in workers:
        t.join(BLOCK_S + REPLY_TIMEOUT_S + 1)
    work_s = time.monotonic() - started
    finished_by_final = final_recovery(nodes, names, stats, time.monotonic() + 30)

    client = Client(nodes, 2)
    done = left_jobs = left_processing = None
    for _ in range(20):
        try:
            conn = client.get()
            done = set(conn.smembers("done"))
            left_jobs = conn.lrange("jobs", 0, -1)
            left_processing = {n: conn.lrange(f"processing:{n}", 0, -1) for n in names + ["final"]}
            break
        except RedisError as e:
            stats.error("final read", e)
            client.failed()
            time.sleep(0.2)
    with stats.lock:
        acked, attempted = set(stats.acked), set(stats.attempted)
        processed = collections.Counter(stats.processed)
        explained = stats.recovered_ids | stats.pushed_after_error
    lost = sorted(acked - done) if done is not None else None
    summary = {
        "attempted": len(attempted),
        "acked": len(acked),
        "done": len(done) if done is not None else None,
        "lost": lost[:20] if lost is not None else None,
        "lost_count": len(lost) if lost is not None else None,
        "unexpected": sorted(done - attempted)[:20] if done is not None else None,
        "done_without_ack": len(done - acked) if done is not None else None,
        "processed_more_than_once": sum(1 for c in processed.values() if c > 1),
        # Delivered twice with no recovery step or re-sent push to explain it.
        "unexplained_redeliveries": sorted(j for j, c in processed.items()
                                           if c > 1 and j not in explained)[:20],
        "lrem_removed_nothing": stats.lrem_removed_nothing,
        "recovered_by_workers": stats.recovered,
        "finished_by_final_recovery": finished_by_final,
        "left_in_jobs": len(left_jobs) if left_jobs is not None else None,
        "left_in_processing": ({n: len(v) for n, v in left_processing.items() if v}
                               if left_processing is not None else None),
        "worker_restarts": stats.worker_restarts,
        "errors": dict(stats.errors),
        "producers_alive": sum(t.is_alive() for t in producers),
        "workers_alive": sum(t.is_alive() for t in workers),
        "produce_s": round(produce_s, 2),
        "run_s": round(work_s, 2),
    }
    print("summary " + json.dumps(summary, sort_keys=True), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
