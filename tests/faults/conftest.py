"""One stack for the fault tests, on servers they may stop: a PostgreSQL cluster of
its own (initdb/pg_ctl) and a Redis of its own for ``PUSHWIRE_REDIS_URL``. The
broker is the shared test Redis (a key prefix of its own), so stopping either
server disturbs no other test."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import time
from urllib.parse import urlsplit
from dataclasses import dataclass, field

import pytest
import requests

from tests.conftest import stack_env
from tests.support import pgcluster
from tests.support.origin import make_video
from tests.support.services import REDIS_URL
from tests.support.stack import Client, Stack, free_port
from tests.support.tcpproxy import TcpProxy

FAULTS_REDIS_DB = 9
SHUTDOWN_GRACE = 3  # long enough for a 1 s task to finish, short of an 8 s upload
MB = 1024 * 1024
FINAL = ("succeeded", "failed", "cancelled", "unconfirmed")


class RedisServer:
    """A redis-server of the test's own, to stop and start."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True,
                                  timeout=5).stdout.strip() == "PONG":
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)
            self.proc = None


@dataclass
class Sent:
    """One push as the client saw it."""

    kind: str  # "post" or "video"
    marker: str  # the tweet text, or the video's sha256
    status: int
    reason: str | None = None
    token: str | None = None
    retry_after: str | None = None
    body: str = ""


@dataclass
class FaultStack:
    stack: Stack
    pg: pgcluster.PgCluster
    redis: RedisServer
    s3: TcpProxy  # the S3 server as the stack sees it: stop() cuts it off
    client: Client
    identities: list[str]
    fakes: dict
    origin: object
    receiver: object
    sent: list[Sent] = field(default_factory=list)
    _n: itertools.count = field(default_factory=lambda: itertools.count(1))

    def push_post(self, label: str, timeout: float = 30) -> Sent:
        n = next(self._n)
        text = f"fault {label} {n} {time.time_ns()}"
        identity = self.identities[n % len(self.identities)]
        resp = self.client.http.post(f"{self.stack.url}/push/identities/{identity}/twitter/post.json",
                                     json={"request": {"push": {"post": {"message": text,
                                                                         "callback_url": self.receiver.url}}}},
                                     timeout=timeout)
        return self._record("post", text, resp)

    def push_video(self, label: str, size: int = MB) -> Sent:
        n = next(self._n)
        video = make_video(size + n, seed=5000 + n)
        url = self.origin.add(f"fault-{label}-{n}-{time.time_ns()}.mp4", video)
        identity = self.identities[n % len(self.identities)]
        resp = self.client.push_twitter_video(identity, url, self.receiver.url)
        return self._record("video", hashlib.sha256(video).hexdigest(), resp)

    def _record(self, kind: str, marker: str, resp: requests.Response) -> Sent:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        status = body.get("response", {}).get("request", {}).get("status", {})
        data = body.get("response", {}).get("result", {}).get("data", {})
        sent = Sent(kind, marker, resp.status_code, status.get("reason"), data.get("request_token"),
                    resp.headers.get("Retry-After"), resp.text[:500])
        self.sent.append(sent)
        return sent

    def created(self, sent: Sent) -> int:
        state = self.fakes["twitter"].state
        if sent.kind == "post":
            return sum(1 for t in state.tweets if t["text"] == sent.marker)
        return sum(1 for m in state.media.values() if m["sha256"] == sent.marker)

    def wait_final(self, tokens: list[str], timeout: float = 120) -> dict[str, dict]:
        """token -> final status; raises naming those still in flight at the deadline."""
        deadline = time.time() + timeout
        out: dict[str, dict] = {}
        last: dict[str, dict] = {}
        while time.time() < deadline:
            for token in tokens:
                if token in out:
                    continue
                resp = self.client.get(f"/push/requests/{token}.json")
                assert resp.status_code == 200, resp.text
                data = resp.json()["response"]["result"]["data"]["request"]
                last[token] = data
                if data["state"] in FINAL:
                    out[token] = data
            if len(out) == len(tokens):
                return out
            time.sleep(0.5)
        stuck = {t: last.get(t, {}).get("state") for t in tokens if t not in out}
        raise AssertionError(f"pushes not final after {timeout}s: {json.dumps(stuck)}\n"
                             f"{json.dumps([last[t] for t in stuck if t in last][:2], indent=1)[:3000]}")

    def check_all(self, sent: list[Sent], timeout: float = 120) -> dict:
        """Every accepted push succeeded exactly once with its callback and no attempt
        left running; every push answered 'nothing accepted' was not created at all."""
        accepted = [s for s in sent if s.status in (200, 202)]
        finals = self.wait_final([s.token for s in accepted], timeout)
        problems = [f"HTTP {s.status} {s.reason}: {s.body}" for s in sent if s.status >= 500 and s.status != 503]
        for s in sent:
            if s.status == 503:
                if s.reason == "temporarily_unavailable" and self.created(s):
                    problems.append(f"answered 'nothing accepted' but created: {s}")
                if s.reason == "outcome_unknown" and self.created(s) > 1:
                    problems.append(f"created twice: {s}")
                if not s.retry_after:
                    problems.append(f"503 without Retry-After: {s}")
        deadline = time.time() + 60
        for s in accepted:
            final = finals[s.token]
            if final["state"] != "succeeded":
                problems.append(f"{s.kind} {s.token}: {final['state']} {final.get('error')}")
            count = self.created(s)
            if count != 1:
                problems.append(f"{s.kind} {s.token}: created {count} times")
            while not self.receiver.delivered_for(s.token) and time.time() < deadline:
                time.sleep(0.2)
            if not self.receiver.delivered_for(s.token):
                problems.append(f"{s.kind} {s.token}: no callback")
            problems += [f"{s.token}: {a['stage']} attempt {a['attempt']} left running"
                         for a in final["audit"]["stages"] if a["outcome"] == "running"]
        assert not problems, "\n".join(problems)
        return {"sent": len(sent), "accepted": len(accepted),
                "503": sum(s.status == 503 for s in sent),
                "outcome_unknown": sum(s.reason == "outcome_unknown" for s in sent)}


