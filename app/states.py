"""The state machine of a push request, and the audit rows that record it.

Only this module writes ``PushRequest.state`` and ``RequestTransition`` rows, each
change with its audit row in the caller's transaction, so state and audit can never
disagree:

* ``create()`` writes new requests in ``queued`` (audit: ``None -> queued``);
* ``transition()`` / ``move()`` take a request one step along ``ALLOWED``;
* ``finish()`` is the one way a push ends: it records the outcome (succeeded,
  failed, unconfirmed) and moves to ``delivering_callback`` when a callback is still
  to be sent, else to the final state of that name; once the callback was delivered
  (or abandoned), ``finish()`` again moves it from ``delivering_callback`` to that
  final state. Every path (the text fast path, the staged path, failures, the
  callback) ends through it, so their audits read alike.

The moves (``ALLOWED``, pinned by ``tests/pipeline/test_states.py``)::

    queued              -> staging | uploading | waiting | delivering_callback | failed | cancelled
    staging             -> uploading | waiting | delivering_callback | failed | cancelled
    waiting             -> staging | uploading | delivering_callback | failed | cancelled
    uploading           -> processing | waiting | delivering_callback | succeeded | failed | unconfirmed
    processing          -> waiting | delivering_callback | succeeded | failed | unconfirmed
    delivering_callback -> succeeded | failed | unconfirmed
    succeeded, failed, cancelled, unconfirmed: final, no way out
"""

from __future__ import annotations

import datetime as dt

from typing import NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.models import PushRequest, RequestTransition, StageAttempt, utcnow

QUEUED = "queued"
STAGING = "staging"
TRANSCODING = "transcoding"
UPLOADING = "uploading"
PROCESSING = "processing"
DELIVERING_CALLBACK = "delivering_callback"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
UNCONFIRMED = "unconfirmed"
#: Parked in the database until ``resume_at`` (a quota, a long rate limit, a
#: scheduled ``publish_at``); the sweeper enqueues ``resume_stage`` when due.
WAITING = "waiting"

FINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED, UNCONFIRMED})

