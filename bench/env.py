"""The world one benchmark runs in: real PostgreSQL and Redis, fakes, origin, processes.

``with BenchEnv(providers=("twitter",)) as env:`` creates a throwaway database,
starts the named provider fakes and a generated-bytes origin in this process,
and gives a unique broker key prefix, so parallel runs never share queues.
``env.start_gateway()`` / ``env.start_workers(...)`` launch gunicorn and Celery
as subprocesses (``tests.support.stack.Stack``); everything stops on exit and
the run's Redis keys are deleted.
"""

from __future__ import annotations

import importlib
import itertools
import os
import tempfile
import time
import uuid

import redis
import requests
from sqlalchemy import create_engine, text

from bench.genorigin import GeneratedOrigin
from sandbox.common import serve
from tests.support.fakes import FAKE_MODULES, provider_env
from tests.support.services import REDIS_URL, create_database
from tests.support.stack import Client, Stack

#: The Redis database benchmarks use; keys are namespaced by a per-run prefix.
BENCH_REDIS_DB = int(os.environ.get("PUSHWIRE_BENCH_REDIS_DB", "13"))
_ids = itertools.count(1)


class BenchStack(Stack):
    """A ``Stack`` whose workers take pool options (``-P threads -c 200``)."""

    def start_gateway(self, workers: int = 2, threads: int = 32, app: str = "app:create_app()",
                      health: str = "/push/requests.json") -> None:
        """gunicorn (gthread, as the Procfile) serving ``app``; returns once it answers."""
        if app.startswith("app:"):
            self.cli("db", "upgrade")
        self._spawn("web", [str(_bin("gunicorn")), "-b", f"127.0.0.1:{self.port}", "-w", str(workers),
                            "-k", "gthread", "--threads", str(threads), app])
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(self.url + health, timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"gateway did not start:\n{self.log('web')}")

    def start_pool_worker(self, name: str, pool: str = "prefork", concurrency: int = 2,
                          queues: str | None = None, app: str = "workers.worker", env: dict | None = None) -> None:
        argv = [str(_bin("celery")), "-A", app, "worker", "-l", "warning", "-Q", queues or self.queues,
                "-P", pool, "-c", str(concurrency), "-n", f"{name}-{self.port}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if env:
            saved, self.env = self.env, {**self.env, **env}
            try:
                self._spawn(name, argv)
            finally:
                self.env = saved
        else:
            self._spawn(name, argv)

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, 15)


def _bin(name: str):
    from tests.support.stack import BIN

    return BIN / name


