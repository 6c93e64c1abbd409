"""Scheduled pushes and durable waits (issue 15's targets).

1. **On time, once each.** 1,000 X posts (quick: 100) scheduled for the same
   second, far enough ahead to be parked in the database (beyond
   ``PUSHWIRE_PARK_AFTER``) and claimed by the sweeper: each is published exactly
   once, the first within 2 s of ``publish_at``. The spread from ``publish_at``
   to the fake provider's receipt (its ``created_at``) is reported: first, p50,
   p99, last.
2. **Memory flat while pushes wait.** 10,000 posts (quick: 2,000) scheduled an
   hour ahead are accepted and parked; the worker processes' RSS once warmed up
   (2,000 waiting; quick: 1,000) and with all of them waiting is compared
   (target: under 20 MB of growth), and the broker is inspected: no message of a
   parked push stays there.

The stack is the production shape: gateway, two upload/callback/maintenance
worker processes (``-P threads -c 50``) and beat. The full run keeps the
default ``PUSHWIRE_PARK_AFTER`` (60 s) and ``PUSHWIRE_SWEEP_INTERVAL`` (30 s);
the quick run shortens both (5 s, 2 s) to stay short.
"""

from __future__ import annotations

import math
import time
import uuid

from bench.env import BenchEnv, BenchStack, _bin, post_many
from bench.result import Result, margin
from bench.rss import descendants, read_status

FIRST_TARGET = 2.0  # seconds from publish_at to the first provider receipt
MEMORY_TARGET = 20.0  # MB of worker RSS growth while the pushes wait
MB = 1024 * 1024


def run(quick: bool = False) -> list[Result]:
    same, waiting = (100, 2000) if quick else (1000, 10_000)
    settings = {"PUSHWIRE_PARK_AFTER": "5", "PUSHWIRE_SWEEP_INTERVAL": "2"} if quick else {}
    with BenchEnv(providers=("twitter",), **settings) as env:
        env.fakes["twitter"].state.set_rate_limit("tweets", 10**9)
        stack = env.stack()
        stack.start_gateway()
        workers = ("s1", "s2")
        for name in workers:
            stack.start_pool_worker(name, "threads", 50, queues="upload,callback,maintenance")
        stack._spawn("beat", [str(_bin("celery")), "-A", "workers.worker", "beat", "-l", "warning",
                              "-s", f"{env.tmp}/beat-schedule"])
        client = env.site_client(stack)
        identities = [env.identity(client, "twitter")[0] for _ in range(10)]
        ahead = 25.0 if quick else 100.0  # beyond the park bound and the sweeper's look-ahead
        results = _same_second(env, client, identities, same, ahead)
        results.append(_memory_while_waiting(env, stack, client, identities, waiting, workers))
    return results


def _schedule(client, identities: list[str], n: int, publish_at: int, tag: str) -> None:
    by_path: dict[str, list] = {}
    for i in range(n):
        path = f"/push/identities/{identities[i % len(identities)]}/twitter/post.json"
        by_path.setdefault(path, []).append(
            {"request": {"push": {"post": {"message": f"sched {tag} {i}", "publish_at": publish_at}}}})
    for path, bodies in by_path.items():
        bad = [r for r in post_many(client, path, bodies) if r.status_code != 202]
        if bad:
            raise RuntimeError(f"{len(bad)} scheduled posts refused: {bad[0].status_code} {bad[0].text[:300]}")


