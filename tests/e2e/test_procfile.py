"""Every Procfile process runs as written, configured only by the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.stack import ROOT, free_port

pytestmark = pytest.mark.e2e
BIN = str(Path(sys.executable).parent)


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


#: Flower refuses to start without credentials (README, security section).
FLOWER_AUTH = "ops:procfile-test-password"


def _ready(name: str, proc, log: Path, ports: dict) -> bool:
    text = log.read_text(errors="replace")
    if name == "release":
        return proc.poll() == 0
    if name in ("web", "stream"):
        port = ports["PORT" if name == "web" else "STREAM_PORT"]
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False
    if name == "flower":
        try:
            return requests.get(f"http://127.0.0.1:{ports['FLOWER_PORT']}/healthcheck", timeout=1,
                                auth=tuple(FLOWER_AUTH.split(":", 1))).ok
        except requests.RequestException:
            return False
    if name == "beat":
        return "beat: Starting" in text
    return " ready." in text


def test_each_procfile_process_starts(redis_stack, tmp_path):
    entries = _procfile()
    assert {"release", "web", "stream", "worker", "worker_staging", "worker_transcode", "worker_upload",
            "worker_callback", "beat",
            "flower"} <= set(entries)
    ports = {"PORT": str(free_port()), "FLOWER_PORT": str(free_port()), "STREAM_PORT": str(free_port())}
    env = {**redis_stack.env, **ports, "PATH": f"{BIN}:{os.environ['PATH']}",
           "PUSHWIRE_DATA_DIR": str(tmp_path), "PUSHWIRE_FLOWER_BASIC_AUTH": FLOWER_AUTH, "WEB_CONCURRENCY": "1",
           "STAGING_CONCURRENCY": "1", "TRANSCODE_CONCURRENCY": "1", "UPLOAD_CONCURRENCY": "1", "CALLBACK_CONCURRENCY": "1"}
    procs = {}
    for name, command in entries.items():
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            procs[name] = (subprocess.Popen(["bash", "-c", f"exec {command}"], env=env, cwd=tmp_path,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True), log)
    try:
        pending = set(procs)
        deadline = time.time() + 90
        while pending and time.time() < deadline:
            for name in list(pending):
                proc, log = procs[name]
                if _ready(name, proc, log, ports):
                    pending.discard(name)
                elif proc.poll() not in (None, 0):
                    pytest.fail(f"{name} exited {proc.returncode}:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        assert not pending, {name: procs[name][1].read_text()[-1500:] for name in pending}
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
