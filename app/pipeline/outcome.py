"""Recording how a push ended, the retry schedule of its stages, and durable waits.

A stage that must wait raises ``Retry``. ``defer`` decides how it waits: a
short wait (at most ``PUSHWIRE_PARK_AFTER`` seconds) stays a broker countdown;
a longer one (a quota until midnight, a daily limit, a scheduled ``publish_at``)
never does: the request is *parked* in the database in state ``waiting`` with
the stage to resume, ``resume_at`` and the reason, and the sweeper enqueues it
when it is due. A broker holds no message for a parked request, so flushing
the broker or restarting workers loses nothing, and no countdown outlives the
Redis visibility timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt
import random

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import PushRequest, StageAttempt, utcnow
from app.ops.metrics import PARKED
from app.states import (
    DELIVERING_CALLBACK,
    FAILED,
    FINAL_STATES,
    SUCCEEDED,
    UNCONFIRMED,
    WAITING,
    DuplicateTask,
    begin_attempt,
    end_attempt,
    finish,
    move,
    transition,
)

if TYPE_CHECKING:
    from app.runtime import Runtime


class Retry(Exception):
    """Raised by a stage to be run again after ``countdown`` seconds."""

    def __init__(self, countdown: float, reason: str, info: str):
        super().__init__(info)
        self.countdown, self.reason, self.info = countdown, reason, info


class Parked(Exception):
    """The request was parked in the database (state ``waiting``); the task ends here."""


#: Waits that never park: a duplicate waits for the live task's lease (seconds),
#: and parking would take the request away from that task.
NEVER_PARK = frozenset({"duplicate"})
#: The longest wait a request is parked for; a longer Retry-After is cut to this
#: (the stage then runs and, if still refused, parks again).
LONGEST_WAIT = dt.timedelta(days=31)


def defer(rt: Runtime, request_id: int, stage: str, retry: Retry) -> float:
    """How ``stage`` waits for ``retry``: returns the broker countdown of a short
    wait, or parks the request until it is due and raises ``Parked``. Short is
    ``PUSHWIRE_PARK_AFTER``, or the sweep interval if longer (a parked request is
    claimed at a sweep, so a shorter park could be late)."""
    short = max(rt.settings.park_after, rt.settings.sweep_interval)
    if retry.countdown <= short or retry.reason in NEVER_PARK:
        return max(0.0, retry.countdown)
    wait = dt.timedelta(seconds=retry.countdown)
    if retry.reason != "scheduled":  # publish_at is bounded by the schedule horizon already
        wait = min(wait, LONGEST_WAIT)
    park(rt, request_id, stage, utcnow() + wait, retry.reason, retry.info)
    raise Parked(f"request {request_id} waits until {utcnow() + wait:%Y-%m-%d %H:%M:%S} UTC ({retry.reason})")


def park(rt: Runtime, request_id: int, stage: str, resume_at: dt.datetime, reason: str, info: str) -> bool:
    """Move the request to ``waiting`` until ``resume_at`` (one guarded UPDATE and
    its audit row); ``enqueued_at`` is cleared, so the sweeper claims it when due.
    False when the request ended or was cancelled meanwhile."""
    values = dict(resume_stage=stage, resume_at=resume_at, wait_reason=reason, wait_info=info, enqueued_at=None)
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id, with_for_update=True)
        if push is None or push.outcome or push.state in FINAL_STATES or push.state == DELIVERING_CALLBACK:
            return False
        if push.state == WAITING:  # woken early (a leftover message): wait on, same audit state
            session.execute(update(PushRequest).where(PushRequest.id == request_id).values(**values))
            return True
        move(session, request_id, push.state, WAITING,
             f"{reason}: waits until {resume_at:%Y-%m-%d %H:%M:%S} UTC, then runs the {stage} stage", **values)
    PARKED.labels(stage, reason).inc()
    return True


def hold(push: PushRequest, stage: str, now: dt.datetime | None = None) -> None:
    """Raise Retry when ``stage`` of ``push`` must not run yet: a waiting request
    whose ``resume_at`` is ahead (a message that came early), or the publish step
    (``upload``) of a push scheduled for later."""
    now = now or utcnow()
    if push.state == WAITING and push.resume_at is not None and _aware(push.resume_at) > now:
        raise Retry((_aware(push.resume_at) - now).total_seconds(), push.wait_reason or "waiting",
                    push.wait_info or "The request waits.")
    if stage == "upload" and push.publish_at is not None and _aware(push.publish_at) > now:
        when = _aware(push.publish_at)
        raise Retry((when - now).total_seconds(), "scheduled",
                    f"Scheduled: the publish step runs at {when:%Y-%m-%d %H:%M:%S} UTC.")


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def backoff(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a provider's Retry-After wins when larger."""
    delay = random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))
    delay = max(delay, 1.0)
    if retry_after is not None:
        delay = max(delay, retry_after + random.uniform(0, 1))
    return min(delay, max(cap, retry_after or 0))


