"""Readiness checks: database, broker, staging store; Redis when configured (optional).

``readiness(rt, timeout)`` runs every check in parallel, each bounded by
``timeout`` seconds, and returns ``(ready, {name: {"ok": bool, ...}})``.
Errors are reported as short, redacted sentences (never URLs with passwords).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy import text

from app.logs import redact

if TYPE_CHECKING:
    from app.runtime import Runtime


def check_database(rt: Runtime) -> None:
    """``SELECT 1`` on a pooled connection."""
    with rt.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_broker(rt: Runtime) -> None:
    """Open (or reuse) a broker connection, trying once."""
    with rt.celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.5)


def check_staging(rt: Runtime) -> None:
    """The staging store's own probe (S3 HEAD bucket, or a writable directory)."""
    rt.store.check()


def check_redis(rt: Runtime) -> None:
    """PING ``PUSHWIRE_REDIS_URL``'s Redis (a fresh connection, so a stale pool cannot hide an outage)."""
    import redis

    timeout = max(0.5, min(rt.settings.readiness_timeout, 5.0))
    client = redis.Redis.from_url(rt.settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


CHECKS = {"database": check_database, "broker": check_broker, "staging": check_staging}

#: Checks whose failure degrades Pushwire without stopping the push path: name ->
#: (check, what is degraded while it fails). Run only when configured.
OPTIONAL = {
    "redis": (check_redis, ["stream fan-out between processes (streams get error 1010, 503, until it is back)",
                            "rate limits shared between processes (counted per process)",
                            "stream connection bans (not enforced)"]),
}


def readiness(rt: Runtime, timeout: float = 5.0) -> tuple[bool, dict]:
    """Run all checks; ready only when every required check passed within ``timeout``.
    An optional check that fails is reported with ``"required": false`` and what it
    degrades, and does not make the process unready."""
    checks = dict(CHECKS)
    if rt.settings.redis_url:
        checks["redis"] = OPTIONAL["redis"][0]
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz")
    try:
        started = time.monotonic()
        futures = {name: pool.submit(_timed, check, rt) for name, check in checks.items()}
        results = {}
        for name, future in futures.items():
            left = max(0.0, timeout - (time.monotonic() - started))
            try:
                results[name] = future.result(timeout=left)
            except FutureTimeout:
                results[name] = {"ok": False, "error": f"no answer within {timeout:g} s"}
    finally:
        # A hung check keeps its thread; do not wait for it.
        pool.shutdown(wait=False, cancel_futures=True)
    for name, result in results.items():
        if name in OPTIONAL:
            result["required"] = False
            if not result["ok"]:
                result["degraded"] = OPTIONAL[name][1]
    return all(r["ok"] for name, r in results.items() if name not in OPTIONAL), results


def status_word(ready: bool, checks: dict) -> str:
    """``ok``, ``degraded`` (ready, an optional dependency down) or ``unavailable``."""
    if not ready:
        return "unavailable"
    return "ok" if all(r["ok"] for r in checks.values()) else "degraded"


def _timed(check, rt: Runtime) -> dict:
    started = time.monotonic()
    try:
        check(rt)
    except Exception as exc:
        return {"ok": False, "error": redact(f"{type(exc).__name__}: {exc}")[:300],
                "seconds": round(time.monotonic() - started, 3)}
    return {"ok": True, "seconds": round(time.monotonic() - started, 3)}
