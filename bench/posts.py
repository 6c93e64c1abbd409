"""Text-post throughput of the worker fleet (shared by slow_providers and overhead).

``measure_posts(env, stack, n, workers)`` queues ``n`` Twitter text posts
through the gateway while no worker runs, then starts the workers and
measures from the first upload attempt's start to the last request's finish
(timestamps the workers write in PostgreSQL), so worker start-up and the
gateway's accept rate are not part of the figure.
"""

from __future__ import annotations

import itertools
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.env import BenchEnv, BenchStack, post_many
from bench.rss import cpu_seconds

_runs = itertools.count(1)


def prepare(env: BenchEnv, stack: BenchStack, identities: int = 10):
    """A site client and ``identities`` X accounts; X's per-user tweet cap is lifted."""
    env.fakes["twitter"].state.set_rate_limit("tweets", 10**9)
    client = env.site_client(stack)
    return client, [env.identity(client, "twitter")[0] for _ in range(identities)]


def queue_posts(env: BenchEnv, client, identities: list[str], n: int) -> int:
    """Accept ``n`` posts (202: no worker yet); returns the highest request id before them."""
    before = env.max_request_id()
    tag = uuid.uuid4().hex[:6]
    bodies = [(identities[i % len(identities)], {"request": {"push": {"post": {"message": f"bench {tag} {i}"}}}})
              for i in range(n)]
    by_path: dict[str, list] = {}
    for identity, body in bodies:
        by_path.setdefault(f"/push/identities/{identity}/twitter/post.json", []).append(body)
    for path, group in by_path.items():
        bad = [r for r in post_many(client, path, group) if r.status_code not in (200, 202)]
        if bad:
            raise RuntimeError(f"{len(bad)} posts refused: {bad[0].status_code} {bad[0].text[:300]}")
    return before


def measure_posts(env: BenchEnv, stack: BenchStack, client, identities: list[str], n: int, workers: int,
                  pool: str, concurrency: int, timeout: float, worker_env: dict | None = None,
                  profile: str | None = None, ready_first: bool = False) -> dict:
    """Queue ``n`` posts, start ``workers`` processes, wait; returns rate and failures.

    ``ready_first``: start the workers on the callback queue only, wait until
    every one answers a ping, queue the posts, then tell them all at once to
    consume the upload queue, so that no process starts late (comparing fleet sizes)."""
    names = [f"w{next(_runs)}" for _ in range(workers)]
    if ready_first:
        for name in names:
            stack.start_pool_worker(name, pool, concurrency, queues="callback", env=worker_env)
        control = _wait_ready(env, stack, names)
    before = queue_posts(env, client, identities, n)
    xacts = _commits(env)
    if ready_first:
        control.add_consumer("upload", destination=[f"{name}-{stack.port}@{socket.gethostname()}" for name in names],
                             reply=True, timeout=5)
    else:
        for name in names:
            stack.start_pool_worker(name, pool, concurrency, queues="upload,callback", env=worker_env)
    profiler = None
    if profile:
        time.sleep(0.3)  # py-spy needs the interpreter up
        profiler = _profile(stack, names[0], profile)
    try:
        env.wait_outcomes(n, timeout, since_id=before)
        cpu = sum(cpu_seconds(stack.procs[name].pid) for name in names)
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        for name in names:
            stack.kill(name, 15)
    (first, last, failed, reason) = env.sql(
        "select min(a.started_at), max(r.finished_at), count(*) filter (where r.outcome <> 'succeeded'), "
        "min(r.error_info) from push_requests r join stage_attempts a on a.request_id = r.id "
        "where r.id > :i and a.stage = 'upload'", i=before)[0]
    seconds = (last - first).total_seconds()
    return {"n": n, "seconds": seconds, "rate": n / seconds, "failed": failed, "reason": reason,
            "cpu_ms": cpu * 1000 / n, "xacts": (_commits(env) - xacts) / n}


def _wait_ready(env: BenchEnv, stack: BenchStack, names: list[str], timeout: float = 60):
    """Block until every named worker answers a remote-control ping; returns the control handle."""
    from celery import Celery

    app = Celery("bench-ping", broker=env.redis_url)
    app.conf.broker_transport_options = {"global_keyprefix": env.prefix}
    wanted = {f"{name}-{stack.port}" for name in names}
    deadline = time.time() + timeout
    while time.time() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        seen = {host.split("@", 1)[0] for reply in replies for host in reply}
        if wanted <= seen:
            return app.control
    raise TimeoutError(f"workers {sorted(wanted)} did not answer a ping in {timeout:.0f} s")


def _commits(env: BenchEnv) -> int:
    """Committed transactions in this run's database so far (PostgreSQL's statistics)."""
    return env.sql("select xact_commit from pg_stat_database where datname = current_database()")[0][0]


def _profile(stack: BenchStack, name: str, out: str):
    """py-spy (when installed) recording the worker's process tree into ``out`` (speedscope JSON)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return None
    return subprocess.Popen([spy, "record", "-s", "-r", "50", "-f", "speedscope", "-o", out, "-p",
                             str(stack.procs[name].pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
