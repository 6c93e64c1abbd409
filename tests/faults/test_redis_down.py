"""``PUSHWIRE_REDIS_URL``'s Redis down (the broker is another server): pushes are
still accepted and finish, /readyz stays ready but says what is degraded, and
the stream endpoint answers a clear error element, with no traceback in the log."""

from __future__ import annotations

import time

import pytest
import requests

pytestmark = [pytest.mark.e2e]


def test_redis_down_degrades_honestly(fault_stack):
    fs = fault_stack
    stream_key = fs.client.site["stream_key"]
    web_log_before = _tracebacks(fs)
    start = len(fs.sent)
    fs.redis.stop()
    try:
        ready = requests.get(fs.stack.url + "/readyz", timeout=30)
        post, video = fs.push_post("redis-down"), fs.push_video("redis-down")
        started = time.monotonic()
        stream = requests.get(fs.stack.url + "/stream/api/", params={"token": stream_key, "format": "json"},
                              timeout=30)
        stream_took = time.monotonic() - started
        fs.check_all(fs.sent[start:], timeout=60)
    finally:
        fs.redis.start()

    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "degraded", body
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["redis"]["required"] is False, body
    assert any("stream" in d for d in body["checks"]["redis"]["degraded"]), body
    assert all(body["checks"][name]["ok"] for name in ("database", "broker", "staging")), body
    assert post.status in (200, 202) and video.status == 200, (post, video)

    assert stream.status_code == 503, stream.text
    assert stream.json() == {"rsp": {"status": "fail", "err": {
        "code": 1010, "msg": "Stream temporarily unavailable; retry shortly"}}}, stream.text
    assert int(stream.headers["Retry-After"]) > 0
    assert stream_took < 5
    assert _tracebacks(fs) == web_log_before, fs.stack.log("web")

    back = requests.get(fs.stack.url + "/readyz", timeout=30).json()
    assert back["status"] == "ok" and back["checks"]["redis"]["ok"] is True, back


def _tracebacks(fs) -> int:
    return (fs.stack.logdir / "web.log").read_text(errors="replace").count("Traceback")
