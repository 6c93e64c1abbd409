"""One Runtime per worker process, built on first use from the Celery app's settings."""

from __future__ import annotations

import threading

from app.runtime import Runtime

_runtimes: dict[int, Runtime] = {}
_lock = threading.Lock()  # the threads pool may start many tasks at once


def runtime(celery_app) -> Runtime:
    """The process's Runtime for ``celery_app`` (created lazily, after fork)."""
    key = id(celery_app)
    rt = _runtimes.get(key)
    if rt is None:
        with _lock:
            rt = _runtimes.get(key)
            if rt is None:
                rt = Runtime(celery_app.pushwire_settings)
                rt.__dict__["celery"] = celery_app  # reuse this app's broker connection pool
                _runtimes[key] = rt
    return rt
