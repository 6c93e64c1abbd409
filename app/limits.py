"""Rate limits shared by every process: per site at the gateway, per identity and
per provider in the workers (so one user's burst cannot get the whole app
rate-limited at the network).

Fixed windows counted in Redis (``INCR`` + ``EXPIRE`` in one transaction) when
``PUSHWIRE_REDIS_URL`` is set, in process memory otherwise (the embedded default
runs one gateway process). Limits are written ``"<count>/<seconds>"``; an empty
value or ``0/..`` disables one.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> "Limit | None":
        """``"60/60"`` -> Limit(60, 60); empty or zero -> None (no limit)."""
        if not text or not text.strip():
            return None
        count, _, seconds = text.partition("/")
        limit = cls(int(count), float(seconds or 60))
        if limit.count <= 0 or limit.seconds <= 0:
            return None
        return limit


class Limiter:
    """``hit(key, limit)`` counts one event and returns seconds to wait (0 when allowed)."""

    def __init__(self, redis_url: str = "", prefix: str = "pushwire:limit:"):
        self.prefix = prefix
        self._redis = None
        if redis_url:
            from app.redisclient import client as redis_client

            self._redis = redis_client(redis_url, 2)
        self._local: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: Limit | None) -> float:
        if limit is None:
            return 0.0
        now = time.time()
        window = int(now // limit.seconds)
        reset = (window + 1) * limit.seconds - now
        count = self._count(f"{self.prefix}{key}:{window}", window, key, math.ceil(limit.seconds) + 1)
        return 0.0 if count <= limit.count else reset

    def _count(self, full_key: str, window: int, key: str, ttl: int) -> int:
        if self._redis is not None:
            try:
                pipe = self._redis.pipeline()
                pipe.incr(full_key)
                pipe.expire(full_key, ttl)
                return int(pipe.execute()[0])
            except Exception:  # Redis down: fail open locally rather than refuse all traffic
                pass
        with self._lock:
            seen_window, count = self._local.get(key, (window, 0))
            count = count + 1 if seen_window == window else 1
            self._local[key] = (window, count)
            return count
