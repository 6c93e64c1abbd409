"""Retries, publish-once, crash takeover and bounded redelivery, with the fake network."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from app.models import PushRequest, StageAttempt, utcnow
from app.pipeline.download import run_download
from app.pipeline.outcome import Retry, backoff
from app.pipeline.upload import run_upload
from app.providers.base import PushOutcome, publish_once
from app.providers.errors import InvalidInput, OutcomeUnknown, RateLimited, TransientError
from app.states import begin_attempt
from tests.pipeline.conftest import attempts, audit, request
from tests.support.origin import make_video


def test_backoff_grows_with_jitter_up_to_the_cap_and_honours_retry_after():
    for attempt in range(1, 12):
        for _ in range(50):
            delay = backoff(attempt, base=2.0, cap=60.0)
            assert 1.0 <= delay <= min(60.0, max(1.0, 2.0 * 2 ** (attempt - 1)))
    assert 90 <= backoff(1, base=2.0, cap=60.0, retry_after=90) <= 91, "a longer Retry-After wins over the cap"
    assert 30 <= backoff(1, base=2.0, cap=60.0, retry_after=30) <= 31


def test_a_transient_failure_is_retried_then_given_up(rt, make_push, fake):
    """Each transient failure closes its attempt as ``retrying`` with the next time; past
    ``max_stage_retries`` (2 here) the push fails with the attempts counted."""
    request_id = make_push({"message": "hi"})
    fake.script += [TransientError("down", reason="provider_unavailable")] * 3
    for number in (1, 2):
        before = utcnow()
        with pytest.raises(Retry) as retry:
            run_upload(rt, request_id, f"t{number}")
        assert retry.value.reason == "provider_unavailable"
        assert 1.0 <= retry.value.countdown <= rt.settings.retry_backoff_max
        push = request(rt, request_id)
        assert push.state == "uploading" and push.outcome is None
        with rt.db.session() as session:
            last = session.query(StageAttempt).filter_by(request_id=request_id).order_by(StageAttempt.id.desc()).first()
            assert last.outcome == "retrying" and last.retry_at >= before
    assert run_upload(rt, request_id, "t3") == "failed"
    push = request(rt, request_id)
    assert (push.state, push.outcome, push.error_reason) == ("failed", "failed", "provider_unavailable")
    assert "Gave up after 3 attempts" in push.error_info
    assert [a[2] for a in attempts(rt, request_id)] == ["retrying", "retrying", "failed"]
    assert [row[1] for row in audit(rt, request_id)] == ["queued", "uploading", "failed"]


def test_a_rate_limit_waits_at_least_as_long_as_the_provider_asks(rt, make_push, fake):
    request_id = make_push({"message": "hi"})
    fake.script.append(RateLimited("slow down", retry_after=3.0))
    with pytest.raises(Retry) as retry:
        run_upload(rt, request_id, "t1")
    assert retry.value.countdown >= 3.0
    assert run_upload(rt, request_id, "t2") == "succeeded"


def test_publish_once_never_publishes_twice(rt, make_push, fake):
    """A worker killed inside the publish call leaves the marker: the redelivery reports
    the outcome as unknown instead of posting again."""
    request_id = make_push({"message": "hi"})

    def killed_mid_publish(ctx):
        publish_once(ctx, "post_id", lambda: (_ for _ in ()).throw(SystemExit("worker killed")), "fake")

    fake.script.append(killed_mid_publish)
    with pytest.raises(SystemExit):
        run_upload(rt, request_id, "t1")
    assert request(rt, request_id).progress == {"provider": {"post_id_publishing": True}}
    _age_running_attempts(rt, request_id)  # its heartbeat stopped with the worker
    assert run_upload(rt, request_id, "t2") == "unconfirmed"
    push = request(rt, request_id)
    assert (push.state, push.outcome) == ("unconfirmed", "unconfirmed")
    assert fake.published == []
    assert [a[2] for a in attempts(rt, request_id)] == ["interrupted", "unconfirmed"]


def test_publish_once_allows_a_retry_after_a_refusal_that_created_nothing(rt, make_push, fake):
    request_id = make_push({"message": "hi"})

    def refused(ctx):
        publish_once(ctx, "post_id", lambda: (_ for _ in ()).throw(RateLimited("429", retry_after=1)), "fake")

    fake.script.append(refused)
    with pytest.raises(Retry):
        run_upload(rt, request_id, "t1")
    assert request(rt, request_id).progress == {"provider": {}}
    assert run_upload(rt, request_id, "t2") == "succeeded"
    assert fake.published == [request(rt, request_id).result["post_id"]]


def test_a_5xx_on_the_publish_step_is_outcome_unknown(rt, make_push, fake):
    request_id = make_push({"message": "hi"})
    fake.script.append(lambda ctx: publish_once(
        ctx, "post_id", lambda: (_ for _ in ()).throw(TransientError("502", reason="bad_gateway")), "fake"))
    assert run_upload(rt, request_id, "t1") == "unconfirmed"
    assert request(rt, request_id).error_reason == OutcomeUnknown("x").reason


def test_a_live_duplicate_backs_off_and_a_dead_one_is_taken_over(rt, make_push, origin):
    request_id = make_push({"video_url": origin.add("dup.mp4", make_video(200_000, seed=3))}, kind="video")
    with rt.db.session() as session:
        begin_attempt(session, session.get(PushRequest, request_id), "stage", "task-A")
    with pytest.raises(Retry) as retry:
        run_download(rt, request_id, "task-B")
    assert retry.value.reason == "duplicate" and retry.value.countdown <= rt.settings.attempt_lease + 1
    _age_running_attempts(rt, request_id)
    assert run_download(rt, request_id, "task-B") == "staged"
    assert attempts(rt, request_id) == [("stage", 1, "interrupted", "worker_lost"), ("stage", 2, "succeeded", None)]
    assert run_download(rt, request_id, "task-A") == "skipped", "a late copy finds the step done"


def test_redelivery_is_bounded_when_the_worker_keeps_dying(rt, make_push, fake):
    """A message that kills its worker every time (``max_redeliveries`` = 2 here) fails
    the push instead of being redelivered forever."""
    request_id = make_push({"message": "poison"})
    for n in range(2):
        fake.script.append(SystemExit(f"killed {n}"))
        with pytest.raises(SystemExit):
            run_upload(rt, request_id, f"t{n}")
        _age_running_attempts(rt, request_id)
    assert run_upload(rt, request_id, "t-last") == "failed"
    push = request(rt, request_id)
    assert (push.outcome, push.error_reason) == ("failed", "worker_lost_repeatedly")
    assert [a[2] for a in attempts(rt, request_id)] == ["interrupted", "interrupted", "failed"]
    assert len(fake.calls) == 2, "the poison message is not run a third time"


def test_an_expired_token_is_refreshed_once(rt, make_push, fake, identity):
    from app.models import Identity
    from app.providers.errors import AuthExpired

    with rt.db.session() as session:
        ident = session.get(Identity, identity)
        ident.refresh_token_enc = rt.cipher.encrypt("refresh-1")
    request_id = make_push({"message": "hi"})
    seen = []

    def expired(ctx):
        seen.append(ctx.access_token)
        raise AuthExpired("401")

    def accepted(ctx):
        seen.append(ctx.access_token)
        return PushOutcome({"post_id": "7"}, {"post_id": "7"})

    fake.script += [expired, accepted]
    assert run_upload(rt, request_id, "t1") == "succeeded"
    assert fake.refreshed == ["refresh-1"] and seen == ["token-1", "fresh-1"]


def test_a_refusal_is_final_at_once(rt, make_push, fake):
    request_id = make_push({"message": "hi"})
    fake.script.append(InvalidInput("no", reason="invalid_text"))
    assert run_upload(rt, request_id, "t1") == "failed"
    assert attempts(rt, request_id) == [("upload", 1, "failed", "invalid_text")]


def _age_running_attempts(rt, request_id: int) -> None:
    """What a killed worker leaves: its running attempt's heartbeat stops (here: is old)."""
    old = utcnow() - dt.timedelta(seconds=rt.settings.attempt_lease + 5)
    with rt.db.session() as session:
        session.execute(update(StageAttempt).where(StageAttempt.request_id == request_id,
                                                   StageAttempt.outcome == "running")
                        .values(started_at=old, progress_at=old))
