"""arq 0.26.3, as its users run it, against a quorum cluster: enqueue N jobs with unique ids
through `ArqRedis.enqueue_job` while arq workers (separate processes, restarted when they
exit, as a process supervisor would) run them; every run of a job appends a line to a local
file. Prints `progress acked=A completed=C` lines while it runs and one final
`summary {json}` line: which enqueues were acknowledged, which completed, which ran twice and
with which `job_try`, the workers' exits, and the census of the commands arq sent.

Run by crates/quorum/tests/frameworks.rs with the venv's python (arq is not in the system
Python):

    python arq_jobs.py run --nodes 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 \
        --jobs 2000 --workers 2 --out-dir DIR --deadline-s 100

(`worker` is the mode the orchestrator starts its worker processes in.)

arq's `RedisSettings(host, port)` names one server and arq cannot move to another node by
itself. So every arq process here is given an `ArqRedis` over a redis-py connection pool whose
connection class (`FailoverConnection`) connects to the nodes in turn, skipping one that
refuses the TCP connection; redis-py's own retry (`Retry`, on ConnectionError/TimeoutError)
then reconnects after a node dies. That class also counts every command sent (the census) and
every error reply received, because quorum has no `INFO commandstats` to count them."""

import argparse
import asyncio
import collections
import json
import logging
import os
import signal
import sys
import time

from arq.connections import ArqRedis
from arq.constants import default_queue_name, job_key_prefix, result_key_prefix
from arq.jobs import deserialize_result
from arq.worker import Worker, func
from redis.asyncio.connection import Connection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

# A job function's timeout; arq keeps a job's in-progress lock for this + 10 s, which is how
# long a job whose worker died mid-run waits before another worker may take it.
JOB_TIMEOUT_S = 2
# Higher than arq's default 5: every worker exit during a failover costs a try of the jobs it
# held, and a job past max_tries is failed for good by arq (not a quorum fault).
MAX_TRIES = 50
ENQUEUE_ATTEMPTS_MAX = 40
WORKER_RESTARTS_MAX = 200
REPLY_TIMEOUT_S = 10

# Commands that are only meaningful with their first argument (a subcommand or a section).
WITH_SUBCOMMAND = {"CLIENT", "CONFIG", "COMMAND", "SCRIPT", "CLUSTER", "OBJECT", "INFO",
                   "MEMORY", "FUNCTION", "XINFO", "ACL"}

CENSUS = collections.Counter()
ERROR_REPLIES = collections.Counter()


def command_name(args):
    """'ZADD', or 'CLIENT SETINFO' / 'INFO server' for commands with subcommands."""
    words = []
    for arg in args[:2]:
        if isinstance(arg, (bytes, bytearray, memoryview)):
            arg = bytes(arg).decode(errors="replace")
        words.extend(str(arg).split())
    if not words:
        return "?"
    name = words[0].upper()
    if name in WITH_SUBCOMMAND and len(words) > 1:
        sub = words[1].upper() if name != "INFO" else words[1].lower()
        return f"{name} {sub}"
    return name


def describe(err):
    """An exception as 'Type: first words', to count alike errors together."""
    words = str(err).split()
    return f"{type(err).__name__}: {' '.join(words[:6])}"


def error_prefix(err):
    text = str(err)
    return text.split(" ", 1)[0] if text else "?"


class FailoverConnection(Connection):
    """A redis-py connection that connects to the first node of `NODES` (in turn, starting
    after the one the previous connection used) that accepts TCP."""

    NODES = []
    next_node = 0

    async def _connect(self):
        last = None
        for _ in range(len(self.NODES)):
            index = FailoverConnection.next_node % len(self.NODES)
            FailoverConnection.next_node += 1
            self.host, self.port = self.NODES[index]
            try:
                await super()._connect()
                return
            except (OSError, asyncio.TimeoutError) as e:
                last = e
        raise last


class CountingConnection(FailoverConnection):
    """A FailoverConnection that also counts the commands it sends and the error replies it
    receives: arq's connections (the harness's own checks use an uncounted pool)."""

    def pack_command(self, *args):
        CENSUS[command_name(args)] += 1
        return super().pack_command(*args)

    async def read_response(self, *args, **kwargs):
        try:
            response = await super().read_response(*args, **kwargs)
        except ResponseError as e:
            ERROR_REPLIES[error_prefix(e)] += 1
            raise
        if isinstance(response, list):
            for item in response:
                if isinstance(item, ResponseError):
                    ERROR_REPLIES[error_prefix(item)] += 1
        return response


