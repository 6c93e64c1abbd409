"""Operations endpoints (no API keys: keep them on the internal network).

| Route        | Answers                                                         |
|--------------|-----------------------------------------------------------------|
| GET /healthz | 200 ``{"status": "ok"}`` while the process serves requests.     |
| GET /readyz  | 200 or 503 ``{"status", "checks": {database, broker, staging[, redis]}}``|
| GET /metrics | Prometheus text format (all processes in multiprocess mode).    |
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.ops.health import readiness, status_word
from app.ops.metrics import WaitingCollector, scrape_registry
from app.ops.queues import QueueDepthCollector

bp = Blueprint("ops", __name__)


def _runtime():
    return current_app.extensions["pushwire"]


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers; no dependency is contacted."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: database, broker and staging answer (503 otherwise). With
    ``PUSHWIRE_REDIS_URL`` set, Redis is checked too but not required: while it is
    down the answer is 200 with ``"status": "degraded"`` and the check lists what
    is degraded.

    ``{"status": "unavailable", "checks": {"database": {"ok": true, "seconds": 0.002},
    "broker": {"ok": false, "error": "OperationalError: ..."}, "staging": {...}}}``
    """
    rt = _runtime()
    ready, checks = readiness(rt, timeout=rt.settings.readiness_timeout)
    return jsonify(status=status_word(ready, checks), checks=checks), (200 if ready else 503)


@bp.get("/metrics")
def metrics():
    """Prometheus exposition, including queue depth read from the broker now and
    the pushes waiting in the database (until when, and why)."""
    registry = scrape_registry([QueueDepthCollector(_runtime().celery), WaitingCollector(_runtime())])
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
