"""Rate limits: per site at the gateway (429 + Retry-After), fleet-wide counters in Redis."""

from __future__ import annotations

import uuid

from app import create_app
from app.limits import Limit, Limiter
from tests.gateway.conftest import ApiClient
from tests.support.services import REDIS_URL


def test_site_rate_limit_answers_429_with_retry_after(settings, site_a):
    app = create_app(settings.model_copy(update={"site_rate_limit": "3/60", "redis_url": f"{REDIS_URL}/14",
                                                 "broker_key_prefix": uuid.uuid4().hex}))
    api = ApiClient(app.test_client(), site_a)
    codes = [api.get("/push/requests.json").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    resp = api.get("/push/requests.json")
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 61
    assert resp.json["response"]["request"]["status"]["reason"] == "rate_limited"
    app.extensions["pushwire"].db.engine.dispose()


def test_limits_are_shared_across_processes_through_redis():
    prefix = f"test:{uuid.uuid4().hex}:"
    gateway_a, gateway_b = Limiter(f"{REDIS_URL}/14", prefix), Limiter(f"{REDIS_URL}/14", prefix)
    limit = Limit.parse("5/60")
    waits = [(gateway_a if i % 2 else gateway_b).hit("identity:1", limit) for i in range(7)]
    assert waits[:5] == [0.0] * 5 and all(w > 0 for w in waits[5:])
    assert gateway_a.hit("identity:2", limit) == 0.0, "keys are counted separately"


def test_limit_parsing():
    assert Limit.parse("60/30") == Limit(60, 30.0)
    assert Limit.parse("") is None and Limit.parse("0/60") is None
