"""Durable waits and scheduled pushes on the real stack (gunicorn, Celery worker
and beat on PostgreSQL and Redis, the sandbox fakes).

The stack here is this module's own (its own Redis database, because a test
flushes the broker and restarts the workers; its own PostgreSQL database, because
another running stack's sweeper must not claim and run the pushes parked here).
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import time
import uuid
from zoneinfo import ZoneInfo

import psycopg
import pytest
import redis

from tests.conftest import _redis_db, stack_env
from tests.support.origin import decode, make_video
from tests.support.services import REDIS_URL, create_database
from tests.support.stack import BIN, Client, Stack
from app.broker.countdowns import LONGEST_COUNTDOWN

pytestmark = pytest.mark.e2e
_users = itertools.count(1)


@pytest.fixture(scope="module")
def wait_db():
    """The stack's own PostgreSQL database. On the session's, the session stack's sweeper
    (beat every 2 s, when an earlier test started it) claimed this stack's parked pushes
    and ran them in its own worker, whose staging bucket lacks this stack's staged video:
    the resumed YouTube upload then failed instead of succeeding."""
    url, drop = create_database()
    yield url
    drop()


@pytest.fixture(scope="module")
def wait_stack(wait_db, s3_endpoint, fakes, tmp_path_factory):
    db = next(_redis_db)
    redis.Redis.from_url(f"{REDIS_URL}/{db}").flushdb()
    env = stack_env(wait_db, f"{REDIS_URL}/{db}", s3_endpoint, fakes,
                    str(tmp_path_factory.mktemp("wait-stack")), "pushwire-waits")
    env["PUSHWIRE_REDIS_URL"] = f"{REDIS_URL}/{db}"
    env["PUSHWIRE_PARK_AFTER"] = "5"  # park anything longer than 5 s (the sweeper ticks every 2 s)
    stack = Stack(env, beat=True).start()
    stack.redis = redis.Redis.from_url(f"{REDIS_URL}/{db}")
    stack.prefix = env["PUSHWIRE_BROKER_KEY_PREFIX"]
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def wclient(wait_stack):
    return Client(wait_stack.url, wait_stack.create_site("waits"))


@pytest.fixture()
def x_identity(fake_x, wclient):
    n = next(_users)
    user_id = str(70_000 + n)
    user = fake_x.state.add_user(user_id, f"waiter{n}")
    user = {**user, "user_id": user_id}
    return user_id, wclient.import_identity("twitter", user, {"name": f"waiter{n}"})


def _post(wclient, identity: str, message: str, **node):
    resp = wclient.post(f"/push/identities/{identity}/twitter/post.json",
                        {"request": {"push": {"post": {"message": message, **node}}}})
    assert resp.status_code in (200, 202), resp.text
    return resp.json()["response"]["result"]["data"]["request_token"]


def _wait_state(wclient, token: str, state: str, timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        detail = wclient.status(token)
        if detail["state"] == state:
            return detail
        time.sleep(0.2)
    raise AssertionError(f"{token} not {state} after {timeout}s: {_why(detail)}")


def broker_messages(stack) -> list[dict]:
    """Every message the broker holds for this stack: queued (lists) and reserved
    by a worker (kombu's ``unacked`` hash), decoded: task, request id, eta."""
    found = []
    for key in stack.redis.scan_iter(match=f"{stack.prefix}*"):
        kind = stack.redis.type(key).decode()
        if kind == "list":
            raws = stack.redis.lrange(key, 0, -1)
        elif kind == "hash" and key.decode().endswith("unacked"):
            raws = [json.loads(v)[0] for v in stack.redis.hvals(key)]
        else:
            continue
        for raw in raws:
            message = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
            if not isinstance(message, dict) or "headers" not in message:
                continue
            headers = message["headers"]
            body = json.loads(base64.b64decode(message["body"]))
            found.append({"key": key.decode(), "task": headers.get("task"), "args": body[0],
                          "eta": headers.get("eta")})
    return found


def _assert_no_long_countdown(stack) -> list[dict]:
    messages = broker_messages(stack)
    now = dt.datetime.now(dt.timezone.utc)
    for message in messages:
        if message["eta"]:
            ahead = (dt.datetime.fromisoformat(message["eta"]) - now).total_seconds()
            assert ahead <= LONGEST_COUNTDOWN, f"a message waits {ahead:.0f} s in the broker: {message}"
    return messages


def _why(final: dict) -> str:
    """A final state told by what explains it: the error, each stage attempt's outcome and
    reason, the transitions (not the whole detail, which the report truncates)."""
    audit = final.get("audit") or {}
    stages = "".join(f"\n  {s['stage']} #{s['attempt']}: {s['outcome']} {s['error_reason'] or ''} {s['error_info'] or ''}"
                     for s in audit.get("stages", []))
    moves = " -> ".join(f"{t['to']} ({t['reason']})" for t in audit.get("transitions", []))
    return f"state={final.get('state')} error={json.dumps(final.get('error'))}\nstages:{stages}\ntransitions: {moves}"


def _set_resume_at(pg_url: str, token: str, seconds_from_now: float) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE push_requests SET resume_at = now() + make_interval(secs => %s) WHERE token = %s",
                     (seconds_from_now, token))


