"""PostgreSQL restarted, then down for a while, under a real gateway and worker
while pushes keep coming: no HTTP 500, nothing lost, nothing created twice.

The cluster is the test's own (tests/faults/conftest.py), so restarting it
disturbs no other test.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.faults.conftest import Sent

pytestmark = [pytest.mark.e2e]


def _pusher(fs, stop: threading.Event, label: str) -> None:
    i = 0
    while not stop.is_set():
        try:
            if i % 3 == 2:
                fs.push_video(label)
            else:
                fs.push_post(label)
        except requests.RequestException as exc:  # the gateway itself must keep answering
            fs.sent.append(Sent("post", "", 0, "no answer", body=str(exc)))
        i += 1
        time.sleep(0.1)


def test_database_restart_and_outage_lose_nothing_and_answer_no_500(fault_stack):
    fs = fault_stack
    start = len(fs.sent)
    assert fs.push_post("warm").status in (200, 202)
    stop = threading.Event()
    pusher = threading.Thread(target=_pusher, args=(fs, stop, "db"), daemon=True)
    pusher.start()
    try:
        time.sleep(2)  # pushes in flight (a video every third) when the server goes
        t = time.monotonic()
        fs.pg.restart()  # fast shutdown: every pooled connection of every process dies
        restarted_in = time.monotonic() - t
        time.sleep(2)  # pushes meeting the dead pooled connections

        fs.pg.stop()
        time.sleep(0.5)
        ready = requests.get(fs.stack.url + "/readyz", timeout=30)
        down = fs.push_post("down")
        time.sleep(2)
        fs.pg.start()
        first_after = fs.push_post("back")  # the very next push after the server is back
        time.sleep(2.5)
    finally:
        stop.set()
        pusher.join(timeout=60)

    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"]["database"]["ok"] is False, ready.text
    assert ready.json()["checks"]["broker"]["ok"] is True, ready.text
    assert down.status == 503 and down.reason == "temporarily_unavailable", down
    assert down.retry_after and int(down.retry_after) > 0, down
    assert first_after.status in (200, 202), first_after
    assert requests.get(fs.stack.url + "/readyz", timeout=30).status_code == 200

    sent = fs.sent[start:]
    assert all(s.status != 0 for s in sent), [s for s in sent if s.status == 0]
    assert not [s for s in sent if s.status >= 500 and s.status != 503], \
        [s for s in sent if s.status >= 500 and s.status != 503]
    figures = fs.check_all(sent, timeout=150)
    print(f"\ndatabase restart ({restarted_in:.1f} s) and outage:", figures)
    assert figures["accepted"] >= 8
