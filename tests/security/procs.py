"""The Procfile's own command lines, run as real processes for the security tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.stack import BIN, ROOT, free_port


def procfile() -> dict[str, str]:
    return dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)


@contextmanager
def procfile_web(env: dict, log: Path):
    """The Procfile's ``web`` line (one process, 4 threads) with ``env``; yields its URL."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(["/bin/sh", "-c", "exec " + procfile()["web"]], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**env, "PORT": str(port), "WEB_CONCURRENCY": "1", "WEB_THREADS": "4",
                                     "PATH": f"{BIN}:{os.environ['PATH']}"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(url + "/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
