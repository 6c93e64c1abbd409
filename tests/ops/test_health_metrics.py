"""/healthz, /readyz and /metrics on the real services, in process."""

from __future__ import annotations

import re

import pytest
import redis

from app import create_app
from app.broker.names import QUEUES
from app.ops.queues import queue_depths
from app.runtime import Runtime
from tests.support.services import RABBIT_URL, REDIS_URL

METRICS_REDIS_DB = 11


@pytest.fixture(autouse=True)
def _dispose_engines():
    apps = []
    yield apps
    for app in apps:
        app.extensions["pushwire"].db.engine.dispose()


@pytest.fixture()
def make_client(_dispose_engines):
    def make(settings, **changes):
        app = create_app(settings.model_copy(update=changes))
        _dispose_engines.append(app)
        return app.test_client()

    return make


def test_healthz_and_readyz_ok_on_real_services(settings, make_client):
    client = make_client(settings)
    assert client.get("/healthz").json == {"status": "ok"}
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "ok"
    assert {name: c["ok"] for name, c in resp.json["checks"].items()} == {
        "database": True, "broker": True, "staging": True}


@pytest.mark.parametrize("failing, change", [
    ("database", {"database_url": "postgresql://postgres:hunter2@127.0.0.1:1/nope"}),
    ("broker", {"broker_url": "redis://:hunter2@127.0.0.1:1/0"}),
])
def test_readyz_names_the_failing_check(settings, make_client, failing, change):
    client = make_client(settings, **change)
    assert client.get("/healthz").status_code == 200
    resp = client.get("/readyz")
    assert resp.status_code == 503
    checks = resp.json["checks"]
    assert resp.json["status"] == "unavailable"
    assert checks[failing]["ok"] is False and checks[failing]["error"]
    assert all(c["ok"] for name, c in checks.items() if name != failing), checks
    assert "hunter2" not in resp.get_data(as_text=True)


def _sample(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_count_requests_by_rule_and_read_queue_depth(settings, make_client):
    broker = f"{REDIS_URL}/{METRICS_REDIS_DB}"
    r = redis.Redis.from_url(broker)
    keys = [f"opstest:{q}" for q in QUEUES]
    r.delete(*keys)
    r.lpush("opstest:upload", b"{}", b"{}")
    try:
        client = make_client(settings, broker_url=broker, broker_key_prefix="opstest:")
        client.get("/healthz")
        client.get("/push/requests/tok-abc123.json")  # 401 without keys, still counted by rule
        resp = client.get("/metrics")
    finally:
        r.delete(*keys)
    assert resp.status_code == 200 and resp.content_type.startswith("text/plain")
    text = resp.get_data(as_text=True)
    assert _sample(text, "pushwire_http_requests_total", endpoint="/healthz", method="GET", status="200") >= 1
    assert _sample(text, "pushwire_http_requests_total", endpoint="/push/requests/<token>.json") >= 1
    assert "tok-abc123" not in text
    assert _sample(text, "pushwire_http_request_duration_seconds_count", endpoint="/healthz") >= 1
    assert _sample(text, "pushwire_queue_depth", queue="upload") == 2
    assert _sample(text, "pushwire_queue_depth", queue="staging") == 0
    for family in ("pushwire_pushes_total", "pushwire_stage_duration_seconds", "pushwire_bytes_moved_total",
                   "pushwire_task_retries_total", "pushwire_callbacks_total", "pushwire_open_streams"):
        assert f"# TYPE {family}" in text


@pytest.mark.rabbitmq
def test_queue_depth_on_rabbitmq(settings):
    celery = Runtime(settings.model_copy(update={"broker_url": RABBIT_URL})).celery
    depths = queue_depths(celery)
    assert set(depths) == set(QUEUES) and all(isinstance(n, int) for n in depths.values())
