"""Queue depth, read from the broker at scrape time.

``QueueDepthCollector(celery_app)`` is a prometheus-client collector: each
``collect()`` asks the broker how many messages wait in each Pushwire queue
(Redis: ``LLEN`` of the list and its priority lists; RabbitMQ: a passive
``queue_declare``). The embedded SQLite broker is skipped. A broker that does
not answer yields no samples rather than a failed scrape.
"""

from __future__ import annotations

import logging

from prometheus_client.core import GaugeMetricFamily

from app.broker.names import QUEUES

log = logging.getLogger(__name__)

# kombu's Redis transport keeps one list per priority step: "name", "name\x06\x163", ...
_REDIS_PRIORITY_SEP = "\x06\x16"
_REDIS_PRIORITY_STEPS = (0, 3, 6, 9)


def queue_depths(celery_app, timeout: float = 2.0) -> dict[str, int]:
    """{queue: waiting messages} for the configured broker ({} when unsupported)."""
    url = celery_app.conf.broker_url or ""
    if url.startswith(("redis://", "rediss://")):
        prefix = (celery_app.conf.broker_transport_options or {}).get("global_keyprefix") or ""
        return _redis_depths(url, prefix, timeout)
    if url.startswith(("amqp://", "amqps://", "pyamqp://")):
        return _amqp_depths(celery_app, timeout)
    return {}


def _redis_keys(queue: str, prefix: str = "") -> list[str]:
    return [prefix + (queue if step == 0 else f"{queue}{_REDIS_PRIORITY_SEP}{step}") for step in _REDIS_PRIORITY_STEPS]


def _redis_depths(url: str, prefix: str, timeout: float) -> dict[str, int]:
    from app.redisclient import client as redis_client

    client = redis_client(url, timeout)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in QUEUES:
            for key in _redis_keys(queue, prefix):
                pipe.llen(key)
        counts = pipe.execute()
    finally:
        client.close()
    steps = len(_REDIS_PRIORITY_STEPS)
    return {queue: sum(counts[i * steps:(i + 1) * steps]) for i, queue in enumerate(QUEUES)}


def _amqp_depths(celery_app, timeout: float) -> dict[str, int]:
    depths = {}
    with celery_app.connection_for_read(connect_timeout=timeout) as conn:
        for queue in QUEUES:
            channel = conn.channel()
            try:
                _name, count, _consumers = channel.queue_declare(queue=queue, passive=True)
                depths[queue] = count
            except Exception:  # not declared yet (no worker ever started): nothing waits there
                depths[queue] = 0
            finally:
                try:
                    channel.close()
                except Exception:  # the broker closes a channel after a failed passive declare
                    pass
    return depths


class QueueDepthCollector:
    """Collector yielding ``pushwire_queue_depth{queue=...}`` from the broker."""

    def __init__(self, celery_app):
        self.celery_app = celery_app

    def collect(self):
        family = GaugeMetricFamily("pushwire_queue_depth", "Messages waiting in each queue.", labels=["queue"])
        try:
            depths = queue_depths(self.celery_app)
        except Exception as exc:  # a scrape must not fail because the broker is away
            log.warning("queue depth unavailable: %s", exc)
            depths = {}
        for queue, count in depths.items():
            family.add_metric([queue], count)
        yield family

    def describe(self):
        return []
