"""sandbox.common: server handle, fault queue, connection resets, call log, sinks."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
import requests
from flask import Flask, jsonify, make_response, request

from sandbox.common import (
    CallLog,
    DigestSink,
    Faults,
    SandboxState,
    apply_fault,
    install_sandbox,
    serve,
)


class DemoState(SandboxState):
    provider = "demo"
    fault_endpoints = frozenset({"work"})


def _demo_app(state: DemoState) -> Flask:
    """A one-route fake: POST /work stores the body length and answers 201."""
    app = Flask(__name__)
    install_sandbox(app, state)
    state.stored = []

    @app.post("/work")
    def work():
        def run():
            state.stored.append(len(request.get_data()))
            return make_response(jsonify({"ok": True}), 201)

        def refuse(fault):
            return make_response(jsonify({"fault": fault.kind}), int(fault.kind))

        return apply_fault(state.faults.take("work"), run, refuse)

    return app


@pytest.fixture(scope="module")
def demo():
    state = DemoState()
    handle = serve(_demo_app(state))
    yield handle, state
    handle.stop()


@pytest.fixture
def server(demo):
    handle, state = demo
    state.reset()
    state.stored.clear()
    return handle, state


def test_serve_reports_real_port_and_stops():
    state = DemoState()
    handle = serve(_demo_app(state))
    assert handle.port > 0 and handle.url == f"http://127.0.0.1:{handle.port}"
    assert requests.get(handle.url + "/_sandbox/health", timeout=5).json() == {"ok": True, "provider": "demo"}
    handle.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(handle.url + "/_sandbox/health", timeout=2)


def test_faults_queue_order_count_and_wildcard():
    faults = Faults({"a", "b"})
    faults.add("*", "500")
    faults.add("a", "503", count=2)
    assert [faults.take("a").kind for _ in range(3)] == ["503", "503", "500"]
    assert faults.take("a") is None and faults.take("b") is None
    faults.add("b", "429", retry_after=3)
    assert faults.pending() == [{"endpoint": "b", "kind": "429", "retry_after": 3, "remaining": 1}]
    assert faults.take("b").param("retry_after") == 3


@pytest.mark.parametrize(
    "args, kwargs",
    [(("a", "nope"), {}), (("zzz", "500"), {}), (("a", "500", 0), {}), (("a", "slow"), {"delay": "x"})],
)
def test_faults_refuse_bad_input(args, kwargs):
    with pytest.raises(ValueError):
        Faults({"a"}).add(*args, **kwargs)


def test_faults_take_is_thread_safe():
    faults = Faults()
    faults.add("x", "500", count=200)
    taken = []
    threads = [threading.Thread(target=lambda: taken.extend(f for f in iter(lambda: faults.take("x"), None)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 200


def test_reset_before_work_raises_connection_error(server):
    handle, state = server
    state.faults.add("work", "reset")
    with pytest.raises(requests.ConnectionError) as info:
        requests.post(handle.url + "/work", data=b"x" * 2_000_000, timeout=5)
    assert "reset" in str(info.value).lower() or "aborted" in str(info.value).lower()
    assert state.stored == []
    assert state.calls.calls() == [("POST", "/work", 0)]
    # The server keeps serving after the reset.
    assert requests.post(handle.url + "/work", data=b"abc", timeout=5).status_code == 201


def test_reset_after_commit_stores_then_resets(server):
    handle, state = server
    state.faults.add("work", "reset_after_commit")
    with pytest.raises(requests.ConnectionError):
        requests.post(handle.url + "/work", data=b"hello", timeout=5)
    assert state.stored == [5]


def test_server_error_after_commit_and_plain(server):
    handle, state = server
    state.faults.add("work", "503", after_commit=True)
    state.faults.add("work", "502")
    assert requests.post(handle.url + "/work", data=b"a", timeout=5).status_code == 503
    assert requests.post(handle.url + "/work", data=b"b", timeout=5).status_code == 502
    assert state.stored == [1]


def test_slow_fault_trips_client_timeout_without_blocking_others(server):
    handle, state = server
    state.faults.add("work", "slow", delay=1.5)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        requests.post(handle.url + "/work", data=b"a", timeout=0.3)
    # Threaded server: a second request is answered while the slow one sleeps.
    assert requests.post(handle.url + "/work", data=b"b", timeout=2).status_code == 201
    assert time.monotonic() - started < 1.3


def test_control_endpoints(server):
    handle, state = server
    bad = requests.post(handle.url + "/_sandbox/faults", json={"endpoint": "work", "kind": "nope"}, timeout=5)
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]
    ok = requests.post(handle.url + "/_sandbox/faults", json={"endpoint": "work", "kind": "500", "count": 2}, timeout=5)
    assert ok.status_code == 201 and ok.json()["pending"][0]["remaining"] == 2
    assert requests.post(handle.url + "/work", timeout=5).status_code == 500
    calls = requests.get(handle.url + "/_sandbox/calls", timeout=5).json()["calls"]
    assert calls == [{"method": "POST", "path": "/work", "status": 500, "endpoint": None, "fault": "500"}]
    now = requests.get(handle.url + "/_sandbox/clock", timeout=5).json()["now"]
    later = requests.post(handle.url + "/_sandbox/clock", json={"advance": 100}, timeout=5).json()["now"]
    assert later - now >= 100
    assert requests.post(handle.url + "/_sandbox/reset", timeout=5).json() == {"reset": True}
    assert state.faults.pending() == [] and state.calls.calls() == [] and state.clock_offset == 0


def test_call_log_filters():
    log = CallLog()
    log.record("POST", "/a", 200, "x")
    log.record("GET", "/b", 404)
    assert log.calls() == [("POST", "/a", 200), ("GET", "/b", 404)]
    assert log.count(endpoint="x") == 1 and log.count(method="GET") == 1


def test_digest_sink_hashes_and_keeps_bounded_bytes():
    data = b"0123456789" * 100
    sink = DigestSink(keep=2000)
    for i in range(0, len(data), 64):
        sink.write(data[i : i + 64])
    assert (sink.size, sink.hexdigest, sink.data, sink.head) == (1000, hashlib.sha256(data).hexdigest(), data, data[:64])
    small = DigestSink.of(data, keep=999)
    assert small.data is None and small.size == 1000 and small.hexdigest == hashlib.sha256(data).hexdigest()