def make_pool(nodes, counted=True):
    """An ArqRedis whose connections fail over between `nodes` and retry on connection errors
    (what arq's RedisSettings(retry=..., retry_on_error=...) would configure); `counted`: its
    commands go into the census."""
    FailoverConnection.NODES = nodes
    pool = ConnectionPool(
        connection_class=CountingConnection if counted else FailoverConnection,
        host=nodes[0][0],
        port=nodes[0][1],
        socket_connect_timeout=1,
        socket_timeout=REPLY_TIMEOUT_S,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), 20),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        encoding="utf8",
    )
    return ArqRedis(pool_or_conn=pool)


def parse_nodes(text):
    nodes = []
    for item in text.split(","):
        host, port = item.rsplit(":", 1)
        nodes.append((host, int(port)))
    return nodes


# ---------------------------------------------------------------------------------------------
# Worker process


RECORD = None


async def record(ctx, n):
    """The job: append one line per run (job id, arq's try number, this process) to a local
    file, so a completion is recorded even while quorum is failing over."""
    RECORD.write(json.dumps({"id": ctx["job_id"], "try": ctx["job_try"], "pid": os.getpid(),
                             "t": time.time()}) + "\n")
    RECORD.flush()
    return n


def worker_main(args):
    global RECORD
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    RECORD = open(args.record, "a", buffering=1)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    worker = Worker(
        functions=[func(record, name="record", timeout=JOB_TIMEOUT_S)],
        redis_pool=make_pool(parse_nodes(args.nodes)),
        queue_name=default_queue_name,
        burst=False,
        max_jobs=20,
        poll_delay=0.05,
        job_timeout=JOB_TIMEOUT_S,
        max_tries=MAX_TRIES,
        keep_result=600,
        handle_signals=True,
    )
    error = None
    try:
        worker.run()
    except BaseException as e:  # noqa: BLE001 - reported to the orchestrator, then exit
        error = f"{type(e).__name__}: {e}"
    finally:
        with open(args.census, "w") as f:
            json.dump({"census": CENSUS, "error_replies": ERROR_REPLIES, "error": error,
                       "complete": worker.jobs_complete, "failed": worker.jobs_failed,
                       "retried": worker.jobs_retried}, f)
    sys.exit(3 if error else 0)


# ---------------------------------------------------------------------------------------------
# Orchestrator


class Slot:
    """One worker process slot, restarted when its process exits."""

    def __init__(self, index, args):
        self.index = index
        self.args = args
        self.proc = None
        self.starts = 0
        self.record = os.path.join(args.out_dir, f"runs-w{index}.jsonl")
        open(self.record, "a").close()

    def census_path(self, start):
        return os.path.join(self.args.out_dir, f"census-w{self.index}-{start}.json")

    async def start(self):
        self.starts += 1
        stderr = open(os.path.join(self.args.out_dir, f"worker-w{self.index}.log"), "a")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, os.path.abspath(__file__), "worker", "--nodes", self.args.nodes,
            "--record", self.record, "--census", self.census_path(self.starts),
            stdin=asyncio.subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        stderr.close()


class Runs:
    """Reads the slots' run files as they grow."""

    def __init__(self, paths):
        self.offsets = {p: 0 for p in paths}
        self.runs = collections.defaultdict(list)

    def refresh(self):
        for path in self.offsets:
            with open(path) as f:
                f.seek(self.offsets[path])
                data = f.read()
            # Only whole lines: a worker may be writing the last one.
            end = data.rfind("\n") + 1
            self.offsets[path] += len(data[:end].encode())
            for line in data[:end].splitlines():
                run = json.loads(line)
                self.runs[run["id"]].append(run)


