"""`make run`'s demo: the printed curl pushes the sample video to the sandbox and it arrives."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.support.stack import free_port

pytestmark = pytest.mark.e2e


def test_demo_banner_curl_delivers_a_video(tmp_path):
    ports = {"PORT": free_port(), "PUSHWIRE_DEMO_X_PORT": _free_run(5), "PUSHWIRE_DEMO_MEDIA_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHWIRE_")}
    env.update({k: str(v) for k, v in ports.items()}, PUSHWIRE_DATA_DIR=str(tmp_path / "var"))
    log = open(tmp_path / "demo.log", "w+")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.demo"], cwd=tmp_path, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        banner = _wait_for_banner(tmp_path / "demo.log", proc)
        curl = re.search(r"(curl -s -u \S+ \\\n.*?\n.*?\n\s+\S+video\.json)", banner, re.S).group(1)
        started = time.monotonic()
        answer = json.loads(subprocess.run(["bash", "-c", curl], capture_output=True, text=True, check=True).stdout)
        token = answer["response"]["result"]["data"]["request_token"]
        auth = tuple(re.search(r"curl -s -u (\S+?):(\S+)", banner).groups())
        state = None
        while time.monotonic() - started < 60:
            state = requests.get(f"http://127.0.0.1:{ports['PORT']}/push/requests/{token}.json", auth=auth,
                                 timeout=5).json()["response"]["result"]["data"]["request"]["state"]
            if state in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        assert state == "succeeded", (tmp_path / "demo.log").read_text()[-3000:]
        inbox = requests.get(f"http://127.0.0.1:{ports['PUSHWIRE_DEMO_MEDIA_PORT']}/inbox", timeout=5).json()
        assert any(token in entry["body"] for entry in inbox)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=45)  # the demo gives its children 20 s, then kills them
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        left = _processes_of(tmp_path / "var")  # gateway, worker, beat: each in a session of its own
        for pid in left:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        log.close()
    assert proc.returncode is not None and proc.returncode != -signal.SIGKILL, "Ctrl-C did not stop the demo"
    assert left == [], f"Ctrl-C left demo processes running: {left}"


def _processes_of(data_dir) -> list[int]:
    """Pids of live processes started with ``PUSHWIRE_DATA_DIR=data_dir``."""
    marker = f"PUSHWIRE_DATA_DIR={data_dir}".encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read() + b"\0"
            with open(f"/proc/{entry}/stat", "rb") as f:
                zombie = f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
        except OSError:
            continue
        if marker in environ and not zombie:
            found.append(int(entry))
    return found


def _free_run(count: int) -> int:
    """A port p such that p .. p+count-1 are all free (the demo's fakes use a run)."""
    for _ in range(50):
        base = random.randrange(20_000, 60_000)
        socks = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                socks.append(sock)
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no run of free ports")


def _wait_for_banner(path, proc, timeout: float = 90) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = path.read_text()
        if "Ctrl-C stops everything" in text:
            return text
        if proc.poll() is not None:
            raise AssertionError(f"demo exited:\n{text[-3000:]}")
        time.sleep(0.3)
    raise AssertionError(f"no banner:\n{path.read_text()[-3000:]}")