#: The audit reason of every successful push, whichever path it took.
SUCCEEDED_WHY = "provider work done"


def merged_ids(known: dict | None, new: dict) -> dict:
    """The provider ids a push keeps: those known so far, updated by the non-empty new ones."""
    return {**(known or {}), **{k: v for k, v in new.items() if v}}


def succeed(session: Session, push: PushRequest, data: dict, provider_ids: dict) -> None:
    """Record success; the callback (if any) is delivered next."""
    finish(session, push, SUCCEEDED, SUCCEEDED_WHY, callback=bool(push.callback_url),
           result=data, provider_ids=merged_ids(push.provider_ids, provider_ids))


def fail(session: Session, push: PushRequest, *, code: int, reason: str, info: str,
         unconfirmed: bool = False) -> None:
    """Record a failure with a reason a person can act on."""
    finish(session, push, UNCONFIRMED if unconfirmed else FAILED, f"{reason}: {info}",
           callback=bool(push.callback_url), error_code=code, error_reason=reason, error_info=info)


def record_failure(rt: Runtime, request_id: int, attempt_id: int, *, reason: str, info: str, code: int,
                   unconfirmed: bool = False) -> None:
    """Close the attempt as failed and record the push's failure, in one transaction."""
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        end_attempt(session.get(StageAttempt, attempt_id), "unconfirmed" if unconfirmed else "failed",
                    reason=reason, info=info)
        fail(session, push, code=code, reason=reason, info=info, unconfirmed=unconfirmed)


def retry_or_fail(rt: Runtime, request_id: int, attempt_id: int, number: int, reason: str, info: str,
                  retry_after: float | None = None, code: int = 502) -> None:
    """Raise Retry for another attempt, or, when attempts are used up, record the failure and return."""
    s = rt.settings
    if number > s.max_stage_retries:
        record_failure(rt, request_id, attempt_id, reason=reason, code=code,
                       info=f"{info} Gave up after {number} attempts.")
        return
    delay = backoff(number, s.retry_backoff_base, s.retry_backoff_max, retry_after)
    with rt.db.session() as session:
        end_attempt(session.get(StageAttempt, attempt_id), "retrying", reason=reason, info=info,
                    retry_at=utcnow() + dt.timedelta(seconds=delay))
    raise Retry(delay, reason, info)


def fail_unexpectedly(rt: Runtime, request_id: int, task_name: str, exc: Exception) -> None:
    """Last resort after repeated unexpected errors: record an internal failure."""
    from app.states import FINAL_STATES

    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        if push is None or push.outcome or push.state in FINAL_STATES:
            return
        for row in session.query(StageAttempt).filter_by(request_id=request_id, outcome="running"):
            end_attempt(row, "failed", reason="internal_error", info=f"{type(exc).__name__} in {task_name}")
        fail(session, push, code=500, reason="internal_error",
             info=f"Pushwire hit an internal error in {task_name} and gave up after retrying; "
                  "the operators have the details in the worker log.")


def give_up_after_crashes(session: Session, push: PushRequest, attempt: StageAttempt, crashes: int,
                          limit: int) -> bool:
    """Fail the push when its stage's worker died ``limit`` times (``crashes``, counted
    by ``begin_attempt``; a poison message: a file that crashes the process, memory
    exhaustion): redelivery is bounded."""
    if crashes < limit:
        return False
    info = (f"The worker running the {attempt.stage} stage stopped {crashes} times before finishing "
            "(killed or out of memory); Pushwire gave up instead of trying forever.")
    end_attempt(attempt, "failed", reason="worker_lost_repeatedly", info=info)
    fail(session, push, code=500, reason="worker_lost_repeatedly", info=info)
    return True


def open_stage(rt: Runtime, session: Session, push: PushRequest, stage: str, task_id: str | None,
               state: str | None, why: str, *, first: bool = False) -> StageAttempt | None:
    """A stage task's opening, on the request locked in ``session``: its attempt row
    (``begin_attempt``; another live task on it: Retry later), the move to ``state``
    (None: stay), and the end of a push whose stage crashed its worker too often.
    Returns the attempt, or None when the push failed that way (the task returns)."""
    try:
        attempt, crashes = begin_attempt(session, push, stage, task_id,
                                         lease=dt.timedelta(seconds=rt.settings.attempt_lease), first=first)
    except DuplicateTask as exc:
        raise Retry(exc.wait + 1, "duplicate", str(exc)) from None
    if state is not None:
        transition(session, push, state, why)
    if give_up_after_crashes(session, push, attempt, crashes, rt.settings.max_redeliveries):
        return None
    return attempt
