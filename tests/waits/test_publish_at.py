"""``publish_at`` at the gateway: accepted forms, 400s naming the field, the
scheduled answer, ``?state=waiting`` and cancellation (in-process, PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models import PushRequest, utcnow
from app.pipeline.outcome import park
from app.push.schemas import parse_publish_at
from tests.gateway.conftest import make_identity, queued

POST = "/push/identities/{}/twitter/post.json"
VIDEO = "/push/identities/{}/twitter/video.json"


def post_body(**node):
    return {"request": {"push": {"post": {"message": "hello", **node}}}}


def status_of(resp) -> dict:
    return resp.json["response"]["request"]["status"]


def data_of(resp) -> dict:
    return resp.json["response"]["result"]["data"]


@pytest.mark.parametrize("text,expected", [
    ("2027-03-01T09:30:00+01:00", dt.datetime(2027, 3, 1, 8, 30, tzinfo=dt.timezone.utc)),
    ("2027-03-01T08:30:00Z", dt.datetime(2027, 3, 1, 8, 30, tzinfo=dt.timezone.utc)),
    ("2027-03-01t08:30:00.5z", dt.datetime(2027, 3, 1, 8, 30, 0, 500000, tzinfo=dt.timezone.utc)),
    (1803972600, dt.datetime(2027, 3, 2, 7, 30, tzinfo=dt.timezone.utc)),
    ("1803972600", dt.datetime(2027, 3, 2, 7, 30, tzinfo=dt.timezone.utc)),
    (1803972600.25, dt.datetime(2027, 3, 2, 7, 30, 0, 250000, tzinfo=dt.timezone.utc)),
])
def test_publish_at_forms(text, expected):
    assert parse_publish_at(text) == expected


@pytest.mark.parametrize("value,fragment", [
    ("2027-03-01T09:30:00", "no UTC offset"),
    ("2027-03-01", "RFC 3339"),
    ("next tuesday", "RFC 3339"),
    ("2027-02-30T00:00:00Z", "not a valid date-time"),
    (True, "RFC 3339"),
    ({"at": 1}, "RFC 3339"),
    ("2001-01-01T00:00:00Z", "in the past"),
    (1000, "in the past"),
    ("2099-01-01T00:00:00Z", "days ahead"),
])
def test_bad_publish_at_is_400_naming_the_field_and_queues_nothing(api, app, site_a, broker, value, fragment):
    identity = make_identity(app, site_a)
    resp = api.post(POST.format(identity), post_body(publish_at=value))
    assert resp.status_code == 400, resp.json
    status = status_of(resp)
    assert status["flag"] == "error" and status["reason"] == "invalid_field"
    assert "request.push.post.publish_at" in status["info"] and fragment in status["info"]
    assert "result" not in resp.json["response"]
    assert queued(broker) == 0


def test_horizon_is_a_setting(app, api, site_a, broker):
    app.extensions["pushwire"].settings.schedule_horizon = 3600
    identity = make_identity(app, site_a)
    late = (utcnow() + dt.timedelta(hours=2)).isoformat()
    resp = api.post(POST.format(identity), post_body(publish_at=late))
    assert resp.status_code == 400 and "publish_at" in status_of(resp)["info"]
    soon = (utcnow() + dt.timedelta(minutes=30)).isoformat()
    assert api.post(POST.format(identity), post_body(publish_at=soon)).status_code == 202


def test_scheduled_post_answers_at_once_with_its_time_and_is_stored(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    when = (utcnow() + dt.timedelta(days=2)).replace(microsecond=0)
    resp = api.post(POST.format(identity), post_body(publish_at=int(when.timestamp())))
    # A scheduled post does not wait for the worker (no worker runs here: it would wait 5 s).
    assert resp.status_code == 202, resp.json
    data = data_of(resp)
    assert data["object"] == "post" and data["publish_at"] == when.isoformat().replace("+00:00", "Z")
    assert "will be published at" in data["result"]
    assert broker.llen("upload") == 1  # the upload task parks it in the database
    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        push = session.query(PushRequest).filter_by(token=data["request_token"]).one()
        assert push.publish_at == when and "publish_at" not in push.payload


def test_scheduled_video_is_fetched_now(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    when = (utcnow() + dt.timedelta(hours=3)).isoformat()
    resp = api.post(VIDEO.format(identity), {"request": {"push": {"video": {
        "video_url": "https://example.com/a.mp4", "publish_at": when}}}})
    assert resp.status_code == 200 and data_of(resp)["publish_at"]
    assert broker.llen("staging") == 1  # the download runs ahead of the time


def test_idempotency_key_covers_publish_at(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    first = (utcnow() + dt.timedelta(hours=1)).isoformat()
    other = (utcnow() + dt.timedelta(hours=2)).isoformat()
    headers = {"Idempotency-Key": "sched-1"}
    a = api.post(POST.format(identity), post_body(publish_at=first), headers=headers)
    b = api.post(POST.format(identity), post_body(publish_at=first), headers=headers)
    c = api.post(POST.format(identity), post_body(publish_at=other), headers=headers)
    assert data_of(a)["request_token"] == data_of(b)["request_token"]
    assert c.status_code == 409


def _park(app, token: str, hours: float = 5, reason: str = "scheduled"):
    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        request_id = session.query(PushRequest.id).filter_by(token=token).scalar()
    assert park(rt, request_id, "upload", utcnow() + dt.timedelta(hours=hours), reason, "Scheduled.")


def test_waiting_pushes_are_listed_with_until_when_and_why(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    token = data_of(api.post(POST.format(identity), post_body(
        publish_at=(utcnow() + dt.timedelta(hours=5)).isoformat())))["request_token"]
    _park(app, token)
    entries = data_of(api.get("/push/requests.json?state=waiting"))["requests"]["entries"]
    assert [e["request_token"] for e in entries] == [token]
    waiting = entries[0]["waiting"]
    assert waiting["reason"] == "scheduled" and waiting["resumes"] == "upload"
    assert dt.datetime.fromisoformat(waiting["until"]) > utcnow() + dt.timedelta(hours=4)
    detail = data_of(api.get(f"/push/requests/{token}.json"))["request"]
    assert detail["state"] == "waiting" and detail["audit"]["transitions"][-1]["to"] == "waiting"


def test_cancel_a_waiting_push(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    token = data_of(api.post(POST.format(identity), post_body(
        publish_at=(utcnow() + dt.timedelta(hours=5)).isoformat())))["request_token"]
    _park(app, token)
    resp = api.delete(f"/push/requests/{token}.json")
    assert resp.status_code == 200, resp.json
    assert data_of(resp)["request"]["state"] == "cancelled"
    assert api.delete(f"/push/requests/{token}.json").status_code == 409


def test_a_waiting_push_that_reached_the_provider_cannot_be_cancelled(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    token = data_of(api.post(POST.format(identity), post_body(
        publish_at=(utcnow() + dt.timedelta(hours=5)).isoformat())))["request_token"]
    _park(app, token, reason="quota_exceeded")
    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        session.query(PushRequest).filter_by(token=token).one().progress = {"video_id": "abc"}
    resp = api.delete(f"/push/requests/{token}.json")
    assert resp.status_code == 409 and status_of(resp)["reason"] == "not_cancellable"


def _samples(app) -> dict[str, float]:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith("pushwire_") and " " in line}


def test_metrics_show_waiting_pushes_by_reason_and_when_due(api, app, site_a, broker):
    """(The database is shared by the session's tests: compare with a scrape before.)"""
    identity = make_identity(app, site_a)
    tokens = [data_of(api.post(POST.format(identity), post_body(
        message=f"m{i}", publish_at=(utcnow() + dt.timedelta(hours=5)).isoformat())))["request_token"]
        for i in range(3)]
    before = _samples(app)
    _park(app, tokens[0], hours=0.01)
    _park(app, tokens[1], hours=2, reason="quota_exceeded")
    _park(app, tokens[2], hours=-1, reason="quota_exceeded")  # overdue: no sweeper ran
    after = _samples(app)

    def delta(name):
        return after.get(name, 0) - before.get(name, 0)

    assert delta('pushwire_requests_waiting{reason="scheduled"}') == 1
    assert delta('pushwire_requests_waiting{reason="quota_exceeded"}') == 2
    assert delta("pushwire_requests_waiting_overdue") == 1
    assert 0 < after['pushwire_requests_waiting_next_resume_seconds{reason="scheduled"}'] <= 36
    assert after['pushwire_requests_waiting_next_resume_seconds{reason="quota_exceeded"}'] < -3500
    assert delta('pushwire_parked_total{reason="quota_exceeded",stage="upload"}') == 2
    for token in tokens:  # the session's database: no other test's sweeper may run them
        assert api.delete(f"/push/requests/{token}.json").status_code == 200


def test_in_app_docs_describe_publish_at_waiting_and_cancellation(app):
    client = app.test_client()
    spec = client.get("/openapi.json").get_json()
    field = spec["components"]["schemas"]["TwitterPost"]["properties"]["publish_at"]
    given = next(option for option in field["anyOf"] if option.get("type") != "null")
    assert {"type": "number", "minimum": 0} in given["anyOf"] and "RFC 3339" in given["description"]
    assert "waiting" in spec["components"]["schemas"]["RequestSummary"]["properties"]["state"]["enum"]
    page = client.get("/docs").get_data(as_text=True)
    assert "publish_at" in page and "waiting" in page and "not_cancellable" in page