def _same_second(env: BenchEnv, client, identities: list[str], n: int, ahead: float) -> list[Result]:
    before, tag = env.max_request_id(), uuid.uuid4().hex[:6]
    publish_at = math.ceil(time.time() + ahead)
    accept_started = time.time()
    _schedule(client, identities, n, publish_at, tag)
    accepted_in = time.time() - accept_started
    parked = _wait_count(env, "state = 'waiting'", n, before, timeout=ahead - 5)
    env.wait_outcomes(n, timeout=ahead + n / 5 + 120, since_id=before)
    tweets = [t for t in env.fakes["twitter"].state.tweets if t["text"].startswith(f"sched {tag} ")]
    texts = {t["text"] for t in tweets}
    spread = sorted(t["created_at"] - publish_at for t in tweets)
    failed = env.sql("select count(*) from push_requests where id > :i and outcome <> 'succeeded'", i=before)[0][0]
    once = len(tweets) == n and len(texts) == n and not failed
    first, p50, p99, last = spread[0], _pct(spread, 50), _pct(spread, 99), spread[-1]
    note = (f"{n} posts accepted in {accepted_in:.1f} s, {parked} parked in the database (state waiting) "
            f"before their time; {len(tweets)} tweets for {len(texts)} distinct posts, {failed} failed; "
            f"spread from publish_at to the provider's receipt: first {first:+.2f} s, p50 {p50:.2f} s, "
            f"p99 {p99:.2f} s, last {last:.2f} s (2 worker processes x -P threads -c 50)")
    return [
        Result("scheduled", f"{n} posts due the same second: first provider receipt after publish_at", first, "s",
               target=f"0 <= first <= {FIRST_TARGET:g} s, each once",
               met=once and 0 <= first <= FIRST_TARGET, margin=margin(first, FIRST_TARGET, False), note=note),
        Result("scheduled", f"{n} posts due the same second: p50 spread", p50, "s"),
        Result("scheduled", f"{n} posts due the same second: p99 spread", p99, "s"),
    ]


def _memory_while_waiting(env: BenchEnv, stack: BenchStack, client, identities: list[str], n: int,
                          workers: tuple[str, ...]) -> Result:
    """Park the first ``warm`` pushes (the workers warm up: their 50 threads,
    database connections, caches grow to their working size over the first
    ~1,000 tasks), read the workers' RSS, park the rest and read it again, then
    once more after a quiet while: waiting pushes cost the workers nothing,
    however many they are."""
    before_id, tag = env.max_request_id(), uuid.uuid4().hex[:6]
    rss_start = _rss(stack, workers)
    warm = max(n // 5, 1000)
    started = time.time()
    _schedule(client, identities, warm, math.ceil(time.time() + 3600), tag + "w")
    _wait_count(env, "state = 'waiting'", warm, before_id, timeout=warm / 20 + 120)
    rss_warm = _rss(stack, workers)
    _schedule(client, identities, n - warm, math.ceil(time.time() + 3600), tag)
    parked = _wait_count(env, "state = 'waiting'", n, before_id, timeout=n / 20 + 120)
    parked_in = time.time() - started
    rss_all = _rss(stack, workers)
    time.sleep(10)
    rss_later = _rss(stack, workers)
    held = _broker_messages(env)
    growth = (max(rss_all, rss_later) - rss_warm) / MB
    note = (f"{parked} of {n} posts parked in {parked_in:.1f} s (accept, then one upload task each that parks it); "
            f"worker RSS (2 processes): {rss_start / MB:.0f} MB before, {rss_warm / MB:.0f} MB with {warm:,} "
            f"waiting (warmed up), {rss_all / MB:.0f} MB with {n:,} waiting, {rss_later / MB:.0f} MB 10 s later; "
            f"task messages left in the broker: {held}")
    return Result("scheduled", f"worker RSS growth from {warm:,} to {n:,} pushes waiting", growth, "MB",
                  target=f"< {MEMORY_TARGET:g} MB, no message held",
                  met=parked >= n and growth < MEMORY_TARGET and held == 0,
                  margin=margin(max(growth, 0.001), MEMORY_TARGET, False), note=note)


def _wait_count(env: BenchEnv, where: str, n: int, since_id: int, timeout: float) -> int:
    deadline = time.time() + timeout
    while True:
        got = env.sql(f"select count(*) from push_requests where id > :i and {where}", i=since_id)[0][0]
        if got >= n or time.time() > deadline:
            return got
        time.sleep(0.2)


def _rss(stack: BenchStack, names: tuple[str, ...]) -> int:
    return sum(read_status(pid).get("VmRSS", 0) for name in names for pid in descendants(stack.procs[name].pid))


def _broker_messages(env: BenchEnv) -> int:
    """Task messages this run's broker holds (queued, or reserved by a worker), sweeps aside."""
    import json

    r, count = env.redis(), 0
    for queue in ("staging", "upload", "callback"):
        count += r.llen(f"{env.prefix}{queue}")
    for raw in r.hvals(f"{env.prefix}unacked"):
        message = json.loads(raw)[0]
        message = json.loads(message) if isinstance(message, (str, bytes)) else message
        count += message.get("headers", {}).get("task") != "pushwire.sweep"
    return count


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, max(0, math.ceil(len(values) * p / 100) - 1))]
