"""Flower and worker metrics against real processes: a Twitter video push, watched."""

from __future__ import annotations

import re
import threading
import time

import psycopg
import pytest
import requests
from celery import Celery

from tests.ops.conftest import FLOWER_AUTH
from tests.ops.test_health_metrics import _sample
from tests.support.origin import make_video

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


class ProgressEvents:
    """Collects ``task-progress`` events from the broker, like Flower does."""

    def __init__(self, env: dict):
        self.app = Celery(broker=env["PUSHWIRE_BROKER_URL"])
        # The test stacks share one Redis; their keys and channels carry a prefix.
        self.app.conf.broker_transport_options = {"global_keyprefix": env.get("PUSHWIRE_BROKER_KEY_PREFIX", "")}
        self.events: list[dict] = []
        self.ready = threading.Event()
        self.receiver = None
        threading.Thread(target=self._run, daemon=True).start()
        assert self.ready.wait(20), "no worker event seen"

    def _run(self) -> None:
        # Workers send events only while a monitor asks for them (PUSHWIRE_TASK_EVENTS
        # is off): ask, as Flower does.
        self.app.control.enable_events()
        with self.app.connection() as conn:
            self.receiver = self.app.events.Receiver(conn, handlers={"*": self._on_event})
            # wakeup: workers answer with a heartbeat, which tells us we are subscribed.
            self.receiver.capture(limit=None, timeout=None, wakeup=True)

    def _on_event(self, event: dict) -> None:
        self.ready.set()
        if event.get("type") == "task-progress":
            self.events.append(event)

    def stop(self) -> None:
        self.receiver.should_stop = True


def _push_video(client, fakes, origin, receiver, size: int) -> str:
    user = fakes["twitter"].state.add_user("77001", "opsuser")
    identity = client.import_identity("twitter", {**user, "user_id": "77001"}, {"name": "Ops"})
    url = origin.add("ops.mp4", make_video(size, seed=7))
    resp = client.push_twitter_video(identity, url, receiver.url)
    assert resp.status_code == 200, resp.text
    return resp.json()["response"]["result"]["data"]["request_token"]


def _request_id(pg_url: str, token: str) -> int:
    with psycopg.connect(pg_url) as conn:
        return conn.execute("SELECT id FROM push_requests WHERE token = %s", (token,)).fetchone()[0]


def _flower_tasks_for(flower: str, request_id: int, timeout: float = 20) -> dict[str, str]:
    """{task name: state} of the request's tasks as Flower saw them (args carry the id only)."""
    deadline, found = time.time() + timeout, {}
    while time.time() < deadline:
        resp = requests.get(flower + "/api/tasks", auth=FLOWER_AUTH, timeout=10)
        resp.raise_for_status()
        found = {t["name"]: t["state"] for t in resp.json().values()
                 if re.fullmatch(rf"\[?\(?{request_id},?\)?\]?", str(t.get("args")))}
        if len(found) == 4 and set(found.values()) == {"SUCCESS"}:
            break
        time.sleep(0.5)
    return found


def test_flower_shows_the_push_tasks_and_metrics_cover_workers(ops_stack, ops_client, flower, fakes, origin,
                                                               receiver, pg_url):
    assert requests.get(flower + "/api/tasks", timeout=10).status_code == 401  # basic auth on
    progress = ProgressEvents(ops_stack.env)
    size = 3 * MB + 4321
    try:
        token = _push_video(ops_client, fakes, origin, receiver, size)
        assert ops_client.wait_final(token)["state"] == "succeeded"
        receiver.wait_for(lambda got: any(token.encode() in c["body"] for c in got))
        request_id = _request_id(pg_url, token)
        tasks = _flower_tasks_for(flower, request_id)
    finally:
        progress.stop()
    assert tasks == {"pushwire.download": "SUCCESS", "pushwire.transcode": "SUCCESS", "pushwire.upload": "SUCCESS",
                     "pushwire.callback": "SUCCESS"}
    stages = {e.get("stage") for e in progress.events}
    assert "stage" in stages, progress.events
    assert all(e["result"].endswith(" MB") for e in progress.events)

    time.sleep(0.5)  # postrun handlers run right after the task; give the callback one a moment
    text = requests.get(ops_stack.url + "/metrics", timeout=10).text
    assert _sample(text, "pushwire_pushes_total", provider="twitter", outcome="succeeded") == 1
    assert _sample(text, "pushwire_bytes_moved_total", provider="twitter", stage="stage") == size
    assert _sample(text, "pushwire_stage_duration_seconds_count", stage="upload", result="succeeded") == 1
    assert _sample(text, "pushwire_callbacks_total", outcome="delivered") >= 1
    assert _sample(text, "pushwire_http_requests_total", endpoint="/identities.json") >= 1
    assert _sample(text, "pushwire_queue_depth", queue="upload") == 0


def test_worker_logs_carry_the_request_token(ops_stack, ops_client):
    log = ops_stack.log("worker")
    assert '"request_token"' in log and '"stage": "upload"' in log, log[-2000:]
    assert "access_token" not in log or '"access_token": "***"' in log
