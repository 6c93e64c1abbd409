"""Issue row 4 against a real gunicorn (gthread, 4 threads): stream consumers that never
read cannot pin the server's threads; /healthz keeps answering."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest
import requests
from sqlalchemy import insert

from app.config import Settings
from app.crypto import hash_stream_key
from app.migrate import upgrade
from app.models import Event, Site
from app.runtime import Runtime
from tests.support.services import create_database
from tests.support.stack import BIN, ROOT, free_port

EVENTS, EVENT_BYTES = 400, 20_000  # an 8 MB replay per site: more than the socket buffers hold


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    url, drop = create_database()
    settings = Settings(data_dir=tmp_path_factory.mktemp("pin"), database_url=url, secret_key="test-secret-key-one")
    upgrade(settings)
    rt = Runtime(settings)
    keys = ["pin-" + os.urandom(8).hex() for _ in range(5)]
    with rt.db.session() as session:
        for key in keys:
            site = Site(name="pin", private_key_hash="x", stream_key=hash_stream_key(key), signing_secret_enc="x")
            session.add(site)
            session.flush()
            session.execute(insert(Event), [{"site_id": site.id, "kind": "upload",
                                             "body": {"video": {"guid": str(n), "text": "x" * EVENT_BYTES}}}
                                            for n in range(EVENTS)])
    rt.db.engine.dispose()
    yield settings, keys
    drop()


class Gunicorn:
    def __init__(self, settings: Settings, tmp, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "web.log"
        full = {**os.environ, "PUSHWIRE_DATA_DIR": str(settings.data_dir),
                "PUSHWIRE_DATABASE_URL": settings.database_url, "PUSHWIRE_SECRET_KEY": settings.secret_key,
                "PUSHWIRE_STREAM_MAX_ATTEMPTS": "1000", **{f"PUSHWIRE_{k.upper()}": str(v) for k, v in env.items()}}
        full.pop("PUSHWIRE_REDIS_URL", None)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{self.port}", "-w", "1", "-k", "gthread",
                 "--threads", "4", "app:create_app()"],
                env=full, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(self.url + "/healthz", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(self.log.read_text())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _open_non_reader(url: str, key: str, since: str = "0") -> socket.socket:
    """A consumer that asks for everything since 0 and then never reads."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    # A fixed receive buffer (no autotuning up to tcp_rmem's 32 MB): the replay must
    # outgrow what the kernels hold, as it does with a real consumer far away.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.connect((host, int(port)))
    sock.sendall(f"GET /stream/api/?since={since} HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {key}\r\n\r\n".encode())
    return sock


def _status(sock: socket.socket) -> bytes:
    """The status code of the answer on ``sock`` (its headers are the first bytes)."""
    sock.settimeout(5)
    return sock.recv(64).split(b" ", 2)[1]


def _stream_status(url: str, key: str) -> int:
    with requests.get(url + "/stream/api/", headers={"X-Stream-Key": key}, stream=True, timeout=5) as resp:
        return resp.status_code


def _healthz_latencies(url: str, seconds: float) -> list[float]:
    took, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            ok = requests.get(url + "/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            ok = False
        took.append(time.monotonic() - started if ok else float("inf"))
        time.sleep(0.2)
    return took


def test_non_reading_consumers_are_capped_and_dropped_and_healthz_answers_throughout(db, tmp_path):
    settings, keys = db
    web = Gunicorn(settings, tmp_path, stream_send_timeout=2, stream_max_per_ip=2, stream_max_per_key=10)
    socks = []
    try:
        socks = [_open_non_reader(web.url, keys[n]) for n in range(5)]
        # Before: 5 such consumers pinned all 4 threads for good and /healthz timed out.
        latencies = _healthz_latencies(web.url, 6)
        assert max(latencies) < 1.5, str([round(x, 2) for x in latencies])
        assert sorted(_status(s) for s in socks) == [b"200", b"200", b"429", b"429", b"429"]
        # The two that never read were dropped after the 2 s send timeout: their
        # slots are free again, so this address may open streams again.
        assert _stream_status(web.url, keys[2]) == 200
    finally:
        for s in socks:
            s.close()
        web.stop()
    assert "Streams" not in web.log.read_text()


def test_a_consumer_that_stops_reading_frees_its_thread_within_the_send_timeout(db, tmp_path):
    settings, keys = db
    web = Gunicorn(settings, tmp_path, stream_send_timeout=2, stream_max_per_ip=50, stream_max_per_key=50)
    socks = []
    try:
        socks = [_open_non_reader(web.url, keys[n]) for n in range(5)]  # more than the 4 threads
        time.sleep(0.5)
        started = time.monotonic()
        # /healthz waits at most for pinned threads' send timeouts (2 s), never forever.
        assert requests.get(web.url + "/healthz", timeout=15).status_code == 200
        assert time.monotonic() - started < 2 * 2 + 2
        time.sleep(4)  # the fifth consumer got a thread, and was dropped in turn
        assert max(_healthz_latencies(web.url, 3)) < 1.0
    finally:
        for s in socks:
            s.close()
        web.stop()


def test_a_replaced_connection_really_ends(db, tmp_path):
    settings, keys = db
    # Only the replacement can end the old stream here: the send timeout is 10 minutes.
    web = Gunicorn(settings, tmp_path, stream_send_timeout=600, stream_max_per_key=2)
    old = None
    try:
        old = _open_non_reader(web.url, keys[0])
        time.sleep(1.5)  # its thread is now blocked writing the replay
        newer = requests.get(web.url + "/stream/api/", headers={"X-Stream-Key": keys[0]}, stream=True, timeout=10)
        assert newer.status_code == 200
        time.sleep(3)
        # Before: the old stream stayed blocked (holding a thread and a slot of its key),
        # so a third connection was over the key's cap of 2.
        assert _stream_status(web.url, keys[0]) == 200
        newer.close()
    finally:
        if old is not None:
            old.close()
        web.stop()
