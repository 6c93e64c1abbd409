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
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client = None

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