def _tweet_calls(fake_x) -> int:
    return fake_x.state.calls.count(method="POST", endpoint="tweets")


def test_quota_wait_survives_a_broker_flush_and_a_worker_restart(wait_stack, wclient, fake_x, x_identity, wait_db):
    user_id, identity = x_identity
    message = f"parked {uuid.uuid4().hex[:8]}"
    # X's plan cap: a 429 usage-capped whose reset is 22.9 h ahead (the countdown seen in production).
    fake_x.state.faults.add("tweets", "usage_capped", count=1, reset_in=22.9 * 3600)
    before = _tweet_calls(fake_x)
    token = _post(wclient, identity, message)
    detail = _wait_state(wclient, token, "waiting")
    assert detail["waiting"]["reason"] == "usage_capped" and detail["waiting"]["resumes"] == "upload"
    until = dt.datetime.fromisoformat(detail["waiting"]["until"])
    assert until > dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=22)
    assert _tweet_calls(fake_x) == before + 1

    # Inspected, not assumed: nothing in the broker waits beyond the bound, nothing of this push at all.
    time.sleep(1)
    messages = _assert_no_long_countdown(wait_stack)
    request_ids = {m["args"][0] for m in messages if m["task"] in ("pushwire.stage", "pushwire.upload")}
    with psycopg.connect(wait_db) as conn:
        request_id = conn.execute("SELECT id FROM push_requests WHERE token = %s", (token,)).fetchone()[0]
    assert request_id not in request_ids

    # Lose the broker's data and every worker (and beat), then bring them back.
    for name in ("worker", "beat"):
        wait_stack.kill(name)
    wait_stack.redis.flushdb()
    wait_stack.start_worker()
    wait_stack._spawn("beat", [str(BIN / "celery"), "-A", "workers.worker", "beat", "-l", "info",
                               "-s", str(wait_stack.logdir / "beat2")])
    time.sleep(3)
    assert wclient.status(token)["state"] == "waiting"  # still parked, in the database only
    assert _tweet_calls(fake_x) == before + 1

    _set_resume_at(wait_db, token, -1)  # the cap "resets"
    final = wclient.wait_final(token, timeout=60)
    assert final["state"] == "succeeded", _why(final)
    time.sleep(3)  # a second copy, if any, would run now
    assert _tweet_calls(fake_x) == before + 2, "exactly one further provider attempt"
    assert [t["text"] for t in fake_x.state.tweets if t["author_id"] == user_id] == [message]
    uploads = [(s["outcome"], s["error_reason"]) for s in final["audit"]["stages"] if s["stage"] == "upload"]
    assert uploads == [("retrying", "usage_capped"), ("succeeded", None)], _why(final)
    moves = [t["to"] for t in final["audit"]["transitions"]]
    assert moves == ["queued", "uploading", "waiting", "uploading", "succeeded"], _why(final)
    _assert_no_long_countdown(wait_stack)


def test_scheduled_post_publishes_at_its_time(wait_stack, wclient, fake_x, x_identity):
    user_id, identity = x_identity
    message = f"on time {uuid.uuid4().hex[:8]}"
    publish_at = int(time.time()) + 10  # beyond the 5 s park bound: parked, then claimed ahead by the sweeper
    token = _post(wclient, identity, message, publish_at=publish_at)
    detail = _wait_state(wclient, token, "waiting", timeout=10)
    assert detail["waiting"]["reason"] == "scheduled"
    assert not [t for t in fake_x.state.tweets if t["text"] == message]
    final = wclient.wait_final(token, timeout=60)
    assert final["state"] == "succeeded", _why(final)
    tweet = next(t for t in fake_x.state.tweets if t["text"] == message)
    assert publish_at <= tweet["created_at"] <= publish_at + 2, tweet["created_at"] - publish_at


