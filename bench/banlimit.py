"""Issue 18 row 10: the stream ban table's cost per connection attempt as addresses pile up.

The in-process limiter (``app.stream.limits.MemoryLimiter``) against the table it
replaced (kept here as the baseline): a dict per IP that, past 10,000 entries,
was rebuilt on every attempt under the lock. Both see the same attempts from N
distinct addresses, then the cost of one more attempt is timed (median of many)
at 12k and 50k addresses. Target: flat (O(1)), i.e. the 50k cost within 2x the 12k one.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque

from app.stream.limits import MemoryLimiter
from bench.result import Result, margin


class _RebuildingLimiter:
    """The former MemoryLimiter, verbatim in behaviour (the baseline)."""

    def __init__(self, max_attempts: int, window: float, ban_seconds: float):
        self.max_attempts, self.window, self.ban_seconds = max_attempts, window, ban_seconds
        self.lock = threading.Lock()
        self.attempts: dict[str, deque] = {}
        self.bans: dict[str, float] = {}

    def attempt(self, ip: str) -> float | None:
        now = time.monotonic()
        with self.lock:
            until = self.bans.get(ip, 0.0)
            if until > now:
                return until - now
            self.bans.pop(ip, None)
            recent = self.attempts.setdefault(ip, deque())
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            recent.append(now)
            if len(recent) > self.max_attempts:
                recent.clear()
                self.bans[ip] = now + self.ban_seconds
                return self.ban_seconds
            if len(self.attempts) > 10000:
                self.attempts = {k: v for k, v in self.attempts.items() if v}
        return None


def _ip(n: int) -> str:
    return f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"


def _cost_us(limiter, seen: int, samples: int) -> float:
    if isinstance(limiter, _RebuildingLimiter):  # filled directly: its own path is quadratic
        now = time.monotonic()
        limiter.attempts = {_ip(n): deque([now]) for n in range(seen)}
    else:
        for n in range(seen):
            limiter.attempt(_ip(n))
    times = []
    for k in range(samples):
        ip = _ip(seen + k)
        t0 = time.perf_counter()
        limiter.attempt(ip)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def run(quick: bool = False) -> list[Result]:
    samples = 50 if quick else 300
    results = []
    costs = {}
    for seen in (12_000, 50_000):
        new = _cost_us(MemoryLimiter(30, 60, 300), seen, samples)
        old = _cost_us(_RebuildingLimiter(30, 60, 300), seen, samples)
        costs[seen] = new
        results.append(Result("banlimit", f"one attempt after {seen:,} addresses, LRU table", new, "us",
                              baseline=old, ratio=new / old, note="baseline: the former rebuilding table"))
    growth = costs[50_000] / costs[12_000]
    results.append(Result("banlimit", "cost growth 12k -> 50k addresses", growth, "x", target="<= 2x (O(1))",
                          met=growth <= 2.0, margin=margin(growth, 2.0, higher_is_better=False)))
    return results
