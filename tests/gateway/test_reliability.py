"""Nothing accepted is lost, and duplicate messages do not run a stage twice."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from app import create_app
from app.models import PushRequest, StageAttempt, utcnow
from app.pipeline.outcome import Retry
from app.pipeline.download import run_download
from app.pipeline.sweep import sweep
from app.states import begin_attempt
from tests.gateway.conftest import ApiClient, make_identity, queued
from tests.support.origin import make_video


def _push(api, identity, url="https://example.com/a.avi"):
    resp = api.post(f"/push/identities/{identity}/twitter/video.json",
                    {"request": {"push": {"video": {"video_url": url}}}})
    assert resp.status_code == 200, resp.json
    return resp.json["response"]["result"]["data"]["request_token"]


def test_push_accepted_while_broker_is_down_is_enqueued_by_the_sweeper(settings, app, site_a, broker):
    down = create_app(settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"}))
    token = _push(ApiClient(down.test_client(), site_a), make_identity(app, site_a))
    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        push = session.query(PushRequest).filter_by(token=token).one()
        assert push.state == "queued" and push.enqueued_at is None
    assert queued(broker) == 0

    rt.settings.requeue_after = 0
    assert sweep(rt)["requeued"] == 1
    assert broker.llen("staging") == 1
    assert sweep(rt)["requeued"] == 0, "an enqueued request is not published twice"
    assert broker.llen("staging") == 1
    down.extensions["pushwire"].db.engine.dispose()


def test_a_duplicate_message_does_not_run_a_stage_twice(app, site_a, origin):
    rt = app.extensions["pushwire"]
    url = origin.add("dup.mp4", make_video(300_000, seed=9))
    token = _push(ApiClient(app.test_client(), site_a), make_identity(app, site_a), url)
    with rt.db.session() as session:
        push = session.query(PushRequest).filter_by(token=token).one()
        request_id = push.id
        begin_attempt(session, push, "stage", "task-A")  # task A is running the stage, heartbeat fresh

    # A duplicate (task B), or task A redelivered while A still runs: back off until the lease ends.
    for task in ("task-B", "task-A"):
        with pytest.raises(Retry) as retry:
            run_download(rt, request_id, task)
        assert retry.value.reason == "duplicate" and 1 < retry.value.countdown <= rt.settings.attempt_lease + 1
    # Task A's worker died: its heartbeat stops; after the lease the redelivery takes over.
    with rt.db.session() as session:
        row = session.query(StageAttempt).filter_by(request_id=request_id).one()
        row.started_at = utcnow() - dt.timedelta(seconds=rt.settings.attempt_lease + 1)
    assert run_download(rt, request_id, "task-A") == "staged"
    with rt.db.session() as session:
        rows = session.query(StageAttempt).filter_by(request_id=request_id).order_by(StageAttempt.id).all()
        assert [(r.task_id, r.outcome) for r in rows] == [("task-A", "interrupted"), ("task-A", "succeeded")]
        assert session.get(PushRequest, request_id).staged_bytes == 300_000
    assert run_download(rt, request_id, "task-C") == "skipped", "already staged"


def test_redelivery_after_worker_crashes_is_bounded(app, site_a, origin):
    rt = app.extensions["pushwire"]
    rt.settings.max_redeliveries = 3
    url = origin.add("poison.mp4", make_video(100_000, seed=10))
    token = _push(ApiClient(app.test_client(), site_a), make_identity(app, site_a), url)
    with rt.db.session() as session:
        push = session.query(PushRequest).filter_by(token=token).one()
        request_id = push.id
        for _ in range(3):  # three deliveries whose worker died mid-stage (heartbeat long gone)
            begin_attempt(session, push, "stage", "task-A", lease=dt.timedelta(0))
        session.query(StageAttempt).filter_by(request_id=request_id).update(
            {"started_at": utcnow() - dt.timedelta(hours=1)})
    assert run_download(rt, request_id, "task-A") == "failed"
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        assert push.state == "failed" and push.error_reason == "worker_lost_repeatedly"
        outcomes = [r.outcome for r in session.query(StageAttempt).filter_by(request_id=request_id)
                    .order_by(StageAttempt.id)]
        assert outcomes == ["interrupted", "interrupted", "interrupted", "failed"]


def test_sweeper_republishes_requests_whose_message_was_lost(app, site_a, broker):
    rt = app.extensions["pushwire"]
    rt.settings.stall_after = 60
    api = ApiClient(app.test_client(), site_a)
    identity = make_identity(app, site_a)
    lost, busy = _push(api, identity), _push(api, identity, "https://example.com/b.avi")
    broker.flushdb()  # the broker restarted without persistence: both messages are gone
    old = utcnow() - dt.timedelta(minutes=5)
    with rt.db.session() as session:
        for token in (lost, busy):
            push = session.query(PushRequest).filter_by(token=token).one()
            push.enqueued_at = push.updated_at = old
        busy_push = session.query(PushRequest).filter_by(token=busy).one()
        attempt, _ = begin_attempt(session, busy_push, "stage", "task-live")
        attempt.progress_at = utcnow()  # still moving bytes: not stalled
    lost_id, busy_id = (_request_id(rt, token) for token in (lost, busy))
    # Other tests' requests share this database and may be stalled too: judge by these two.
    assert sweep(rt)["stalled"] >= 1
    assert lost_id in _published(broker, "staging") and busy_id not in _published(broker, "staging")
    claimed = _enqueued_at(rt, lost_id)
    assert claimed > old + dt.timedelta(minutes=4) and _enqueued_at(rt, busy_id) == old
    broker.flushdb()
    sweep(rt)
    assert lost_id not in _published(broker, "staging"), "re-published once, not on every sweep"
    assert _enqueued_at(rt, lost_id) == claimed


def test_a_callback_claimed_by_a_worker_that_died_is_retried_after_the_delivery_timeouts(app, site_a, broker):
    """The claim's lease is one delivery's timeouts plus slack (not minutes): a worker
    killed mid-delivery delays the callback by that much, then the sweeper re-sends it."""
    from app.pipeline.callbacks import claim, lease

    rt = app.extensions["pushwire"]
    token = _push(ApiClient(app.test_client(), site_a), make_identity(app, site_a))
    request_id = _request_id(rt, token)
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        push.state, push.outcome, push.next_callback_at = "delivering_callback", "succeeded", utcnow()
        push.callback_url = "https://example.com/hook"
    assert claim(rt, request_id) and not claim(rt, request_id), "one claimant at a time"
    with rt.db.session() as session:
        held = session.get(PushRequest, request_id).next_callback_at - utcnow()
    expected = rt.settings.outbound_connect_timeout + rt.settings.callback_timeout
    assert expected < held.total_seconds() <= lease(rt.settings).total_seconds() <= expected + 30
    broker.flushdb()
    sweep(rt)
    assert request_id not in _published(broker, "callback"), "held while the lease runs"
    with rt.db.session() as session:  # the worker died; the lease runs out
        session.get(PushRequest, request_id).next_callback_at = utcnow() - dt.timedelta(seconds=6)
    sweep(rt)
    assert request_id in _published(broker, "callback")


def test_a_video_stalled_before_it_was_prepared_gets_the_whole_chain_again(app, site_a, broker):
    """Staged but not prepared (its transcode message lost): the sweeper publishes
    stage -> transcode -> upload (the stage task skips a staged file), not the upload
    alone, which would send the unprepared file; a prepared one gets the upload only."""
    rt = app.extensions["pushwire"]
    rt.settings.stall_after = 60
    api = ApiClient(app.test_client(), site_a)
    identity = make_identity(app, site_a)
    unprepared, prepared = _push(api, identity), _push(api, identity, "https://example.com/c.avi")
    broker.flushdb()
    old = utcnow() - dt.timedelta(minutes=5)
    with rt.db.session() as session:
        for token, state, media in ((unprepared, "transcoding", {}), (prepared, "transcoding", {"done": True})):
            push = session.query(PushRequest).filter_by(token=token).one()
            push.state, push.staged_key, push.staged_bytes = state, f"{token}/source", 10
            push.progress = {"format": "avi", "media": media}
            push.enqueued_at = push.updated_at = old
    ids = [_request_id(rt, token) for token in (unprepared, prepared)]
    assert sweep(rt)["stalled"] >= 2
    assert ids[0] in _published(broker, "staging") and ids[0] not in _published(broker, "upload")
    assert ids[1] in _published(broker, "upload") and ids[1] not in _published(broker, "staging")


def _request_id(rt, token: str) -> int:
    with rt.db.session() as session:
        return session.query(PushRequest.id).filter_by(token=token).scalar()


def _enqueued_at(rt, request_id: int) -> dt.datetime:
    with rt.db.session() as session:
        return session.get(PushRequest, request_id).enqueued_at


def _published(broker, queue: str) -> set[int]:
    """Request ids of the Celery messages waiting on ``queue`` (protocol 2: [args, kwargs, embed])."""
    ids = set()
    for raw in broker.lrange(queue, 0, -1):
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        ids.add(args[0])
    return ids


def test_one_heartbeat_thread_keeps_every_running_attempt_alive(app, site_a, origin):
    """Attempts inside ``heartbeat()`` get a fresh progress_at from the process's one
    heartbeat thread (one UPDATE for all); attempts that left it, or ended, do not."""
    import threading

    from app.pipeline.heartbeat import heartbeat

    rt = app.extensions["pushwire"]
    identity = make_identity(app, site_a)
    ids = []
    for n in range(3):
        token = _push(ApiClient(app.test_client(), site_a), identity, origin.add(f"hb{n}.mp4", make_video(1000, seed=n)))
        with rt.db.session() as session:
            push = session.query(PushRequest).filter_by(token=token).one()
            ids.append(begin_attempt(session, push, "stage", f"task-{n}").attempt.id)
    old = utcnow() - dt.timedelta(minutes=5)
    with rt.db.session() as session:
        session.query(StageAttempt).filter(StageAttempt.id.in_(ids)).update({"progress_at": old})
        session.get(StageAttempt, ids[2]).outcome = "succeeded"

    before = threading.active_count()
    with heartbeat(rt, ids[0]), heartbeat(rt, ids[2]):
        with heartbeat(rt, ids[1]):
            pass  # left again: no longer beaten
        assert sorted(rt.heartbeats.running()) == sorted([ids[0], ids[2]])
        assert rt.heartbeats.beat() == 1, "only the running attempt is written"
        assert threading.active_count() <= before + 1, "one thread for all attempts"
    assert rt.heartbeats.running() == []
    with rt.db.session() as session:
        fresh = {row.id: row.progress_at for row in session.query(StageAttempt).filter(StageAttempt.id.in_(ids))}

    def aware(value):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)

    assert aware(fresh[ids[0]]) > utcnow() - dt.timedelta(seconds=30)
    assert aware(fresh[ids[1]]) < utcnow() - dt.timedelta(minutes=4)
    assert aware(fresh[ids[2]]) < utcnow() - dt.timedelta(minutes=4)
