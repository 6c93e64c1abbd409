"""kombu's Redis transport, keeping one client object per channel.

kombu builds a new ``redis.Redis`` object for every publish, every delivered
message's bookkeeping (``QoS.append``) and every ack (``conn_or_acquire``);
with redis-py 8 each construction copies the client's response-callback table,
which profiles of the workers (py-spy, slow-providers bench) showed as about 8%
of a text post's CPU. The client object holds no connection of its own (each
command borrows one from the channel's pool and pipelines are separate objects),
so it is safe to share between threads; it is rebuilt whenever the channel's
pool is (after a fork or a reconnect).

``install()`` (run when ``app.broker.factory`` is imported) registers it as the
``redis`` transport in kombu's alias table, so broker URLs stay ``redis://...``
(Flower and the logs show them as such). ``rediss://`` keeps kombu's own class:
kombu derives its TLS defaults from that alias. Behaviour is otherwise kombu's.

One kombu gap is closed here as well. When a worker loses the broker, Celery calls
``Connection.collect()`` and then ``Connection.close()``. ``collect()`` sets the
transport's ``client`` (the ``kombu.Connection``) to None even when a channel's
``close()`` raised part way through, for example a BRPOP read or a fanout queue
delete against the Redis server that is restarting. Such a channel is still open,
and it is usually the connection's default channel, the one holding the task
consumer's unacknowledged messages. ``close()`` then closes it: its pools are
already gone, so restoring those messages builds a new pool, and kombu's
``_connparams`` reads the host from ``self.connection.client``, which is None.
The result is ``AttributeError: 'NoneType' object has no attribute 'hostname'``.
Celery's ``ignore_errors`` lets it through (it is not a connection error), and the
worker stops with "Unrecoverable error". Stock kombu 5.7 does the same. The
channel therefore keeps the connection parameters it was opened with and reuses
them once the transport has lost its client. The restore then reaches the broker,
and if the broker is still down it fails with a Redis ``ConnectionError``, which
Celery ignores. The messages also stay in the unacked hash, so the
visibility-timeout sweep can still restore them.
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client = None
    _opened_with = None  # the synchronous pool's parameters, see the module docstring

    def _connparams(self, asynchronous=False):
        transport = self.connection
        if transport is not None and transport.client is None and self._opened_with is not None:
            # A closing channel only needs plain connections: no poller to tell about them.
            return dict(self._opened_with)
        params = super()._connparams(asynchronous=asynchronous)
        if self._opened_with is None:
            self._opened_with = dict(params if not asynchronous else super()._connparams())
        return params

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._shared_client
        if client is None or client.connection_pool is not pool:
            client = self._shared_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    """Make ``redis://`` broker URLs use this transport (idempotent)."""
    from kombu import transport

    target = f"{__name__}:Transport"
    if transport.TRANSPORT_ALIASES.get("redis") != target:
        transport.TRANSPORT_ALIASES["redis"] = target
        getattr(transport, "_transport_cache", {}).pop("redis", None)  # resolved before install
