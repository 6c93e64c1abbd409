"""Issue row 5: Flower never runs open, never with a default password, never on a public address."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest
import requests
import yaml

from tests.support.services import REDIS_URL
from tests.support.stack import BIN, ROOT, free_port


def _flower(env_extra: dict, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHWIRE_", "FLOWER_"))}
    env.update({"PUSHWIRE_BROKER_URL": f"{REDIS_URL}/4", "PUSHWIRE_SECRET_KEY": "test-secret-key-one",
                "PATH": f"{BIN}:{os.environ['PATH']}", **env_extra})
    return subprocess.Popen([str(BIN / "pushwire"), "flower", f"--port={port}"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.mark.parametrize("auth", [None, "", "admin:change-me", "ops:short", "justauser"])
def test_flower_refuses_to_start_without_real_credentials(auth):
    proc = _flower({} if auth is None else {"PUSHWIRE_FLOWER_BASIC_AUTH": auth}, free_port())
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "PUSHWIRE_FLOWER_BASIC_AUTH" in out, out


def _listening_addresses(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, _, hexport = local.partition(":")
                if state == "0A" and int(hexport, 16) == port:
                    found.add(addr)
    return found


def test_flower_with_credentials_listens_on_loopback_behind_basic_auth():
    port = free_port()
    proc = _flower({"PUSHWIRE_FLOWER_BASIC_AUTH": "ops:a-long-flower-password"}, port)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 40
        while time.time() < deadline and proc.poll() is None:
            try:
                requests.get(url + "/healthcheck", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        assert requests.get(url + "/api/workers", timeout=10).status_code == 401
        assert requests.get(url + "/api/workers", auth=("ops", "wrong-password-x"), timeout=10).status_code == 401
        assert requests.get(url + "/api/workers", auth=("ops", "a-long-flower-password"), timeout=10).status_code == 200
        assert _listening_addresses(port) == {"0100007F"}, "bound to 127.0.0.1 only"
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        assert b"a-long-flower-password" not in cmdline, "credentials are not on the command line"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)


def test_no_default_flower_password_and_no_published_port():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    flower = compose["services"]["flower"]
    assert "ports" not in flower
    assert "?" in (ROOT / "docker" / "compose.yaml").read_text().split("PUSHWIRE_FLOWER_BASIC_AUTH: ${")[1].split("}")[0]
    for path in ("Procfile", "docker/compose.yaml", "docker/README.md", "README.md"):
        text = (ROOT / path).read_text()
        assert not re.search(r"FLOWER_BASIC_AUTH[=:]\s*\$?\{?[^\s}]*:-", text), path
        assert not re.search(r"(?i)admin:(change-me|choose-a-password|admin|password)", text), path
