"""Recording how a push ended, and the retry schedule of its stages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt
import random

from sqlalchemy.orm import Session

from app.models import PushRequest, StageAttempt, utcnow
from app.states import FAILED, SUCCEEDED, UNCONFIRMED, end_attempt, finish

if TYPE_CHECKING:
    from app.runtime import Runtime


class Retry(Exception):
    """Raised by a stage to be run again after ``countdown`` seconds."""

    def __init__(self, countdown: float, reason: str, info: str):
        super().__init__(info)
        self.countdown, self.reason, self.info = countdown, reason, info


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
