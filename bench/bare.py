"""The baseline of ``bench.overhead``: a bare Celery three-task chain (no database, no HTTP).

Worker: ``celery -A bench.bare worker -Q bare`` with ``BENCH_BARE_BROKER`` and
``BENCH_BARE_PREFIX`` in the environment (the same Redis and key-prefix
mechanism as Pushwire's broker). The first task notes when the run started,
the last counts finished chains and notes the time, in Redis.
"""

from __future__ import annotations

import os
import time

import redis
from celery import Celery, chain

QUEUE = "bare"


def make_app(broker: str, prefix: str) -> Celery:
    """The bare app with Pushwire's reliability settings (acks late, prefetch 1, no results)."""
    app = Celery("bare", broker=broker)
    app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
                    task_ignore_result=True, task_default_queue=QUEUE, worker_hijack_root_logger=False,
                    broker_transport_options={"global_keyprefix": prefix} if prefix else {})
    app.bare_prefix = prefix
    app.bare_redis = None

    def store() -> redis.Redis:
        if app.bare_redis is None:
            app.bare_redis = redis.Redis.from_url(broker)
        return app.bare_redis

    @app.task(name="bare.first")
    def first(n: int) -> None:
        store().set(f"{prefix}bare:first", time.time(), nx=True)

    @app.task(name="bare.second")
    def second(n: int) -> None:
        return None

    @app.task(name="bare.third")
    def third(n: int) -> None:
        r = store()
        r.incr(f"{prefix}bare:done")
        r.set(f"{prefix}bare:last", time.time())

    return app


def publish(app: Celery, n: int) -> None:
    """Queue ``n`` three-task chains (ids only, immutable signatures, as Pushwire does)."""
    names = ("bare.first", "bare.second", "bare.third")
    with app.connection_for_write() as conn:
        for i in range(n):
            chain(*(app.signature(name, args=(i,), immutable=True, queue=QUEUE) for name in names)).apply_async(
                connection=conn)


def progress(app: Celery) -> tuple[int, float | None, float | None]:
    """(chains done, first start, last end) so far."""
    r = redis.Redis.from_url(app.conf.broker_url)
    p = app.bare_prefix
    done, first, last = r.mget(f"{p}bare:done", f"{p}bare:first", f"{p}bare:last")
    return int(done or 0), float(first) if first else None, float(last) if last else None


def _from_env() -> Celery | None:
    broker = os.environ.get("BENCH_BARE_BROKER")
    return make_app(broker, os.environ.get("BENCH_BARE_PREFIX", "")) if broker else None


celery = _from_env()  # only the bench's worker subprocess sets BENCH_BARE_BROKER
