"""The real thing in subprocesses: gunicorn serving the gateway, Celery workers.

``Stack`` starts them with PUSHWIRE_* settings in their environment, exactly as
the Procfile does, and talks to them over HTTP like a client.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]

#: Every secret a test handed to a gateway (tokens, site private keys), so a
#: test can check none of them is stored in plaintext.
SECRETS_GIVEN: list[str] = []
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """Gateway + worker processes sharing one environment."""

    def __init__(self, env: dict[str, str], queues: str = "staging,transcode,upload,callback,maintenance",
                 concurrency: int = 2, beat: bool = False):
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logdir = Path(tempfile.mkdtemp(prefix="pushwire-stack-"))
        self.procs: dict[str, subprocess.Popen] = {}
        self.started: dict[str, float] = {}  # name -> time.monotonic() at spawn
        self.queues, self.concurrency, self.beat = queues, concurrency, beat

    def cli(self, *args: str) -> str:
        out = subprocess.run([str(BIN / "pushwire"), *args], env=self.env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        if out.returncode:
            raise RuntimeError(f"pushwire {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def start(self) -> "Stack":
        self.cli("db", "upgrade")
        self.start_web(wait=False)
        self.start_worker()
        if self.beat:
            self.start_beat()
        try:
            self._wait_http()
        except BaseException:
            self.stop()
            raise
        return self

    def start_web(self, wait: bool = True) -> None:
        self._spawn("web", [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{self.port}", "-w", "2",
                            "-k", "gthread", "--threads", "8", "app:create_app()"])
        if wait:
            self._wait_http()

    def start_beat(self) -> None:
        self._spawn("beat", [str(BIN / "celery"), "-A", "workers.worker", "beat", "-l", "info",
                             "-s", str(self.logdir / "beat-schedule")])

    def start_worker(self, name: str = "worker") -> None:
        self._spawn(name, [str(BIN / "celery"), "-A", "workers.worker", "worker", "-l", "info",
                           "-Q", self.queues, "-c", str(self.concurrency), "-n", f"{name}-{self.port}@%h",
                           "-P", os.environ.get("PUSHWIRE_TEST_POOL", "prefork"),
                           "--without-gossip", "--without-mingle"])

    def _spawn(self, name: str, argv: list[str]) -> None:
        with open(self.logdir / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        self.started[name] = time.monotonic()

    def _wait_http(self, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                requests.get(self.url + "/push/requests.json", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"gateway did not start:\n{self.log('web')}")

    def log(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM if name != "worker" else signal.SIGKILL)

    # -- client helpers -------------------------------------------------------
    def create_site(self, name: str = "test-site") -> dict:
        site = json.loads(self.cli("site", "create", name))
        SECRETS_GIVEN.extend([site["private_key"], site["signing_secret"]])
        return site


class Client:
    """A site's API client: Basic auth with its keys."""

    def __init__(self, base_url: str, site: dict):
        self.base_url, self.site = base_url, site
        self.http = requests.Session()
        self.http.auth = (site["public_key"], site["private_key"])

    def post(self, path: str, body=None, **kw) -> requests.Response:
        return self.http.post(self.base_url + path, json=body, timeout=30, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=30, **kw)

    def import_identity(self, provider: str, user: dict, profile: dict | None = None) -> str:
        SECRETS_GIVEN.extend(t for t in (user.get("access_token"), user.get("refresh_token")) if t)
        resp = self.post("/identities.json", {"request": {"identity": {
            "provider": provider, "access_token": user["access_token"],
            "refresh_token": user.get("refresh_token"), "expires_in": user.get("expires_in", 7200),
            "provider_user_id": str(user["user_id"]), "profile": profile or {"name": user.get("username")}}}})
        assert resp.status_code in (200, 201), resp.text
        return resp.json()["response"]["result"]["data"]["identity"]["identity_token"]

    def push_twitter_video(self, identity: str, video_url: str, callback_url: str | None = None, **extra):
        node = {"video_url": video_url, **extra}
        if callback_url:
            node["callback_url"] = callback_url
        return self.post(f"/push/identities/{identity}/twitter/video.json", {"request": {"push": {"video": node}}})

    def status(self, token: str) -> dict:
        resp = self.get(f"/push/requests/{token}.json")
        assert resp.status_code == 200, resp.text
        return resp.json()["response"]["result"]["data"]["request"]

    def settled(self, resp) -> dict:
        """The success data of a push: the answer itself (200), or, when the gateway
        answered 202, the request's result once the worker finished it."""
        assert resp.status_code in (200, 202), resp.text
        data = resp.json()["response"]["result"]["data"]
        if resp.status_code == 202:
            final = self.wait_final(data["request_token"])
            assert final["state"] == "succeeded", json.dumps(final, indent=1)
            return {**final["result"], "request_token": data["request_token"]}
        return data

    def wait_final(self, token: str, timeout: float = 90) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            data = self.status(token)
            if data["state"] in ("succeeded", "failed", "cancelled", "unconfirmed"):
                return data
            time.sleep(0.3)
        raise AssertionError(f"request {token} not final after {timeout}s: {json.dumps(data, indent=1)}")