def test_cancelled_scheduled_push_reaches_no_provider(wait_stack, wclient, fake_x, x_identity, wait_db, origin):
    user_id, identity = x_identity
    message = f"cancelled {uuid.uuid4().hex[:8]}"
    token = _post(wclient, identity, message, publish_at=int(time.time()) + 3600)
    _wait_state(wclient, token, "waiting")
    video = wclient.post(f"/push/identities/{identity}/twitter/video.json", {"request": {"push": {"video": {
        "video_url": origin.add(f"sched-{uuid.uuid4().hex[:6]}.mp4", make_video(300_000, seed=7)),
        "publish_at": int(time.time()) + 3600}}}}).json()["response"]["result"]["data"]["request_token"]
    staged = _wait_state(wclient, video, "waiting")  # downloaded ahead, then parked until its time
    assert [s["outcome"] for s in staged["audit"]["stages"] if s["stage"] == "stage"] == ["succeeded"]
    uploads_before = fake_x.state.calls.count(endpoint="initialize")
    calls_before = _tweet_calls(fake_x)
    for t in (token, video):
        resp = wclient.http.delete(f"{wclient.base_url}/push/requests/{t}.json", timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.json()["response"]["result"]["data"]["request"]["state"] == "cancelled"
        _set_resume_at(wait_db, t, -1)  # even once due, a cancelled push is not resumed
    time.sleep(6)  # three sweeps
    assert wclient.status(token)["state"] == wclient.status(video)["state"] == "cancelled"
    assert _tweet_calls(fake_x) == calls_before and fake_x.state.calls.count(endpoint="initialize") == uploads_before
    assert not [t for t in fake_x.state.tweets if t["author_id"] == user_id]


def test_scheduled_video_that_cannot_be_fetched_fails_before_its_time(wait_stack, wclient, x_identity, origin,
                                                                      receiver):
    _user_id, identity = x_identity
    resp = wclient.post(f"/push/identities/{identity}/twitter/video.json", {"request": {"push": {"video": {
        "video_url": origin.add_status(f"gone-{uuid.uuid4().hex[:6]}.mp4", 404),
        "publish_at": int(time.time()) + 86400, "callback_url": receiver.url}}}})
    assert resp.status_code == 200, resp.text
    token = resp.json()["response"]["result"]["data"]["request_token"]
    final = wclient.wait_final(token, timeout=60)
    assert final["state"] == "failed" and (final.get("error") or {}).get("reason") == "source_unavailable", \
        _why(final)
    assert final["publish_at"]
    callbacks = receiver.wait_for(lambda got: any(token.encode() in c["body"] for c in got), timeout=30)
    body = decode(next(c for c in callbacks if token.encode() in c["body"]))
    status = body["response"]["request"]["status"]
    assert status["flag"] == "error" and status["reason"] == "source_unavailable" and "404" in status["info"]


def test_youtube_quota_parks_until_midnight_pacific_and_resumes_once(wait_stack, wclient, fakes, origin, wait_db):
    """The defect as seen: YouTube's quotaExceeded used to be a 22.9 h broker countdown."""
    fake = fakes["youtube"].state
    n = next(_users)
    user = {**fake.add_user(str(80_000 + n), f"ytwaiter{n}"), "user_id": str(80_000 + n)}
    identity = wclient.import_identity("youtube", user, {"name": f"ytwaiter{n}"})
    fake.faults.add("insert", "quotaExceeded", count=1)
    inserts = fake.calls.count(endpoint="insert")
    resp = wclient.post(f"/push/identities/{identity}/youtube/video.json", {"request": {"push": {"video": {
        "video_url": origin.add(f"yt-wait-{n}.mp4", make_video(400_000, seed=n)), "title": "Parked"}}}})
    token = resp.json()["response"]["result"]["data"]["request_token"]
    detail = _wait_state(wclient, token, "waiting")
    assert detail["waiting"]["reason"] == "quota_exceeded" and detail["waiting"]["resumes"] == "upload"
    until = dt.datetime.fromisoformat(detail["waiting"]["until"]).astimezone(ZoneInfo("America/Los_Angeles"))
    assert (until.hour, until.minute) in ((0, 0), (0, 1)), until  # midnight Pacific (+ jitter)
    time.sleep(1)
    _assert_no_long_countdown(wait_stack)
    assert fake.calls.count(endpoint="insert") == inserts + 1

    _set_resume_at(wait_db, token, -1)  # the quota "resets"
    final = wclient.wait_final(token, timeout=90)
    assert final["state"] == "succeeded", _why(final)
    time.sleep(3)
    assert fake.calls.count(endpoint="insert") == inserts + 2, "exactly one further insert"
    uploads = [(s["outcome"], s["error_reason"]) for s in final["audit"]["stages"] if s["stage"] == "upload"]
    assert uploads == [("retrying", "quota_exceeded"), ("succeeded", None)], _why(final)
