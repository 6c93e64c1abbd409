"""The Redis broker transport keeps one client object per channel, across threads,
and builds a new one when the channel's pool is replaced."""

from __future__ import annotations

import threading
import uuid

import redis

from app.broker.redis_transport import Channel, Transport
from app.config import Settings
from app.runtime import Runtime
from tests.support.services import REDIS_URL


def _app(tmp_path):
    return Runtime(Settings(data_dir=tmp_path, broker_url=f"{REDIS_URL}/14",
                            broker_key_prefix=f"pwtest-{uuid.uuid4().hex[:8]}:")).celery


def test_redis_urls_use_the_transport_and_keep_their_scheme(tmp_path):
    with _app(tmp_path).connection_for_write() as conn:
        assert isinstance(conn.transport, Transport)
        assert conn.as_uri().startswith("redis://"), "Flower and the logs see a redis:// broker"
        assert isinstance(conn.default_channel, Channel)


def test_publish_deliver_and_ack_share_one_client_and_a_new_pool_gets_a_new_one(tmp_path, monkeypatch):
    built = []
    original = redis.Redis.__init__

    def counting(self, *args, **kwargs):
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    queue = f"q-{uuid.uuid4().hex[:8]}"
    with _app(tmp_path).connection_for_write() as conn:
        channel = conn.default_channel
        simple = conn.SimpleQueue(queue)
        errors = []

        def publish(n):
            try:
                for i in range(10):
                    simple.put({"n": n, "i": i})
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=publish, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        before = len(built)
        got = []
        for _ in range(40):
            message = simple.get(timeout=5)
            got.append((message.payload["n"], message.payload["i"]))
            message.ack()
        assert errors == [] and sorted(got) == sorted((n, i) for n in range(4) for i in range(10))
        assert len(built) == before, "40 deliveries and acks built no client objects"
        shared = channel._create_client()
        assert shared is channel._create_client()

        channel._disconnect_pools()  # as after a fork: the pool is replaced
        fresh = channel._create_client()
        assert fresh is not shared and fresh.connection_pool is channel.pool
        simple.put({"after": "reset"})
        message = simple.get(timeout=5)
        assert message.payload == {"after": "reset"}
        message.ack()
        simple.close()
