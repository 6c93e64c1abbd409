"""Readiness checks: database, broker, staging store.

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


CHECKS = {"database": check_database, "broker": check_broker, "staging": check_staging}


def readiness(rt: Runtime, timeout: float = 5.0) -> tuple[bool, dict]:
    """Run all checks; ready only when every check passed within ``timeout``."""
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    try:
        started = time.monotonic()
        futures = {name: pool.submit(_timed, check, rt) for name, check in CHECKS.items()}
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
    return all(r["ok"] for r in results.values()), results


def _timed(check, rt) -> dict:
    started = time.monotonic()
    try:
        check(rt)
    except Exception as exc:
        return {"ok": False, "error": redact(f"{type(exc).__name__}: {exc}")[:300],
                "seconds": round(time.monotonic() - started, 3)}
    return {"ok": True, "seconds": round(time.monotonic() - started, 3)}
