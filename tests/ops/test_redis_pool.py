"""Pushwire's Redis clients queue a burst of threads instead of failing it."""

from __future__ import annotations

import threading
import uuid

import redis

from app.redisclient import MAX_CONNECTIONS, client
from tests.support.services import REDIS_URL


def _burst(conn: redis.Redis, threads: int) -> list[BaseException]:
    """``threads`` threads each hold a connection for 0.3 s (a blocking pop on an empty list)."""
    key, errors = f"pw-test-empty-{uuid.uuid4().hex}", []

    def hold():
        try:
            conn.blpop([key], timeout=0.3)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    workers = [threading.Thread(target=hold) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return errors


def test_more_threads_than_connections_wait_for_one():
    threads = MAX_CONNECTIONS * 2 + 20
    assert _burst(client(f"{REDIS_URL}/14", 5), threads) == []


def test_the_library_default_pool_would_have_failed_that_burst():
    """Why the module exists: redis-py's own pool refuses the same burst."""
    errors = _burst(redis.Redis.from_url(f"{REDIS_URL}/14", socket_timeout=5), 150)
    if redis.ConnectionPool().max_connections >= 150:  # an older redis-py: unbounded pool
        assert errors == []
    else:
        assert errors and all(isinstance(e, redis.ConnectionError) for e in errors)