ALLOWED: dict[str, frozenset[str]] = {
    QUEUED: frozenset({STAGING, UPLOADING, WAITING, DELIVERING_CALLBACK, FAILED, CANCELLED}),
    STAGING: frozenset({TRANSCODING, UPLOADING, WAITING, DELIVERING_CALLBACK, FAILED, CANCELLED}),
    TRANSCODING: frozenset({UPLOADING, WAITING, DELIVERING_CALLBACK, FAILED, CANCELLED}),
    UPLOADING: frozenset({PROCESSING, WAITING, DELIVERING_CALLBACK, SUCCEEDED, FAILED, UNCONFIRMED}),
    PROCESSING: frozenset({WAITING, DELIVERING_CALLBACK, SUCCEEDED, FAILED, UNCONFIRMED}),
    # Resuming enters the parked stage again; cancelling is allowed until then.
    WAITING: frozenset({STAGING, TRANSCODING, UPLOADING, DELIVERING_CALLBACK, FAILED, CANCELLED}),
    DELIVERING_CALLBACK: frozenset({SUCCEEDED, FAILED, UNCONFIRMED}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
    UNCONFIRMED: frozenset(),
}

#: The outcomes a push ends with (``PushRequest.outcome``), each also the name of its final state.
OUTCOMES = (SUCCEEDED, FAILED, UNCONFIRMED)
#: Every state, in the order a push passes through them (the status API's filter lists them).
STATES = (QUEUED, STAGING, TRANSCODING, WAITING, UPLOADING, PROCESSING, DELIVERING_CALLBACK, SUCCEEDED, FAILED,
          CANCELLED, UNCONFIRMED)


class InvalidTransition(Exception):
    """A state change the machine does not allow (a bug or a stale redelivery)."""


class MovedConcurrently(InvalidTransition):
    """The request left the expected state before the guarded update ran."""


def transition(session: Session, request: PushRequest, to_state: str, reason: str | None = None) -> None:
    """Move ``request`` to ``to_state`` and append the audit row, in one transaction.

    The update is guarded on the current state (compare-and-set), so two workers
    racing on a redelivered message cannot both move the request.
    """
    try:
        values = move(session, request.id, request.state, to_state, reason)
    except MovedConcurrently:
        session.refresh(request)
        raise InvalidTransition(f"request moved to {request.state} concurrently") from None
    for key, value in values.items():  # already written: refresh the object without dirtying it
        set_committed_value(request, key, value)


_REQUESTS, _TRANSITIONS = PushRequest.__table__, RequestTransition.__table__
_INSERT_ATTEMPT = insert(StageAttempt.__table__).returning(StageAttempt.__table__.c.id)
_INSERT_TRANSITION = insert(_TRANSITIONS)
_INSERT_REQUEST = insert(_REQUESTS).returning(_REQUESTS.c.id, _REQUESTS.c.token, sort_by_parameter_order=True)
_moves: dict[tuple[str, ...], object] = {}


def create(conn, rows: list[dict]) -> list:
    """Insert new requests (``push_requests`` columns) in state ``queued`` with their
    first audit rows (``None -> queued``, "accepted"), in order: one multi-row INSERT
    each, no ORM flush. Returns the ``(id, token)`` rows."""
    created = conn.execute(_INSERT_REQUEST, [{**row, "state": QUEUED} for row in rows]).all()
    conn.execute(_INSERT_TRANSITION, [{"request_id": new.id, "from_state": None, "to_state": QUEUED,
                                       "reason": "accepted", "at": row["created_at"]}
                                      for row, new in zip(rows, created)])
    return created


def finish(session, request: PushRequest | int, outcome: str, why: str, *, from_state: str | None = None,
           callback: bool = False, **values) -> dict:
    """End a push with ``outcome`` (``succeeded``, ``failed`` or ``unconfirmed``): the
    one writer of ``PushRequest.outcome``.

    ``callback=True`` (the push has a ``callback_url``): record the outcome and move to
    ``delivering_callback``, the callback due now; otherwise move to the final state
    named by the outcome (also from ``delivering_callback`` once the callback ended).
    ``values`` are other columns written in the same guarded UPDATE (``result``,
    ``provider_ids``, ``error_*``, ``progress``). ``request`` is an ORM object (kept in
    step without being dirtied) or an id with ``from_state``, on a Session or a
    Connection. Returns the columns written.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"{outcome!r} is not an outcome; one of {OUTCOMES}")
    obj = request if isinstance(request, PushRequest) else None
    request_id = obj.id if obj is not None else request
    from_state = obj.state if obj is not None else from_state
    values["outcome"] = outcome
    if callback:
        values["next_callback_at"] = utcnow()
    to_state = DELIVERING_CALLBACK if callback else outcome
    try:
        written = move(session, request_id, from_state, to_state, why, **values)
    except MovedConcurrently:
        if obj is None:
            raise
        session.refresh(obj)
        raise InvalidTransition(f"request moved to {obj.state} concurrently") from None
    if obj is not None:
        for key, value in written.items():
            set_committed_value(obj, key, value)
    return written


def _move_statement(columns: tuple[str, ...]):
    """The guarded UPDATE setting ``columns``, built once per column set (Core, on
    the table: no ORM bulk-update machinery, and a memoized cache key)."""
    stmt = _moves.get(columns)
    if stmt is None:
        stmt = _moves[columns] = (
            update(_REQUESTS)
            .where(_REQUESTS.c.id == bindparam("_id"), _REQUESTS.c.state == bindparam("_from"))
            .values({name: bindparam(name) for name in columns})
        )
    return stmt


def move(session, request_id: int, from_state: str, to_state: str, reason: str | None = None,
         **values) -> dict:
    """``transition()`` by id, for callers that hold no ORM object: one guarded
    UPDATE (which may set other ``values`` too) and one INSERT of the audit row,
    on a Session or a Connection. Returns the columns written."""
    if to_state == from_state:
        return {}
    if to_state in OUTCOMES and "outcome" not in values:
        raise InvalidTransition(f"a push ends through finish(), not a bare move to {to_state}")
    if to_state not in ALLOWED[from_state]:
        raise InvalidTransition(f"{from_state} -> {to_state} is not allowed")
    now = utcnow()
    values = {**values, "state": to_state, "updated_at": now}
    if to_state in FINAL_STATES:
        values["finished_at"] = now
    result = session.execute(_move_statement(tuple(sorted(values))), {**values, "_id": request_id, "_from": from_state})
    if result.rowcount != 1:
        raise MovedConcurrently(f"request {request_id} is no longer {from_state} (moved concurrently)")
    session.execute(_INSERT_TRANSITION, {"request_id": request_id, "from_state": from_state, "to_state": to_state,
                                         "reason": reason, "at": now})
    return values


#: A running attempt whose heartbeat is older than this is presumed dead.
ATTEMPT_LEASE = dt.timedelta(seconds=45)


class Opened(NamedTuple):
    """A new attempt row, and how often this stage's worker died before it (for bounded redelivery)."""

    attempt: StageAttempt
    crashes: int


class DuplicateTask(Exception):
    """A live task is already running this stage of this request; ``wait`` seconds
    until its lease runs out if its heartbeat stops."""

    def __init__(self, message: str, wait: float):
        super().__init__(message)
        self.wait = wait


def begin_attempt(session: Session, request: PushRequest, stage: str, task_id: str | None = None,
                  lease: dt.timedelta = ATTEMPT_LEASE, first: bool = False) -> Opened:
    """Open the audit row of a new attempt of ``stage`` (numbered from 1); returns it
    with the number of earlier attempts whose worker died (``interrupted``).

    A running attempt whose heartbeat (written every few seconds by the task
    running it) is younger than ``lease`` belongs to a live task: this message is
    a duplicate (re-published by the sweeper) or a redelivery while the first
    copy still runs (a Redis visibility timeout), so DuplicateTask is raised and
    the caller retries after the lease; it then finds the stage done or takes
    over. An attempt whose heartbeat stopped (its worker was killed) is closed
    as ``interrupted``, so the audit shows the crash instead of a gap. Callers
    lock the request row (``SELECT ... FOR UPDATE``) first, so two tasks cannot
    both get past here.

    ``first=True`` says the caller knows no attempt of this stage exists (the
    request has not reached the stage's state, which is entered in the same
    transaction as its first attempt), which saves the query.
    """
    prior = [] if first else session.scalars(
        select(StageAttempt).where(StageAttempt.request_id == request.id, StageAttempt.stage == stage)
    ).all()
    now = utcnow()
    for row in prior:
        if row.outcome == "running":
            age = now - _aware(row.progress_at or row.started_at)
            if age < lease:
                raise DuplicateTask(f"{stage} of request {request.id} is running in task {row.task_id}",
                                    wait=(lease - age).total_seconds())
    for row in prior:
        if row.outcome == "running":
            row.outcome = "interrupted"
            row.ended_at = utcnow()
            row.error_reason = "worker_lost"
            row.error_info = "The worker running this attempt stopped before finishing it."
    if first:
        # One INSERT, no unit-of-work flush; the row then joins the session as a
        # persistent object, so later changes to it are written as usual.
        now = utcnow()
        values = dict(request_id=request.id, stage=stage, attempt=1, task_id=task_id, started_at=now,
                      outcome="running", bytes_moved=0)
        new_id = session.execute(_INSERT_ATTEMPT, values).scalar_one()
        attempt = StageAttempt(id=new_id, ended_at=None, error_reason=None, error_info=None, progress_at=None,
                               retry_at=None, **values)
        make_transient_to_detached(attempt)
        session.add(attempt)
    else:
        attempt = StageAttempt(request_id=request.id, stage=stage, attempt=len(prior) + 1, task_id=task_id)
        session.add(attempt)
        session.flush()
    # How often this stage's worker died so far (for bounded redelivery), without another query.
    return Opened(attempt, sum(1 for row in prior if row.outcome == "interrupted"))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def end_attempt(
    attempt: StageAttempt,
    outcome: str,
    *,
    reason: str | None = None,
    info: str | None = None,
    bytes_moved: int | None = None,
    retry_at: dt.datetime | None = None,
) -> None:
    """Close an attempt row with its outcome (succeeded, retrying, failed, skipped)."""
    attempt.outcome = outcome
    attempt.ended_at = utcnow()
    attempt.error_reason = reason
    attempt.error_info = info
    attempt.retry_at = retry_at
    if bytes_moved is not None:
        attempt.bytes_moved = bytes_moved
