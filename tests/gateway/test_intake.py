"""The gateway's group commit: waiting pushes are written in one transaction and
published, and one bad row fails only its own request."""

from __future__ import annotations

import threading

from app.models import Identity, PushRequest, RequestTransition
from app.push import services
from app.push.endpoints import ENDPOINTS
from app.push.intake import Intake, _Ticket
from tests.gateway.conftest import make_identity, queued

VIDEO = next(e for e in ENDPOINTS if e.provider == "twitter" and e.kind == "video")


def _row(rt, site, identity_token, n, resource=None):
    with rt.db.session() as session:
        identity_id = session.query(Identity.id).filter_by(token=identity_token).scalar()
    payload = {"video_url": f"https://example.com/{n}.mp4"}
    path = resource or f"/push/identities/{identity_token}/twitter/video.json"
    return services.request_row(site["id"], identity_id, VIDEO, path, payload, None, services.body_hash(path, payload))


def _run(intake: Intake, tickets: list[_Ticket]) -> None:
    """Queue every ticket before the intake thread starts, so they meet in one batch."""
    for ticket in tickets:
        intake._queue.put(ticket)
    intake._ensure_thread()
    for ticket in tickets:
        assert ticket.done.wait(30)


def test_waiting_pushes_are_written_in_one_transaction_and_all_published(app, site_a, broker):
    rt = app.extensions["pushwire"]
    identity = make_identity(app, site_a)
    intake = Intake(rt, max_batch=64)
    tickets = [_Ticket(_row(rt, site_a, identity, n), staged=True, callback=False) for n in range(12)]
    _run(intake, tickets)

    assert all(t.error is None for t in tickets)
    assert intake.batches == 1
    ids = [t.result.id for t in tickets]
    assert len(set(ids)) == 12 and len({t.result.token for t in tickets}) == 12
    with rt.db.session() as session:
        rows = {r.id: r for r in session.query(PushRequest).filter(PushRequest.id.in_(ids))}
        assert [rows[i].token for i in ids] == [t.result.token for t in tickets], "ids match their own rows"
        assert all(r.state == "queued" and r.enqueued_at is not None for r in rows.values())
        audit = session.query(RequestTransition).filter(RequestTransition.request_id.in_(ids)).all()
        assert sorted(a.request_id for a in audit) == sorted(ids)
        assert {(a.from_state, a.to_state) for a in audit} == {(None, "queued")}
    assert broker.llen("staging") == 12 and queued(broker) == 12


def test_a_bad_row_fails_alone_and_the_batch_is_written_push_by_push(app, site_a, broker):
    rt = app.extensions["pushwire"]
    identity = make_identity(app, site_a)
    intake = Intake(rt, max_batch=64)
    good = [_Ticket(_row(rt, site_a, identity, n), staged=True, callback=False) for n in range(3)]
    bad = _Ticket(_row(rt, site_a, identity, 99, resource="/" + "x" * 600), staged=True, callback=False)  # > 500 chars
    _run(intake, [good[0], bad, *good[1:]])

    assert bad.error is not None and bad.result is None
    assert all(t.error is None and t.result is not None for t in good)
    with rt.db.session() as session:
        assert session.query(PushRequest).filter(PushRequest.id.in_([t.result.id for t in good])).count() == 3
    assert broker.llen("staging") == 3, "only the written pushes are published"


def test_concurrent_requests_each_get_their_own_request(app, site_a, broker):
    """Through the HTTP endpoint: 24 concurrent pushes share the intake thread, and
    each answer names the request holding that push's own body."""
    rt = app.extensions["pushwire"]
    identity = make_identity(app, site_a)
    from tests.gateway.conftest import ApiClient

    tokens, errors = [], []

    def push(n):
        api = ApiClient(app.test_client(), site_a)
        resp = api.post(f"/push/identities/{identity}/twitter/video.json",
                        {"request": {"push": {"video": {"video_url": f"https://example.com/c{n}.mp4"}}}})
        if resp.status_code == 200:
            tokens.append((n, resp.json["response"]["result"]["data"]["request_token"]))
        else:
            errors.append(resp.json)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len({token for _, token in tokens}) == 24
    with rt.db.session() as session:
        for n, token in tokens:
            assert session.query(PushRequest).filter_by(token=token).one().payload["video_url"].endswith(f"/c{n}.mp4")
    assert broker.llen("staging") == 24


def test_a_push_withdrawn_after_a_timeout_is_never_written(app, site_a, broker, monkeypatch):
    """A request that gave up waiting (503 "nothing was accepted") must not have its
    push written later, or the client's retry would post twice."""
    import app.push.intake as intake_module

    rt = app.extensions["pushwire"]
    identity = make_identity(app, site_a)
    intake = Intake(rt, max_batch=64)
    blocker = threading.Event()
    real_handle = intake._handle
    monkeypatch.setattr(intake, "_handle", lambda batch: (blocker.wait(10), real_handle(batch)))
    monkeypatch.setattr(intake_module, "WAIT_SECONDS", 0.3)

    first = _Ticket(_row(rt, site_a, identity, 1), staged=True, callback=False)
    intake._queue.put(first)
    intake._ensure_thread()  # the intake thread takes `first` and blocks on it
    import time

    time.sleep(0.1)
    late = _row(rt, site_a, identity, 2)
    try:
        intake.accept(late, staged=True, callback=False)
    except intake_module.IntakeUnavailable as exc:
        assert exc.written_maybe is False
    else:
        raise AssertionError("the request should have given up")
    blocker.set()
    assert first.done.wait(10) and first.error is None
    time.sleep(0.3)
    with rt.db.session() as session:
        assert session.query(PushRequest).filter_by(token=late["token"]).count() == 0
        assert session.query(PushRequest).filter_by(token=first.row["token"]).count() == 1
    assert broker.llen("staging") == 1
