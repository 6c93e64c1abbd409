"""The Redis broker transport keeps one client object per channel, across threads,
and builds a new one when the channel's pool is replaced. A channel that is closed after
its connection was collected (a worker losing a restarting broker) still restores its
unacked messages."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid

import pytest
import redis
from kombu import Connection, Consumer, Exchange, Producer, Queue

from app.broker.redis_transport import Channel, Transport, install
from app.config import Settings
from app.runtime import Runtime
from tests.support.services import REDIS_URL
from tests.support.stack import free_port


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


class _OwnRedis:
    """A redis-server of the test's own: the test kills and restarts it. It keeps its
    data across a restart (append-only file, synced on every write), as a production
    broker does: kombu restores unacked messages from its unacked hash."""

    def __init__(self, data_dir):
        self.data_dir = str(data_dir)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                                      "--dir", self.data_dir], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def own_redis(tmp_path):
    install()  # as importing app.broker.factory does
    server = _OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def test_unacked_messages_are_restored_when_the_broker_restarts_under_a_consumer(own_redis):
    """What a Celery worker does when its Redis broker restarts (consumer.py,
    on_connection_error_after_connected): ``collect()`` then ``close()``. A task
    consumer on the default channel holds an unacked message with a BRPOP in flight,
    and a second channel consumes an auto-delete fanout queue (the pidbox's kind).
    With the broker down both channels' ``close()`` fail in ``collect()``, which
    still drops the transport's client. The ``close()`` that follows used to die in
    kombu's ``_connparams`` (``'NoneType' object has no attribute 'hostname'``), which
    killed the worker. Now it restores the message to the restarted broker."""
    queue = Queue("tasks", Exchange("tasks"), "tasks")
    conn = Connection(own_redis.url)
    assert isinstance(conn.transport, Transport)
    delivered, channel = _consuming_as_a_worker(conn, queue, {"task": 1})
    assert len(delivered) == 1 and channel._in_poll and channel is conn.default_channel

    own_redis.kill()
    conn.collect(socket_timeout=2)
    assert not channel.closed and channel.connection.client is None, "the state Celery is left in"
    own_redis.start()
    conn.close()  # raised AttributeError before the fix
    assert channel.closed

    with Connection(own_redis.url) as check:
        message = check.SimpleQueue(queue).get(timeout=5)
        assert message.payload == {"task": 1} and message.delivery_info["redelivered"]
        message.ack()


def test_close_after_collect_with_the_broker_still_down_completes(own_redis):
    """If the broker is not back yet the restore fails with a Redis connection error,
    which kombu's ``maybe_close_channel`` ignores, so ``close()`` completes. Before the
    fix it raised AttributeError."""
    queue = Queue("tasks", Exchange("tasks"), "tasks")
    conn = Connection(own_redis.url)
    delivered, channel = _consuming_as_a_worker(conn, queue, {"task": 2})
    assert len(delivered) == 1 and channel._in_poll

    own_redis.kill()
    conn.collect(socket_timeout=2)
    assert not channel.closed and channel.connection.client is None
    conn.close()  # raised AttributeError before the fix
    assert channel.closed
    own_redis.start()  # for the fixture's teardown


def _consuming_as_a_worker(conn, queue, payload: dict) -> tuple[list, Channel]:
    """Publish ``payload`` to ``queue`` and consume it as a Celery worker does (the task
    queue with prefetch, and a fanout control queue on a second channel), until the message
    is delivered and the next BRPOP is in flight; returns (delivered, the tasks' channel)."""
    Producer(conn.default_channel).publish(payload, exchange=queue.exchange, routing_key=queue.routing_key,
                                           declare=[queue])
    delivered = []
    tasks = Consumer(conn, [queue], callbacks=[lambda body, message: delivered.append(message)],
                     prefetch_count=4)
    tasks.consume()
    control = Consumer(conn.channel(), [Queue("pidbox", Exchange("control", type="fanout"), auto_delete=True)],
                       no_ack=True)
    control.consume()
    channel = tasks.channel
    for _ in range(20):
        if delivered and channel._in_poll:
            break
        try:
            conn.drain_events(timeout=0.2)
        except socket.timeout:
            pass
    return delivered, channel
