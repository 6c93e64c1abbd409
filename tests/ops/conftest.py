"""A small stack of our own with multiprocess metrics on, plus Flower from the Procfile."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis
import requests

from tests.conftest import stack_env
from tests.support.services import REDIS_URL
from tests.support.stack import ROOT, Client, Stack, free_port

OPS_REDIS_DB = 12
FLOWER_AUTH = ("ops", "flower-secret")


@pytest.fixture(scope="module")
def ops_stack(pg_url, s3_endpoint, fakes):
    """Gateway + one worker, metrics from every process in one PROMETHEUS_MULTIPROC_DIR."""
    broker = f"{REDIS_URL}/{OPS_REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()
    tmp = tempfile.mkdtemp(prefix="pushwire-ops-")
    metrics_dir = Path(tmp) / "metrics"
    metrics_dir.mkdir()
    env = stack_env(pg_url, broker, s3_endpoint, fakes, tmp, "pushwire-ops")
    env.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), PUSHWIRE_LOG_JSON="true",
               PUSHWIRE_FLOWER_BASIC_AUTH=":".join(FLOWER_AUTH))
    stack = Stack(env, concurrency=2).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def ops_client(ops_stack) -> Client:
    return Client(ops_stack.url, ops_stack.create_site("ops-site"))


@pytest.fixture(scope="module")
def flower(ops_stack):
    """Flower started with the Procfile's own command line; yields its base URL."""
    command = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    port = free_port()
    log = open(ops_stack.logdir / "flower.log", "ab")
    proc = subprocess.Popen(["/bin/sh", "-c", "exec " + command["flower"]], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            env={**ops_stack.env, "FLOWER_PORT": str(port),
                                 "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, proc, ops_stack)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def _wait_for(url: str, proc, stack, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            requests.get(url + "/healthcheck", timeout=2)
            time.sleep(1)  # let Flower subscribe to events before the test pushes
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError(f"flower did not start:\n{stack.log('flower')}")
