"""Shared fixtures: real PostgreSQL, Redis, an S3 server, fakes, and the running stack."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest
import redis

from app.config import Settings
from app.migrate import upgrade
from tests.support.fakes import provider_env, start_fakes
from tests.support.origin import CallbackReceiver, Origin
from tests.support.s3server import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, s3_endpoint  # noqa: F401
from tests.support.services import REDIS_URL, create_database
from tests.support.stack import Client, Stack
from tests.support.survivors import pytest_configure, pytest_sessionfinish  # noqa: F401 - no process survives the suite

_redis_db = itertools.count(5)


@pytest.fixture(autouse=True)
def _fresh_log_context():
    """Pipeline functions called in-process tag the log context (Celery's signals clear
    it between tasks in a worker); start and end every test without one."""
    from app.logs import clear

    clear()
    yield
    clear()


@pytest.fixture(scope="session")
def pg_url():
    url, drop = create_database()
    yield url
    drop()


@pytest.fixture(scope="session")
def fakes():
    """provider -> running fake (ServerHandle with .url and .state)."""
    handles = start_fakes()
    yield handles
    for handle in handles.values():
        handle.stop()


@pytest.fixture(scope="session")
def fake_x(fakes):
    return fakes["twitter"]


@pytest.fixture(scope="session")
def origin():
    server = Origin()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def receiver():
    server = CallbackReceiver()
    yield server
    server.stop()


def stack_env(pg_url: str, broker_url: str, s3_url: str, fakes: dict, tmp: str, bucket: str) -> dict:
    return {
        **provider_env(fakes),
        "PUSHWIRE_DATA_DIR": tmp,
        "PUSHWIRE_DATABASE_URL": pg_url,
        "PUSHWIRE_BROKER_URL": broker_url,
        # Several test sessions may share one Redis: keep their queues apart.
        "PUSHWIRE_BROKER_KEY_PREFIX": f"pwtest-{uuid.uuid4().hex[:8]}:",
        "PUSHWIRE_STAGING_URL": f"s3://{bucket}/staging",
        "PUSHWIRE_S3_ENDPOINT_URL": s3_url,
        "PUSHWIRE_S3_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
        "PUSHWIRE_S3_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
        "PUSHWIRE_S3_CREATE_BUCKET": "true",
        "PUSHWIRE_STAGING_CHUNK_SIZE": str(5 * 1024 * 1024),
        "PUSHWIRE_SECRET_KEY": "test-secret-key-one",
        "PUSHWIRE_TWITTER_CHUNK_SIZE": str(1024 * 1024),
        "PUSHWIRE_OUTBOUND_ALLOW": "127.0.0.1,localhost",
        "PUSHWIRE_RETRY_BACKOFF_BASE": "0.5",
        "PUSHWIRE_RETRY_BACKOFF_MAX": "2",
        "PUSHWIRE_MAX_STAGE_RETRIES": "4",
        "PUSHWIRE_CALLBACK_SCHEDULE": "0,2,4,30,60",
        "PUSHWIRE_SWEEP_INTERVAL": "2",
        "PUSHWIRE_REQUEUE_AFTER": "3",
        "PUSHWIRE_HEARTBEAT_INTERVAL": "1",
        "PUSHWIRE_ATTEMPT_LEASE": "4",
        "PUSHWIRE_TRANSCODE_DIR": os.path.join(tmp, "transcode"),
        # The fakes finish processing after a poll or two (YouTube's after 1 s): poll them
        # at test pace instead of sparing a real project's quota (5 s, 2 s, up to 15 s).
        "PUSHWIRE_YOUTUBE_POLL_INTERVAL": "0.5",
        "PUSHWIRE_YOUTUBE_POLL_MAX": "0.5",
        "PUSHWIRE_PINTEREST_POLL_INTERVAL": "0.5",
        "PUSHWIRE_FACEBOOK_POLL_MAX": "0.5",
    }


@pytest.fixture(scope="session")
def redis_stack(pg_url, s3_endpoint, fakes, tmp_path_factory):  # noqa: F811
    """Gateway + worker + beat on PostgreSQL, Redis and moto's S3 server."""
    db = next(_redis_db)
    redis.Redis.from_url(f"{REDIS_URL}/{db}").flushdb()
    env = stack_env(pg_url, f"{REDIS_URL}/{db}", s3_endpoint, fakes,
                    str(tmp_path_factory.mktemp("redis-stack")), "pushwire-redis")
    env["PUSHWIRE_REDIS_URL"] = f"{REDIS_URL}/{db}"
    stack = Stack(env, beat=True)
    stack.env["PUSHWIRE_CONNECT_BASE_URL"] = stack.url  # required outside the embedded default
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def site(redis_stack):
    return redis_stack.create_site("site-a")


@pytest.fixture(scope="session")
def client(redis_stack, site) -> Client:
    return Client(redis_stack.url, site)


@pytest.fixture()
def x_user(fake_x, client):
    """A fresh X account at the fake, imported as an identity of site-a."""
    n = next(_users)
    user = fake_x.state.add_user(str(10_000 + n), f"user{n}")
    user = {**user, "user_id": str(10_000 + n), "username": f"user{n}"}
    user["identity"] = client.import_identity("twitter", user, {"name": f"User {n}", "location": "Paris"})
    return user


_users = itertools.count(1)


@pytest.fixture()
def make_identity(fakes, client):
    """``make_identity(provider, **profile) -> user dict`` with ``identity`` (the token):
    a fresh account at that provider's fake, imported as an identity of site-a."""

    def make(provider: str, **profile) -> dict:
        n = next(_users)
        user_id, username = str(20_000 + n), f"{provider}user{n}"
        user = fakes[provider].state.add_user(user_id, username)
        user = {**user, "user_id": user_id, "username": username}
        user["identity"] = client.import_identity(provider, user, {"name": username, **profile})
        return user

    return make


@pytest.fixture()
def settings(tmp_path, pg_url) -> Settings:
    """Settings for in-process tests on the migrated PostgreSQL database."""
    s = Settings(data_dir=tmp_path, database_url=pg_url, secret_key="test-secret-key-one",
                 broker_url=f"{REDIS_URL}/15", staging_url=f"file://{tmp_path}/staging",
                 outbound_allow="127.0.0.1")
    upgrade(s)
    return s


def envelope_data(resp) -> dict:
    return resp.json()["response"]["result"]["data"]


