"""Issue rows 4 and 10 (unit parts): the web fleet can refuse streams; the ban table is bounded."""

from __future__ import annotations

from app import create_app
from app.stream.limits import MemoryLimiter, OpenStreams


def test_a_process_with_streams_disabled_refuses_them_with_the_error_element(settings):
    app = create_app(settings.model_copy(update={"stream_enabled": False}))
    resp = app.test_client().get("/stream/api/?token=x&format=xml", headers={"X-Forwarded-For": "192.0.2.9"})
    app.extensions["pushwire"].db.engine.dispose()
    assert resp.status_code == 503
    assert b"<err code='1009'" in resp.data and b"stream endpoint" in resp.data


def test_the_ban_table_keeps_at_most_max_ips_and_evicts_the_least_recent():
    limiter = MemoryLimiter(max_attempts=3, window=60, ban_seconds=300, max_ips=1000)
    for n in range(50_000):  # before: every attempt past 10k IPs rebuilt the whole dict under the lock
        limiter.attempt(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(limiter.attempts) == 1000
    assert "10.0.195.79" in limiter.attempts and "10.0.0.0" not in limiter.attempts  # newest kept, oldest gone
    for _ in range(4):
        banned = limiter.attempt("192.0.2.1")
    assert banned == 300
    for n in range(2000):  # more IPs get banned: the ban table stays bounded too
        ip = f"198.18.{n // 256}.{n % 256}"
        for _ in range(4):
            limiter.attempt(ip)
    assert len(limiter.bans) == 1000 and len(limiter.attempts) == 1000


def test_a_recently_active_ip_keeps_its_count():
    limiter = MemoryLimiter(max_attempts=3, window=60, ban_seconds=300, max_ips=10)
    limiter.attempt("a")
    limiter.attempt("a")
    for n in range(9):
        limiter.attempt(f"ip{n}")
    limiter.attempt("a")  # still tracked (9 others fit beside it): third attempt
    assert limiter.attempt("a") == 300  # the fourth in the window bans


def test_open_stream_slots_per_key_and_ip():
    slots = OpenStreams(per_key=2, per_ip=3)
    assert slots.acquire(1, "a") and slots.acquire(1, "b")
    assert not slots.acquire(1, "c"), "the key's cap"
    assert slots.acquire(2, "a") and slots.acquire(3, "a")
    assert not slots.acquire(4, "a"), "the address's cap"
    slots.release(1, "a")
    assert slots.acquire(4, "a") and slots.acquire(1, "d")
    for key, ip in ((1, "b"), (2, "a"), (3, "a"), (4, "a"), (1, "d")):
        slots.release(key, ip)
    assert slots.by_key == {} and slots.by_ip == {}
