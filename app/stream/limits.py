"""Connection-attempt limits per client IP: too many attempts in a window ban the IP.

``open_limiter(settings)`` returns a Redis-backed limiter when
``PUSHWIRE_REDIS_URL`` is set (shared by every gateway process), an in-process
one otherwise. ``limiter.attempt(ip)`` counts one attempt and returns the seconds
the IP stays banned, or None when it may connect.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque

log = logging.getLogger(__name__)

PREFIX = "pushwire:stream"


class MemoryLimiter:
    """Sliding window per IP, for a single process (the embedded default).

    Both tables are LRU-ordered and bounded by ``max_ips``: every attempt moves
    its IP to the end, and the least recently seen IPs fall off the front, so
    each attempt costs O(1) however many addresses have tried (an IP evicted
    while banned has not tried for longer than anyone still tracked).
    """

    def __init__(self, max_attempts: int, window: float, ban_seconds: float, max_ips: int = 10000):
        self.max_attempts, self.window, self.ban_seconds = max_attempts, window, ban_seconds
        self.max_ips = max_ips
        self.lock = threading.Lock()
        self.attempts: OrderedDict[str, deque] = OrderedDict()
        self.bans: OrderedDict[str, float] = OrderedDict()

    def attempt(self, ip: str) -> float | None:
        now = time.monotonic()
        with self.lock:
            until = self.bans.get(ip, 0.0)
            if until > now:
                return until - now
            self.bans.pop(ip, None)
            recent = self.attempts.get(ip)
            if recent is None:
                recent = self.attempts[ip] = deque()
                while len(self.attempts) > self.max_ips:
                    self.attempts.popitem(last=False)
            else:
                self.attempts.move_to_end(ip)
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            recent.append(now)
            if len(recent) > self.max_attempts:
                recent.clear()
                self.bans[ip] = now + self.ban_seconds
                while len(self.bans) > self.max_ips:
                    self.bans.popitem(last=False)
                return self.ban_seconds
        return None


class RedisLimiter:
    """Fixed window counter plus a ban key with a TTL, shared across processes.

    If Redis is unreachable the attempt is allowed (logged): a broken limiter must
    not take the stream down.
    """

    def __init__(self, redis_url: str, max_attempts: int, window: float, ban_seconds: float):
        from app.redisclient import client as redis_client

        self.client = redis_client(redis_url, 5)
        self.max_attempts, self.window, self.ban_seconds = max_attempts, window, ban_seconds

    def attempt(self, ip: str) -> float | None:
        ban_key = f"{PREFIX}:ban:{ip}"
        slot = int(time.time() // self.window)
        count_key = f"{PREFIX}:attempts:{ip}:{slot}"
        try:
            ban_ms = self.client.pttl(ban_key)
            if ban_ms and ban_ms > 0:
                return ban_ms / 1000  # attempts while banned neither count nor extend the ban
            pipe = self.client.pipeline(transaction=False)
            pipe.incr(count_key)
            pipe.expire(count_key, math.ceil(self.window) * 2)
            count, _ = pipe.execute()
            if count > self.max_attempts:
                pipe = self.client.pipeline(transaction=False)
                pipe.set(ban_key, "1", px=int(self.ban_seconds * 1000))
                pipe.delete(count_key)
                pipe.execute()
                return self.ban_seconds
        except Exception as exc:  # noqa: BLE001 - see class docstring
            log.warning("stream limiter: Redis unavailable (%s), allowing %s", exc, ip)
        return None


class OpenStreams:
    """Open streams per stream key (site) and per client IP in this process.

    ``acquire(site_id, ip)`` takes a slot, or returns False when the site
    already holds ``per_key`` streams (a replaced stream counts until it has
    really ended) or the IP ``per_ip``; ``release`` gives it back. O(1).
    """

    def __init__(self, per_key: int, per_ip: int):
        self.per_key, self.per_ip = per_key, per_ip
        self.lock = threading.Lock()
        self.by_key: dict[int, int] = {}
        self.by_ip: dict[str, int] = {}

    def acquire(self, site_id: int, ip: str) -> bool:
        with self.lock:
            if self.by_key.get(site_id, 0) >= self.per_key or self.by_ip.get(ip, 0) >= self.per_ip:
                return False
            self.by_key[site_id] = self.by_key.get(site_id, 0) + 1
            self.by_ip[ip] = self.by_ip.get(ip, 0) + 1
            return True

    def release(self, site_id: int, ip: str) -> None:
        with self.lock:
            for table, key in ((self.by_key, site_id), (self.by_ip, ip)):
                left = table.get(key, 0) - 1
                if left > 0:
                    table[key] = left
                else:
                    table.pop(key, None)


def open_limiter(settings):
    """The limiter for these settings (Redis when configured)."""
    args = (settings.stream_max_attempts, settings.stream_attempt_window, settings.stream_ban_seconds)
    if settings.redis_url:
        return RedisLimiter(settings.redis_url, *args)
    return MemoryLimiter(*args)
