"""Prometheus metrics shared by the gateway and the workers.

The metric objects below are plain prometheus-client metrics: import and
``.labels(...).inc()`` them from anywhere (e.g. the stream code:
``from app.ops.metrics import OPEN_STREAMS; OPEN_STREAMS.inc()``).

Several processes (gunicorn workers, Celery prefork children) update them, so
set ``PROMETHEUS_MULTIPROC_DIR`` to a directory shared by the web and worker
processes, and empty it when the whole deployment starts: each process writes
its own files there and ``GET /metrics`` adds them up with
``MultiProcessCollector``. prometheus-client reads that variable when it is
first imported, which is why it is not a ``PUSHWIRE_*`` setting. Unset, every
process keeps its own registry and ``/metrics`` shows the gateway process only.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

if TYPE_CHECKING:
    from app.runtime import Runtime

if values.ValueClass is not values.MutexValue:
    # Multiprocess mode: name files by host and pid, not pid alone, so
    # containers sharing one metrics volume (same pids) never share a file.
    _HOST = socket.gethostname()
    values.ValueClass = values.MultiProcessValue(lambda: f"{_HOST}-{os.getpid()}")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
STAGE_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)

HTTP_REQUESTS = Counter(
    "pushwire_http_requests_total", "HTTP requests answered by the gateway.", ["method", "endpoint", "status"]
)
HTTP_LATENCY = Histogram(
    "pushwire_http_request_duration_seconds", "Gateway request latency.", ["method", "endpoint"],
    buckets=LATENCY_BUCKETS,
)
PUSHES = Counter("pushwire_pushes_total", "Pushes that reached a final outcome.", ["provider", "outcome"])
STAGE_DURATION = Histogram(
    "pushwire_stage_duration_seconds", "Duration of one run of a pipeline task.", ["stage", "result"],
    buckets=STAGE_BUCKETS,
)
BYTES_MOVED = Counter(
    "pushwire_bytes_moved_total", "Media bytes downloaded (stage) or sent to providers (upload).",
    ["provider", "stage"],
)
RETRIES = Counter("pushwire_task_retries_total", "Pipeline task retries scheduled.", ["stage", "reason"])
PARKED = Counter("pushwire_parked_total", "Pushes parked in the database (state waiting) by the stage to resume "
                 "and why (quota_exceeded, rate_limited, scheduled, ...).", ["stage", "reason"])
CALLBACKS = Counter("pushwire_callbacks_total", "Callback delivery attempts by outcome.", ["outcome"])
PROVIDER_CONFIG_ERRORS = Counter(
    "pushwire_provider_config_errors_total",
    "Provider answers that say the operator's configuration is wrong, counted once per process and value.",
    ["provider", "reason"],
)
OPEN_STREAMS = Gauge(
    "pushwire_open_streams", "Stream API connections currently open.", multiprocess_mode="livesum"
)


class WaitingCollector:
    """Pushes in state ``waiting``, read from the database at scrape time:
    ``pushwire_requests_waiting{reason}``, the seconds until the earliest of them
    is due (``..._next_resume_seconds``, negative when overdue) and how many are
    overdue by more than a minute (``pushwire_requests_waiting_overdue``: the
    sweeper, i.e. beat, is not running). A database that does not answer yields
    no samples rather than a failed scrape."""

    OVERDUE = 60.0

    def __init__(self, rt: Runtime):
        self.rt = rt

    def collect(self):
        import datetime as dt
        import logging

        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import case, func, select

        from app.models import PushRequest, utcnow

        now = utcnow()
        late = now - dt.timedelta(seconds=self.OVERDUE)
        query = (select(PushRequest.wait_reason, func.count(), func.min(PushRequest.resume_at),
                        func.sum(case((PushRequest.resume_at < late, 1), else_=0)))
                 .where(PushRequest.state == "waiting").group_by(PushRequest.wait_reason))
        count = GaugeMetricFamily("pushwire_requests_waiting", "Pushes parked until a time (state waiting).",
                                  labels=["reason"])
        due = GaugeMetricFamily("pushwire_requests_waiting_next_resume_seconds",
                                "Seconds until the earliest waiting push is due (negative: overdue).",
                                labels=["reason"])
        overdue = GaugeMetricFamily("pushwire_requests_waiting_overdue",
                                    "Waiting pushes due more than a minute ago (is beat running?).")
        try:
            with self.rt.db.engine.connect() as conn:
                rows = conn.execute(query).all()
        except Exception as exc:  # a scrape must not fail because the database is away
            logging.getLogger(__name__).warning("waiting pushes unavailable: %s", exc)
            return
        for reason, n, earliest, late_n in rows:
            count.add_metric([reason or "unknown"], n)
            if earliest is not None:
                earliest = earliest if earliest.tzinfo else earliest.replace(tzinfo=dt.timezone.utc)
                due.add_metric([reason or "unknown"], (earliest - now).total_seconds())
        overdue.add_metric([], sum(int(r[3] or 0) for r in rows))
        yield count
        yield due
        yield overdue

    def describe(self):
        return []


def multiprocess_dir() -> str | None:
    """The shared metrics directory when multiprocess mode is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def scrape_registry(extra_collectors=()) -> CollectorRegistry:
    """The registry to expose: all processes' files in multiprocess mode, else this process's."""
    if not multiprocess_dir():
        registry = CollectorRegistry()
        registry.register(_Delegate(PROCESS_REGISTRY))
    else:
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    for collector in extra_collectors:
        registry.register(collector)
    return registry


class _Delegate:
    """Exposes another registry's metrics inside a fresh registry."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()