class BenchEnv:
    """Database, Redis prefix, fakes, origin and the processes of one benchmark."""

    def __init__(self, providers=("twitter",), fake_kwargs: dict | None = None, **settings: str):
        self.providers, self.fake_kwargs, self.extra = providers, fake_kwargs or {}, settings
        self.prefix = f"pwbench-{uuid.uuid4().hex[:8]}:"
        self.redis_url = f"{REDIS_URL}/{BENCH_REDIS_DB}"
        self.fakes: dict = {}
        self.stacks: list[BenchStack] = []

    # -- set-up -----------------------------------------------------------------
    def __enter__(self) -> "BenchEnv":
        self.db_url, self._drop = create_database()
        self.tmp = tempfile.mkdtemp(prefix="pushwire-bench-")
        try:
            for provider in self.providers:
                app = importlib.import_module(FAKE_MODULES[provider]).create_app(**self.fake_kwargs.get(provider, {}))
                handle = serve(app)
                handle.state = app.extensions["fake"]
                self.fakes[provider] = handle
            self.origin = GeneratedOrigin()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for stack in self.stacks:
            stack.stop()
        if hasattr(self, "_eng"):
            self._eng.dispose()
        for handle in self.fakes.values():
            handle.stop()
        if getattr(self, "origin", None):
            self.origin.stop()
        self._clean_redis()
        self._drop()

    def env(self, **overrides: str) -> dict[str, str]:
        """PUSHWIRE_* settings of this run (fakes, database, broker prefix, local staging)."""
        base = {
            **provider_env(self.fakes),
            "PUSHWIRE_DATA_DIR": self.tmp,
            "PUSHWIRE_DATABASE_URL": self.db_url,
            "PUSHWIRE_BROKER_URL": self.redis_url,
            "PUSHWIRE_REDIS_URL": self.redis_url,
            "PUSHWIRE_BROKER_KEY_PREFIX": self.prefix,
            "PUSHWIRE_STAGING_URL": f"file://{self.tmp}/staging",
            "PUSHWIRE_SECRET_KEY": "bench-secret-key-one",
            "PUSHWIRE_OUTBOUND_ALLOW": "127.0.0.1,localhost",
            # Benchmarks measure the pipeline, not our own throttles.
            "PUSHWIRE_SITE_RATE_LIMIT": "",
            "PUSHWIRE_IDENTITY_RATE_LIMIT": "",
            "PUSHWIRE_PROVIDER_RATE_LIMIT": "",
            "PUSHWIRE_SYNC_WAIT_SECONDS": "0",
            "PUSHWIRE_LOG_LEVEL": "WARNING",
            "PUSHWIRE_YOUTUBE_POLL_INTERVAL": "0.2",
        }
        return {**base, **self.extra, **overrides}

    def stack(self, **overrides: str) -> BenchStack:
        """A new (not yet started) stack on this run's settings."""
        stack = BenchStack(self.env(**overrides))
        self.stacks.append(stack)
        return stack

    # -- data -------------------------------------------------------------------
    def site_client(self, stack: BenchStack) -> Client:
        """A fresh site and its API client on ``stack``'s gateway."""
        return Client(stack.url, stack.create_site(f"bench-{next(_ids)}"))

    def identity(self, client: Client, provider: str) -> tuple[str, dict]:
        """A fresh account at the fake, imported; returns (identity token, user)."""
        n = next(_ids)
        user_id = str(900_000 + n)
        user = self.fakes[provider].state.add_user(user_id, f"bench{n}")
        user = {**user, "user_id": user_id, "username": f"bench{n}"}
        return client.import_identity(provider, user, {"name": f"bench{n}"}), user

    def sql(self, query: str, **params):
        """Rows of one SQL query on this run's database."""
        engine = self._engine()
        with engine.connect() as conn:
            return conn.execute(text(query), params).all()

    def sql_exec(self, statement: str, **params) -> None:
        """Run one statement and commit."""
        with self._engine().begin() as conn:
            conn.execute(text(statement), params)

    def _engine(self):
        if not hasattr(self, "_eng"):
            url = "postgresql+psycopg://" + self.db_url.split("://", 1)[1]
            self._eng = create_engine(url, pool_size=2)
        return self._eng

    def wait_outcomes(self, expected: int, timeout: float, since_id: int = 0) -> float:
        """Block until ``expected`` requests (id > since_id) have an outcome; returns the time seen."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            done = self.sql("select count(*) from push_requests where outcome is not null and id > :i", i=since_id)[0][0]
            if done >= expected:
                return time.time()
            time.sleep(0.05)
        raise TimeoutError(f"only {done}/{expected} requests finished in {timeout:.0f}s")

    def max_request_id(self) -> int:
        return self.sql("select coalesce(max(id), 0) from push_requests")[0][0]

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def _clean_redis(self) -> None:
        try:
            r = self.redis()
            for key in r.scan_iter(match=f"{self.prefix}*", count=1000):
                r.delete(key)
            for key in r.scan_iter(match=f"*{self.prefix}*", count=1000):
                r.delete(key)
        except redis.RedisError:
            pass


def post_many(client: Client, path: str, bodies, threads: int = 16) -> list[requests.Response]:
    """POST every body to ``path`` from ``threads`` client threads; returns responses."""
    from concurrent.futures import ThreadPoolExecutor

    sessions = {}

    def send(body):
        import threading

        http = sessions.get(threading.get_ident())
        if http is None:
            http = sessions[threading.get_ident()] = requests.Session()
            http.auth = client.http.auth
        return http.post(client.base_url + path, json=body, timeout=60)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(send, bodies))
