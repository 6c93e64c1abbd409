"""SIGTERM to each Procfile process type in the middle of pushes: the process
finishes or hands back its work within its grace period, and after a restart
every push finishes once, with no attempt left running in the audit."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tests.faults.conftest import MB, SHUTDOWN_GRACE

pytestmark = [pytest.mark.e2e]


def _wait_state(fs, token: str, states: tuple[str, ...], timeout: float = 30) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = fs.client.status(token)["state"]
        if state in states:
            return state
        time.sleep(0.1)
    raise AssertionError(f"{token} never reached {states}")


def _terminate(stack, name: str) -> float:
    """SIGTERM to the process itself (as Kubernetes and systemd's KillMode=mixed do;
    a signal to the whole group would also end Celery's pool children at once, which
    hands their tasks back immediately). Returns how long it took to exit."""
    proc = stack.procs.pop(name)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=40)
    finally:
        stack.procs[name + "-stopping"] = proc  # stack.stop() still reaps whatever is left
    return time.monotonic() - started


@pytest.mark.parametrize("pool", ["prefork", "threads"])  # worker_staging, and worker_upload/_callback
def test_sigterm_to_a_worker_mid_upload_hands_back_within_the_grace(fault_stack, pool, monkeypatch):
    fs = fault_stack
    if pool != "prefork":
        _terminate(fs.stack, "worker")  # idle: stops at once
        monkeypatch.setenv("PUSHWIRE_TEST_POOL", pool)
        fs.stack.start_worker("worker")
    x = fs.fakes["twitter"].state
    x.faults.add("append", "slow", count=12, delay=1.0)  # an upload (8 segments) outlasting the grace
    try:
        start = len(fs.sent)
        video = fs.push_video("term-worker", size=8 * MB)
        assert video.status == 200, video
        _wait_state(fs, video.token, ("uploading",))
        time.sleep(0.5)
        took = _terminate(fs.stack, "worker")
        fs.stack.start_worker("worker")
        log = fs.stack.log("worker")
    finally:
        x.faults.clear()
    assert took < SHUTDOWN_GRACE + 15, f"worker took {took:.1f} s to stop"
    assert "handing them back" in log, log[-3000:]
    fs.push_post("after-worker")
    figures = fs.check_all(fs.sent[start:], timeout=90)
    final = fs.client.status(video.token)
    outcomes = [a["outcome"] for a in final["audit"]["stages"] if a["stage"] == "upload"]
    assert outcomes[0] == "interrupted" and outcomes[-1] == "succeeded", outcomes
    print(f"\nworker ({pool}) SIGTERM: stopped in {took:.1f} s,", figures)
    if pool != "prefork":  # back to the stack's usual worker
        _terminate(fs.stack, "worker")
        monkeypatch.delenv("PUSHWIRE_TEST_POOL")
        fs.stack.start_worker("worker")


def test_sigterm_to_a_worker_lets_a_short_task_finish(fault_stack):
    fs = fault_stack
    x = fs.fakes["twitter"].state
    x.faults.add("tweets", "slow", count=1, delay=1.0)  # in flight when SIGTERM comes, done within the grace
    start = len(fs.sent)
    results = []
    pusher = threading.Thread(target=lambda: results.append(fs.push_post("term-short")))
    pusher.start()
    time.sleep(0.6)
    took = _terminate(fs.stack, "worker")
    pusher.join(timeout=30)
    log = fs.stack.log("worker")
    fs.stack.start_worker("worker")
    assert took < SHUTDOWN_GRACE + 15, f"worker took {took:.1f} s to stop"
    assert "handing them back" not in log.split("Warm shutdown")[-1]
    fs.check_all(fs.sent[start:], timeout=60)
    final = fs.client.status(results[0].token)
    assert [a["outcome"] for a in final["audit"]["stages"]] == ["succeeded"], final["audit"]["stages"]


def test_sigterm_to_the_gateway_answers_the_push_in_flight(fault_stack):
    fs = fault_stack
    x = fs.fakes["twitter"].state
    x.faults.add("tweets", "slow", count=1, delay=1.5)  # the gateway waits for the worker's result
    start = len(fs.sent)
    results = []
    pusher = threading.Thread(target=lambda: results.append(fs.push_post("term-web")))
    pusher.start()
    time.sleep(0.5)
    took = _terminate(fs.stack, "web")
    pusher.join(timeout=30)
    fs.stack.start_web()
    assert results and results[0].status in (200, 202), results  # answered, not cut off
    assert took < 30, f"gateway took {took:.1f} s to stop"
    assert fs.push_post("after-web").status in (200, 202)
    fs.check_all(fs.sent[start:], timeout=60)


def test_sigterm_to_beat_stops_it_and_the_sweeper_runs_after_a_restart(fault_stack):
    fs = fault_stack
    took = _terminate(fs.stack, "beat")
    assert took < 10, f"beat took {took:.1f} s to stop"
    start = len(fs.sent)
    assert fs.push_post("beat-down").status in (200, 202)
    fs.stack.start_beat()
    deadline = time.time() + 30
    while "Sending due task sweep" not in fs.stack.log("beat") and time.time() < deadline:
        time.sleep(0.2)
    assert "Sending due task sweep" in fs.stack.log("beat"), fs.stack.log("beat")
    fs.check_all(fs.sent[start:], timeout=60)