@pytest.fixture(scope="session")
def pg_cluster():
    """A PostgreSQL server of the tests' own: they stop and restart it."""
    if not pgcluster.available():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pg = pgcluster.PgCluster().init()
    pg.start()
    yield pg
    pg.destroy()


@pytest.fixture(scope="session")
def fault_stack(pg_cluster, s3_endpoint, fakes, origin, receiver, tmp_path_factory):
    pg = pg_cluster
    if not pg.running():
        pg.start()
    redis_server = RedisServer()
    redis_server.start()
    s3 = TcpProxy(*urlsplit(s3_endpoint).netloc.split(":")[:1], urlsplit(s3_endpoint).port).start()
    broker = f"{REDIS_URL}/{FAULTS_REDIS_DB}"
    env = stack_env(pg.url, broker, s3.url, fakes, str(tmp_path_factory.mktemp("faults")), "pushwire-faults")
    env.update({"PUSHWIRE_REDIS_URL": redis_server.url, "PUSHWIRE_IDENTITY_RATE_LIMIT": "",
                "PUSHWIRE_STALL_AFTER": "10", "PUSHWIRE_SYNC_WAIT_SECONDS": "3",
                "PUSHWIRE_SHUTDOWN_GRACE": str(SHUTDOWN_GRACE)})
    stack = Stack(env, beat=True)
    try:
        stack.start()
        client = Client(stack.url, stack.create_site("faults-site"))
        identities = []
        for i in range(3):
            user = fakes["twitter"].state.add_user(str(880_000 + i), f"faults{i}")
            identities.append(client.import_identity("twitter", {**user, "user_id": str(880_000 + i),
                                                                  "username": f"faults{i}"}))
        yield FaultStack(stack, pg, redis_server, s3, client, identities, fakes, origin, receiver)
    finally:
        stack.stop()
        redis_server.stop()
        s3.stop()
