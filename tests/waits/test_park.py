"""The park decision and the sweeper's claim, in-process on PostgreSQL and SQLite.

* the longest wait each provider can ask for becomes a database park, never a
  broker countdown; short waits stay countdowns, all within the bound;
* two sweepers claiming at once never take one request twice.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from app.config import Settings
from app.migrate import upgrade
from app.models import Identity, PushRequest, Site, utcnow
from app.pipeline.outcome import LONGEST_WAIT, Parked, Retry, defer, retry_or_fail
from app.pipeline.sweep import claim_due, look_ahead
from app.providers.facebook import errors as facebook
from app.providers.linkedin import errors as linkedin
from app.providers.pinterest import errors as pinterest
from app.providers.twitter import errors as twitter
from app.providers.youtube import errors as youtube
from app.runtime import Runtime
from app.states import QUEUED, UPLOADING, WAITING, begin_attempt, transition
from app.broker.countdowns import LONGEST_COUNTDOWN, CountdownTooLong
from tests.support.services import REDIS_URL, create_database

DAY = 86400.0


def response(status: int, body: dict, headers: dict | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code, resp._content = status, json.dumps(body).encode()
    resp.headers = CaseInsensitiveDict(headers or {})
    resp.request = requests.Request("POST", "https://provider.example/x").prepare()
    return resp


def _fb(minutes: float, code: int = 32) -> requests.Response:
    usage = {"1": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": minutes}]}
    return response(400, {"error": {"code": code, "message": "Page request limit reached", "is_transient": True}},
                    {"X-Business-Use-Case-Usage": json.dumps(usage)})


def _yt(reason: str, status: int = 403) -> requests.Response:
    return response(status, {"error": {"message": reason, "errors": [{"reason": reason, "domain": "youtube.quota"}]}})


#: provider -> the longest waits its API can ask for, as the adapter reads them.
LONGEST = {
    # X: a usage cap or 24-hour user limit resets up to a day ahead; Retry-After may say anything.
    "twitter": [lambda: twitter.translate(response(429, {"title": "Too Many Requests",
                "type": "https://api.twitter.com/2/problems/usage-capped"},
                {"x-rate-limit-reset": str(int(time.time() + DAY))})),
                lambda: twitter.translate(response(429, {}, {"retry-after": str(10 ** 9)}))],
    # LinkedIn: the daily limit until 00:00 UTC (no header), or whatever Retry-After says.
    "linkedin": [lambda: linkedin.translate(response(429, {"status": 429, "message": "daily limit"})),
                 lambda: linkedin.translate(response(429, {"status": 429}, {"retry-after": str(7 * DAY)}))],
    # Facebook: estimated_time_to_regain_access in minutes (a day, here), or Retry-After.
    "facebook": [lambda: facebook.translate(_fb(1440), "page/post"),
                 lambda: facebook.translate(response(400, {"error": {"code": 4, "message": "app limit"}},
                                                  {"Retry-After": str(30 * DAY)}), "page/post")],
    # YouTube: quotaExceeded until midnight Pacific (up to 24 h).
    "youtube": [lambda: youtube.translate(_yt("quotaExceeded")),
                lambda: youtube.translate(response(429, {"error": {"message": "slow down"}},
                                                   {"Retry-After": str(2 * DAY)}))],
    # Pinterest documents none; honour any Retry-After it sends.
    "pinterest": [lambda: pinterest.translate(response(429, {"code": 8, "message": "limit"},
                                                            {"retry-after": str(10 * DAY)}))],
}


_made: list[int] = []


@pytest.fixture()
def rt(settings):
    runtime = Runtime(settings)
    yield runtime
    _retire(runtime)
    runtime.close()


def _retire(runtime) -> None:
    """Cancel the rows this test made (the database is the session's: another test's
    sweeper must not pick them up and run them)."""
    if _made:
        with runtime.db.engine.begin() as conn:
            conn.execute(PushRequest.__table__.update().where(PushRequest.__table__.c.id.in_(_made))
                         .values(state="cancelled", resume_at=None))
        _made.clear()


def new_push(rt, state: str = QUEUED, **values) -> int:
    with rt.db.session() as session:
        site = Site(name="s", private_key_hash="x", stream_key=secrets.token_hex(8), signing_secret_enc="x")
        session.add(site)
        session.flush()
        identity = Identity(site_id=site.id, provider="twitter", provider_user_id=secrets.token_hex(4),
                            access_token_enc="x")
        session.add(identity)
        session.flush()
        values = {"kind": "post", "payload": {"message": "m"}, **values}
        if state == QUEUED:  # published, as the gateway leaves it: the sweeper's lost-push check skips it
            values.setdefault("enqueued_at", utcnow())
        push = PushRequest(site_id=site.id, identity_id=identity.id, provider="twitter", resource="/r",
                           state=state, **values)
        session.add(push)
        session.flush()
        _made.append(push.id)
        return push.id


def _upload_attempt(rt, request_id: int) -> tuple[int, int]:
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        attempt, _crashes = begin_attempt(session, push, "upload", "task-1")
        transition(session, push, UPLOADING, "provider upload started")
        return attempt.id, attempt.attempt


def _wait_of(rt, request_id: int, exc) -> float | None:
    """The pipeline's path for a transient provider error: retry_or_fail, then defer.
    Returns the broker countdown, or None when the request was parked."""
    attempt_id, number = _upload_attempt(rt, request_id)
    try:
        retry_or_fail(rt, request_id, attempt_id, number, exc.reason, exc.info, retry_after=exc.retry_after)
    except Retry as retry:
        try:
            return defer(rt, request_id, "upload", retry)
        except Parked:
            return None
    raise AssertionError("retry_or_fail neither retried nor failed")


@pytest.mark.parametrize("provider,case", [(p, i) for p, cases in LONGEST.items() for i in range(len(cases))])
def test_longest_retry_after_of_each_provider_parks_instead_of_a_countdown(rt, provider, case):
    exc = LONGEST[provider][case]()
    assert exc.transient and exc.retry_after and exc.retry_after > LONGEST_COUNTDOWN, exc
    request_id = new_push(rt)
    before = utcnow()
    assert _wait_of(rt, request_id, exc) is None  # parked: no countdown at all
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        assert push.state == WAITING and push.resume_stage == "upload" and push.enqueued_at is None
        assert push.wait_reason == exc.reason and push.wait_info == exc.info
        expected = before + min(dt.timedelta(seconds=exc.retry_after), LONGEST_WAIT)
        assert abs((push.resume_at - expected).total_seconds()) < 5


def test_short_waits_stay_countdowns_within_the_bound(rt):
    exc = twitter.translate(response(429, {}, {"x-rate-limit-reset": str(int(time.time() + 20))}))
    countdown = _wait_of(rt, new_push(rt), exc)
    assert countdown is not None and 15 <= countdown <= rt.settings.park_after <= LONGEST_COUNTDOWN


def test_every_wait_is_either_parked_or_a_countdown_below_the_bound(rt):
    for seconds in (0, 1, 30, 59, 60, 61, 600, 3599, 3600, 3601, 86400, 10 ** 9):
        request_id = new_push(rt)
        countdown = _wait_of(rt, request_id, twitter.translate(
            response(429, {}, {"retry-after": str(seconds)})))
        assert countdown is None or countdown <= LONGEST_COUNTDOWN


def test_a_countdown_beyond_the_bound_is_refused_before_it_reaches_the_broker(rt):
    upload = rt.celery.signature("pushwire.upload", args=(1,), queue="upload")
    with pytest.raises(CountdownTooLong):
        upload.apply_async(countdown=LONGEST_COUNTDOWN + 1)
    with pytest.raises(CountdownTooLong):
        upload.apply_async(eta=utcnow() + dt.timedelta(hours=22.9))
    with pytest.raises(CountdownTooLong):
        rt.celery.send_task("pushwire.callback", args=(1,), countdown=86400)


def test_park_after_beyond_the_bound_is_refused_at_start(tmp_path):
    runtime = Runtime(Settings(data_dir=tmp_path, park_after=LONGEST_COUNTDOWN + 1, broker_url=f"{REDIS_URL}/15"))
    with pytest.raises(ValueError, match="PUSHWIRE_PARK_AFTER"):
        runtime.celery


def test_duplicates_never_park(rt):
    request_id = new_push(rt)
    assert defer(rt, request_id, "upload", Retry(300, "duplicate", "a live task runs it")) == 300


def _concurrent_claims(rt, ids: set[int], sweepers: int = 4) -> list[int]:
    claimed: list[int] = []
    lock, start = threading.Lock(), threading.Barrier(sweepers)

    def sweeper():
        start.wait()
        while True:
            rows = claim_due(rt, utcnow(), 0, limit=25)
            with lock:
                claimed.extend(row.id for row in rows)  # all: the database holds only these rows
            if not rows:
                return

    threads = [threading.Thread(target=sweeper) for _ in range(sweepers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return claimed


def _due_rows(rt, n: int) -> set[int]:
    past = utcnow() - dt.timedelta(seconds=5)
    return {new_push(rt, WAITING, resume_at=past, resume_stage="upload") for _ in range(n)}


@pytest.fixture()
def own_pg(tmp_path):
    """A PostgreSQL database of this test's own: on the session's database the running
    stacks' sweepers (and rows other tests left due) would claim too, so a row missing
    from ``claimed`` could be one a third sweeper took, not one these sweepers lost."""
    url, drop = create_database()
    settings = Settings(data_dir=tmp_path, database_url=url, secret_key="k", broker_url=f"{REDIS_URL}/15")
    upgrade(settings)
    runtime = Runtime(settings)
    yield runtime
    _made.clear()  # the database goes with them
    runtime.close()
    drop()


def test_two_sweepers_never_claim_one_request_twice_postgresql(own_pg):
    assert own_pg.db.engine.dialect.name == "postgresql"
    ids = _due_rows(own_pg, 200)
    claimed = _concurrent_claims(own_pg, ids)
    with own_pg.db.engine.connect() as conn:  # nothing else due here: the sweepers saw only these rows
        assert set(conn.execute(PushRequest.__table__.select().with_only_columns(PushRequest.__table__.c.id))
                   .scalars()) == ids
    assert sorted(claimed) == sorted(ids)  # every one claimed, none twice


def test_two_sweepers_never_claim_one_request_twice_sqlite(tmp_path):
    settings = Settings(data_dir=tmp_path, broker_url=f"{REDIS_URL}/15", secret_key="k")
    upgrade(settings)
    runtime = Runtime(settings)
    try:
        ids = _due_rows(runtime, 120)
        claimed = _concurrent_claims(runtime, ids)
        assert sorted(claimed) == sorted(ids)
    finally:
        _made.clear()  # a throwaway SQLite file
        runtime.close()


def test_claim_takes_what_is_due_within_the_look_ahead_and_lost_claims_again(rt):
    now = utcnow()
    ahead = look_ahead(rt.settings)
    soon = new_push(rt, WAITING, resume_at=now + dt.timedelta(seconds=ahead - 5), resume_stage="upload")
    later = new_push(rt, WAITING, resume_at=now + dt.timedelta(seconds=ahead + 60), resume_stage="upload")
    lost = new_push(rt, WAITING, resume_at=now - dt.timedelta(seconds=rt.settings.stall_after + 10),
                    resume_stage="upload", enqueued_at=now - dt.timedelta(seconds=rt.settings.stall_after + 5))
    fresh = new_push(rt, WAITING, resume_at=now - dt.timedelta(seconds=1), resume_stage="upload",
                     enqueued_at=now - dt.timedelta(seconds=1))
    got = {row.id for row in claim_due(rt, now, ahead, limit=10_000)}
    assert soon in got and lost in got and later not in got and fresh not in got
    assert not {row.id for row in claim_due(rt, now, ahead, limit=10_000)} & {soon, lost}


def test_a_push_cancelled_while_its_video_downloads_keeps_nothing_staged(rt, monkeypatch):
    """The download of a scheduled video runs ahead; a cancel that lands meanwhile wins."""
    from app.pipeline import download as stage_module
    from app.states import CANCELLED

    request_id = new_push(rt, kind="video", payload={"video_url": "https://example.com/a.mp4"})

    def download_then_cancelled(rt_, url, key, cap, attempt_id):
        rt_.store.write(key, iter([b"\x00" * 100]))
        with rt_.db.session() as session:  # what DELETE /push/requests/<token>.json does meanwhile
            transition(session, session.get(PushRequest, request_id), CANCELLED, "cancelled by the site")
        return 100, "mp4"

    monkeypatch.setattr(stage_module, "download", download_then_cancelled)
    assert stage_module.run_download(rt, request_id, "task-1") == "cancelled"
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        assert push.state == CANCELLED and push.staged_key is None
        token = push.token
    assert not rt.store.exists(f"{token}/source")


def test_a_far_scheduled_push_waits_until_its_time_not_the_retry_after_cap(rt):
    request_id = new_push(rt)
    far = 200 * DAY
    with pytest.raises(Parked):
        defer(rt, request_id, "upload", Retry(far, "scheduled", "Scheduled."))
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        assert abs((push.resume_at - utcnow()).total_seconds() - far) < 5


def test_a_claim_the_broker_refuses_is_released_for_the_next_sweep(settings):
    from app.pipeline.sweep import resume_due

    down = Runtime(settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"}))
    try:
        request_id = new_push(down, WAITING, resume_at=utcnow() - dt.timedelta(seconds=1), resume_stage="upload")
        assert resume_due(down) == 0
        with down.db.session() as session:
            assert session.get(PushRequest, request_id).enqueued_at is None  # claimable again
    finally:
        _retire(down)
        down.close()


def test_due_requests_are_published_with_a_countdown_to_their_time(rt):
    """Inspected in the broker: the sweeper's message for a push due in 20 s carries its ETA."""
    import base64

    import redis as redis_lib

    from app.pipeline.sweep import resume_due

    broker = redis_lib.Redis.from_url(rt.settings.broker_url)
    broker.delete("upload")
    due = utcnow() + dt.timedelta(seconds=20)
    request_id = new_push(rt, WAITING, resume_at=due, resume_stage="upload")
    assert resume_due(rt) >= 1
    messages = [json.loads(raw) for raw in broker.lrange("upload", 0, -1)]
    mine = [m for m in messages if json.loads(base64.b64decode(m["body"]))[0] == [request_id]]
    assert len(mine) == 1 and mine[0]["headers"]["task"] == "pushwire.upload"
    eta = dt.datetime.fromisoformat(mine[0]["headers"]["eta"])
    assert abs((eta - due).total_seconds()) < 1
    broker.delete("upload")