async def enqueue_all(pool, checks, n, concurrency, outcome, stats):
    """Enqueues job ids job-00000.. through arq; fills outcome[id] with 'acked' (enqueue_job
    returned a Job), 'present' (no Job returned, but the job exists: an attempt whose reply
    was lost had enqueued it) or 'gave_up'."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i):
        jid = f"job-{i:05d}"
        async with sem:
            for attempt in range(ENQUEUE_ATTEMPTS_MAX):
                if attempt:
                    await asyncio.sleep(min(0.05 * attempt, 0.5))
                try:
                    job = await pool.enqueue_job("record", i, _job_id=jid)
                except RedisError as e:
                    stats["enqueue_errors"][describe(e)] += 1
                    continue
                if job is not None:
                    outcome[jid] = "acked"
                    return
                # None: arq found the job already there, or (arq's handling of a connection
                # lost while WATCHing) the transaction was given up. Which one?
                try:
                    exists = await checks.exists(job_key_prefix + jid, result_key_prefix + jid)
                except RedisError as e:
                    stats["enqueue_errors"][describe(e)] += 1
                    continue
                if exists:
                    outcome[jid] = "present"
                    return
                stats["enqueue_none_absent"] += 1
            outcome[jid] = "gave_up"

    await asyncio.gather(*(one(i) for i in range(n)))


async def read_results(pool, ids):
    """arq's stored result of each id in `ids`: (ids without a result, {id: failure} for the
    results arq stored as failed)."""
    missing, failed = [], {}
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        async with pool.pipeline(transaction=False) as pipe:
            for jid in chunk:
                pipe.get(result_key_prefix + jid)
            found = await pipe.execute()
        for jid, raw in zip(chunk, found):
            if raw is None:
                missing.append(jid)
                continue
            result = deserialize_result(raw)
            if not result.success:
                failed[jid] = f"{type(result.result).__name__}: {result.result}"
    return missing, failed


async def orchestrate(args):
    started = time.monotonic()
    deadline = started + args.deadline_s
    os.makedirs(args.out_dir, exist_ok=True)
    nodes = parse_nodes(args.nodes)
    pool = make_pool(nodes)
    checks = make_pool(nodes, counted=False)
    slots = [Slot(k, args) for k in range(args.workers)]
    for slot in slots:
        await slot.start()
    runs = Runs([s.record for s in slots])
    outcome = {}
    stats = {"enqueue_errors": collections.Counter(), "enqueue_none_absent": 0}
    exits = []
    stopping = False

    async def supervise():
        while not stopping:
            for slot in slots:
                rc = slot.proc.returncode
                if rc is not None and not stopping:
                    exits.append({"slot": slot.index, "rc": rc,
                                  "error": read_json(slot.census_path(slot.starts)).get("error"),
                                  "at_s": round(time.monotonic() - started, 2)})
                    if len(exits) > WORKER_RESTARTS_MAX:
                        raise RuntimeError(f"workers exited {len(exits)} times: {exits[-3:]}")
                    await asyncio.sleep(0.2)
                    await slot.start()
            await asyncio.sleep(0.1)

    supervisor = asyncio.create_task(supervise())
    enqueuer = asyncio.create_task(enqueue_all(pool, checks, args.jobs, args.concurrency, outcome, stats))
    enqueue_s = None
    expected = set()
    unconfirmed = None
    failed_results = {}
    timed_out = False
    while True:
        await asyncio.sleep(0.25)
        runs.refresh()
        acked = sum(1 for o in outcome.values() if o == "acked")
        print(f"progress acked={acked} completed={len(runs.runs)} "
              f"enqueued={len(outcome)}/{args.jobs}", flush=True)
        if supervisor.done():
            supervisor.result()
        if enqueuer.done():
            enqueuer.result()
            if enqueue_s is None:
                enqueue_s = time.monotonic() - started
                expected = {j for j, o in outcome.items() if o in ("acked", "present")}
                unconfirmed = set(expected)
            if expected <= set(runs.runs):
                # Every expected job ran; now wait for arq to have stored each one's result
                # (its finish transaction), which a worker exit can delay by a lock timeout.
                try:
                    missing, _ = await read_results(checks, unconfirmed)
                    unconfirmed = set(missing)
                except RedisError:
                    pass
                if not unconfirmed:
                    break
        if time.monotonic() > deadline:
            timed_out = True
            break

    work_s = time.monotonic() - started
    stopping = True
    supervisor.cancel()
    queue_left = None
    try:
        queue_left = await checks.zcard(default_queue_name)
    except RedisError:
        pass
    for slot in slots:
        if slot.proc.returncode is None:
            slot.proc.send_signal(signal.SIGTERM)
    for slot in slots:
        try:
            await asyncio.wait_for(slot.proc.wait(), 10)
        except asyncio.TimeoutError:
            slot.proc.kill()
            await slot.proc.wait()
    if not enqueuer.done():
        enqueuer.cancel()
    runs.refresh()
    # The final word on each expected job: its result as arq stored it, read once every worker
    # has stopped (a later run may have overwritten an earlier result).
    try:
        missing, failed_results = await read_results(checks, expected)
        unconfirmed = set(missing)
    except RedisError as e:
        print(f"reading the results failed: {e}", flush=True)

    census = collections.Counter()
    worker_errors = collections.Counter()
    worker_stats = collections.Counter()
    census_missing = 0
    for slot in slots:
        for start in range(1, slot.starts + 1):
            data = read_json(slot.census_path(start))
            if not data:
                census_missing += 1
                continue
            census.update(data["census"])
            worker_errors.update(data["error_replies"])
            for key in ("complete", "failed", "retried"):
                worker_stats[key] += data[key]

    completed = set(runs.runs)
    attempted = set(outcome)
    doubles_same_try = []
    doubles_retried = []
    for jid, rs in sorted(runs.runs.items()):
        if len(rs) < 2:
            continue
        tries = [r["try"] for r in rs]
        times = sorted(r["t"] for r in rs)
        entry = {"id": jid, "tries": tries, "pids": [r["pid"] for r in rs],
                 "gap_s": round(times[-1] - times[0], 3)}
        if len(set(tries)) < len(tries):
            doubles_same_try.append(entry)
        else:
            doubles_retried.append(entry)
    acked = {j for j, o in outcome.items() if o == "acked"}
    present = {j for j, o in outcome.items() if o == "present"}
    summary = {
        "jobs": args.jobs,
        "enqueue_attempted": len(attempted),
        "acked": len(acked),
        "present_after_lost_reply": len(present),
        "gave_up": sum(1 for o in outcome.values() if o == "gave_up"),
        "enqueue_errors": stats["enqueue_errors"],
        "enqueue_none_but_absent": stats["enqueue_none_absent"],
        "completed": len(completed),
        "acked_not_completed": sorted(acked - completed)[:20],
        "acked_not_completed_count": len(acked - completed),
        "present_not_completed_count": len(present - completed),
        "completed_not_enqueued": sorted(completed - attempted)[:20],
        "completed_without_ack": len(completed - acked - present),
        "results_missing_count": len(unconfirmed) if unconfirmed is not None else None,
        "results_missing": sorted(unconfirmed)[:20] if unconfirmed else [],
        "results_failed": dict(sorted(failed_results.items())[:20]),
        "results_failed_count": len(failed_results),
        "results_failed_kinds": collections.Counter(failed_results.values()),
        "doubles_same_try": doubles_same_try[:20],
        "doubles_same_try_count": len(doubles_same_try),
        "doubles_retried": doubles_retried[:20],
        "doubles_retried_count": len(doubles_retried),
        "runs_total": sum(len(rs) for rs in runs.runs.values()),
        "queue_left": queue_left,
        "worker_exits": exits,
        "worker_stats": worker_stats,
        "census_enqueuer": CENSUS,
        "error_replies_enqueuer": ERROR_REPLIES,
        "census_workers": census,
        "census_total": CENSUS + census,
        "error_replies_workers": worker_errors,
        "census_files_missing": census_missing,
        "enqueue_s": round(enqueue_s, 2) if enqueue_s is not None else None,
        "run_s": round(work_s, 2),
        "timed_out": timed_out,
    }
    print("summary " + json.dumps(summary, sort_keys=True), flush=True)
    await pool.aclose()
    await checks.aclose()


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    run = sub.add_parser("run")
    run.add_argument("--nodes", required=True)
    run.add_argument("--jobs", type=int, default=2000)
    run.add_argument("--workers", type=int, default=2)
    run.add_argument("--concurrency", type=int, default=16)
    run.add_argument("--out-dir", required=True)
    run.add_argument("--deadline-s", type=float, default=100)
    worker = sub.add_parser("worker")
    worker.add_argument("--nodes", required=True)
    worker.add_argument("--record", required=True)
    worker.add_argument("--census", required=True)
    args = parser.parse_args()
    if args.mode == "worker":
        worker_main(args)
    else:
        asyncio.run(orchestrate(args))


if __name__ == "__main__":
    main()
