import pytest
import redis

from tests.conftest import stack_env
from tests.security.hostile import HostilePeer
from tests.support.services import REDIS_URL
from tests.support.stack import Client, Stack

CALLBACK_TIMEOUT = 3.0
RATE_WINDOW = 2.0


@pytest.fixture(scope="module")
def peer():
    server = HostilePeer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def security_env(pg_url, s3_endpoint, fakes, tmp_path_factory):  # noqa: F811
    redis.Redis.from_url(f"{REDIS_URL}/3").flushdb()
    env = stack_env(pg_url, f"{REDIS_URL}/3", s3_endpoint, fakes,
                    str(tmp_path_factory.mktemp("hostile-stack")), "pushwire-hostile")
    env.update({
        "PUSHWIRE_CALLBACK_TIMEOUT": str(CALLBACK_TIMEOUT),
        "PUSHWIRE_CALLBACK_SCHEDULE": "0,600",
        "PUSHWIRE_DOWNLOAD_MIN_BYTES": "4096",
        "PUSHWIRE_DOWNLOAD_RATE_WINDOW": str(RATE_WINDOW),
        "PUSHWIRE_MAX_STAGE_RETRIES": "1",
        "PUSHWIRE_TRUSTED_PROXIES": "1",
        "PUSHWIRE_REDIS_URL": f"{REDIS_URL}/3",  # rate limits shared by both gateway processes
    })
    return env


@pytest.fixture(scope="session")
def stack(security_env):
    """Gateway (gunicorn) + a prefork worker with 2 slots, on PostgreSQL, Redis and S3."""
    stack = Stack(security_env, concurrency=2)
    stack.env["PUSHWIRE_CONNECT_BASE_URL"] = stack.url
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def sites(stack):
    return [Client(stack.url, stack.create_site(f"tenant-{n}")) for n in range(3)]
