"""A real S3-protocol server for tests: moto's server mode in a subprocess.

A subprocess (rather than moto's in-process ThreadedMotoServer) keeps the
server's own memory out of ``tracemalloc`` measurements and its threads out
of the test process. Use it directly::

    endpoint, stop = start_s3_server()
    try:
        store = open_store("s3://bucket/prefix", **s3_store_options(endpoint),
                           create_bucket=True)
    finally:
        stop()

or through the session fixture, imported into a test module or conftest::

    from tests.support.s3server import s3_endpoint  # noqa: F401
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Callable, Iterator

import pytest

#: Dummy credentials and region; moto accepts anything. They are passed to
#: clients explicitly so the test process environment is never modified.
TEST_ACCESS_KEY_ID = "pushwire-test"
TEST_SECRET_ACCESS_KEY = "pushwire-test-secret"
TEST_REGION = "us-east-1"

_START_TIMEOUT = 30.0

# `python -m moto.server ARGS`, plus a watchdog: the server exits when its
# stdin (a pipe from the test process) closes, so a killed test run does not
# leave an orphaned server behind.
_LAUNCHER = """
import os, sys, threading
from moto.server import main
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
main(sys.argv[1:])
"""


# The same, counting the object GETs it serves (path-style ``GET /bucket/key``
# without a query string) by path; ``GET /__gets__`` answers the counts as JSON.
_COUNTING_LAUNCHER = """
import json, os, sys, threading
import moto.server
from moto.server import main

class CountingApp(moto.server.DomainDispatcherApplication):
    gets, lock = {}, threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/__gets__":
            body = json.dumps(CountingApp.gets).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ["REQUEST_METHOD"] == "GET" and path.count("/") >= 2 and not environ.get("QUERY_STRING"):
            with CountingApp.lock:
                CountingApp.gets[path] = CountingApp.gets.get(path, 0) + 1
        return super().__call__(environ, start_response)

moto.server.DomainDispatcherApplication = CountingApp
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
main(sys.argv[1:])
"""


def start_s3_server(count_gets: bool = False) -> tuple[str, Callable[[], None]]:
    """Start moto's S3 server (``python -m moto.server``) on a free local port.

    Returns ``(endpoint_url, stop)`` once the server answers HTTP; call
    ``stop()`` to terminate it (idempotent). ``count_gets=True`` makes the
    server count the object GETs it serves (see ``object_gets``).
    """
    last_log = ""
    for _attempt in range(3):
        port = _free_port()
        log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
        launcher = _COUNTING_LAUNCHER if count_gets else _LAUNCHER
        proc = subprocess.Popen(
            [sys.executable, "-c", launcher, "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        endpoint = f"http://127.0.0.1:{port}"
        if _wait_until_up(endpoint, proc):
            return endpoint, _stopper(proc, log.name)
        last_log = _tail(log.name)
        _stop(proc, log.name)  # most likely lost a race for the port; retry
    raise RuntimeError(f"moto server did not start; last log:\n{last_log}")


def object_gets(endpoint_url: str) -> dict[str, int]:
    """``{"/bucket/key": GETs served}`` of a server started with ``count_gets=True``."""
    import json

    with urllib.request.urlopen(f"{endpoint_url}/__gets__", timeout=10) as resp:
        return json.loads(resp.read())


def s3_store_options(endpoint_url: str) -> dict:
    """Return the ``open_store`` keyword arguments for the test server."""
    return {
        "s3_endpoint_url": endpoint_url,
        "s3_region": TEST_REGION,
        "s3_access_key_id": TEST_ACCESS_KEY_ID,
        "s3_secret_access_key": TEST_SECRET_ACCESS_KEY,
    }


def make_client(endpoint_url: str):
    """Return a plain boto3 S3 client for the test server (for assertions)."""
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=TEST_REGION,
        aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
    )


# The fixture may be imported into several modules and a conftest; each import
# is a separate session fixture to pytest, so they share one server.
_shared: dict = {"users": 0, "endpoint": None, "stop": None}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """Session-wide moto S3 server; yields its endpoint URL."""
    if _shared["users"] == 0:
        _shared["endpoint"], _shared["stop"] = start_s3_server()
    _shared["users"] += 1
    try:
        yield _shared["endpoint"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["stop"]()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(endpoint: str, proc: subprocess.Popen) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer means the server is serving
        except OSError:
            time.sleep(0.05)
    return False


def _stopper(proc: subprocess.Popen, log_path: str) -> Callable[[], None]:
    def stop() -> None:
        _stop(proc, log_path)

    return stop


def _stop(proc: subprocess.Popen, log_path: str) -> None:
    if proc.stdin is not None:
        proc.stdin.close()
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    try:
        os.unlink(log_path)
    except OSError:
        pass


def _tail(path: str, n: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"
