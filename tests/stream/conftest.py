"""Two real gunicorn gateways on PostgreSQL + Redis for the Stream API tests.

Both serve the same database and Redis, so an event or a replacement notice from
one process must reach streams held by the other. Each test gets its own site and
its own client IP (``X-Forwarded-For``, trusted here) so bans do not leak.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests

from app.config import Settings
from app.crypto import hash_stream_key
from app.events import bind_runtime, emit_event
from app.migrate import upgrade
from app.models import Site
from app.runtime import Runtime
from tests.support.services import REDIS_URL
from tests.support.stack import BIN, ROOT, free_port

STREAM_REDIS_DB = 10
_ips = itertools.count(1)
_sites = itertools.count(1)


class Gateway:
    """One gunicorn process serving ``app:create_app()`` with ``env``."""

    def __init__(self, env: dict, logdir: Path, name: str, threads: int = 32):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = logdir / f"{name}.log"
        argv = [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{self.port}", "-w", "1", "-k", "gthread",
                "--threads", str(threads), "app:create_app()"]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, cwd=ROOT,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(self.url + "/stream/api/?token=", timeout=2, headers={"X-Forwarded-For": "192.0.2.1"})
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(self.log.read_text())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def stream_settings(pg_url, tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("stream")
    settings = Settings(data_dir=tmp, database_url=pg_url, secret_key="test-secret-key-one",
                        redis_url=f"{REDIS_URL}/{STREAM_REDIS_DB}", broker_url=f"{REDIS_URL}/{STREAM_REDIS_DB}")
    upgrade(settings)
    client = redis.Redis.from_url(settings.redis_url)
    for key in client.scan_iter("pushwire:stream:*"):  # only ours: bans and counters of past runs
        client.delete(key)
    return settings


@pytest.fixture(scope="session")
def gateways(stream_settings, tmp_path_factory):
    """(gateway A, gateway B): separate processes, keep-alive every second, 5 attempts/min per IP."""
    s = stream_settings
    env = {
        "PUSHWIRE_DATA_DIR": str(s.data_dir), "PUSHWIRE_DATABASE_URL": s.database_url,
        "PUSHWIRE_REDIS_URL": s.redis_url, "PUSHWIRE_BROKER_URL": s.broker_url,
        "PUSHWIRE_SECRET_KEY": s.secret_key, "PUSHWIRE_STREAM_KEEPALIVE": "1",
        "PUSHWIRE_STREAM_TRUST_FORWARDED": "true", "PUSHWIRE_STREAM_MAX_ATTEMPTS": "5",
        "PUSHWIRE_STREAM_ATTEMPT_WINDOW": "60", "PUSHWIRE_STREAM_BAN_SECONDS": "3",
    }
    logdir = tmp_path_factory.mktemp("stream-logs")
    pair = (Gateway(env, logdir, "a"), Gateway(env, logdir, "b"))
    yield pair
    for gateway in pair:
        gateway.stop()


@pytest.fixture(scope="session")
def stream_rt(stream_settings):
    rt = Runtime(stream_settings)
    yield rt
    rt.db.engine.dispose()


@pytest.fixture()
def new_site(stream_rt):
    """``new_site() -> (site_id, stream_key)``: a fresh tenant."""

    def make() -> tuple[int, str]:
        n = next(_sites)
        with stream_rt.db.session() as session:
            key = f"sk-{os.getpid()}-{n}-{time.time_ns()}"
            site = Site(name=f"stream site {n} <&\"'>", private_key_hash="x", stream_key=hash_stream_key(key),
                        signing_secret_enc="x")
            session.add(site)
            session.flush()
            return site.id, key

    return make


@pytest.fixture()
def ip():
    """A client IP of its own for this test (the gateways trust X-Forwarded-For)."""
    return f"198.51.100.{next(_ips)}"


@pytest.fixture()
def produce(stream_rt):
    """``produce(site_id, kind, body) -> event id``: commit an event and publish it, as a worker does."""

    def emit(site_id: int, kind: str, body: dict) -> int:
        with stream_rt.db.session() as session:
            bind_runtime(session, stream_rt)
            return emit_event(session, site_id, kind, body).id

    return emit
