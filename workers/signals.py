"""Celery signal handlers: log context, metrics and progress, without touching the pipeline.

``connect(app)`` (called at the end of ``make_celery``) wires, once per process:

* ``setup_logging`` -> ``app.logs.configure_logging`` (JSON lines, redaction);
* ``task_prerun`` -> binds ``request_token``, ``site``, ``provider``, ``stage``,
  ``attempt`` for every log line of the task, read from the request row;
* ``task_postrun`` -> stage duration, pushes by outcome, bytes moved, callback
  outcomes (the task's return value says what happened; rows give the detail);
* ``task_retry`` -> retries by stage and reason;
* writes of ``StageAttempt.bytes_moved`` (the pipeline's throttled progress
  reports) -> a ``task-progress`` event, which Flower shows as state PROGRESS.

Every handler swallows its own errors: observability never fails a task.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from celery import signals

log = logging.getLogger(__name__)

PREFIX = "pushwire."
FINAL_UPLOAD_RESULTS = ("succeeded", "failed", "unconfirmed")
MB = 1024 * 1024
_started: dict[str, tuple[float, dt.datetime, dict]] = {}
_connected: list = []


def connect(app) -> None:
    """Connect the handlers (idempotent; the first app's settings configure logging)."""
    if _connected:
        return
    _connected.append(app)
    settings = app.pushwire_settings

    def setup_logging(**_kw):
        from app.logs import configure_logging

        configure_logging(settings)

    signals.setup_logging.connect(setup_logging, weak=False, dispatch_uid="pushwire.setup_logging")
    signals.task_prerun.connect(_prerun, weak=False, dispatch_uid="pushwire.prerun")
    signals.task_postrun.connect(_postrun, weak=False, dispatch_uid="pushwire.postrun")
    signals.task_retry.connect(_retry, weak=False, dispatch_uid="pushwire.retry")
    _listen_progress()


def _stage(task) -> str | None:
    name = getattr(task, "name", "") or ""
    return name[len(PREFIX):] if name.startswith(PREFIX) else None


def _request_id(args) -> int | None:
    return args[0] if args and isinstance(args[0], int) else None


def _prerun(task_id=None, task=None, args=None, **_kw) -> None:
    stage = _stage(task)
    if stage is None:
        return
    try:
        from app.logs import bind, clear

        clear()
        info = _request_info(task, _request_id(args))
        _started[task_id] = (time.monotonic(), _utcnow(), info)
        bind(task_id=task_id, stage=stage, attempt=task.request.retries + 1, **info)
    except Exception:
        log.warning("could not set the log context of %s", task_id, exc_info=True)


def _postrun(task_id=None, task=None, args=None, retval=None, state=None, **_kw) -> None:
    stage = _stage(task)
    if stage is None:
        return
    try:
        started, started_at, info = _started.pop(task_id, (None, None, {}))
        result = retval if isinstance(retval, str) else ("retry" if state == "RETRY" else str(state).lower())
        _record(task, stage, result, _request_id(args), info, started, started_at)
    except Exception:
        log.warning("could not record metrics of %s", task_id, exc_info=True)
    finally:
        from app.logs import clear

        clear()


def _record(task, stage, result, request_id, info, started, started_at) -> None:
    from app.ops.metrics import BYTES_MOVED, CALLBACKS, PUSHES, STAGE_DURATION

    if started is not None:
        STAGE_DURATION.labels(stage, result).observe(time.monotonic() - started)
    provider = info.get("provider") or "unknown"
    if request_id is None or result == "skipped":
        return
    if (stage == "upload" and result in FINAL_UPLOAD_RESULTS) or (stage == "stage" and result == "failed"):
        PUSHES.labels(provider, result).inc()
    if stage in ("stage", "upload"):
        moved = _bytes_moved(task, request_id, stage)
        if moved:
            BYTES_MOVED.labels(provider, stage).inc(moved)
    elif stage == "callback" and started_at is not None:
        for outcome in _callback_outcomes(task, request_id, started_at):
            CALLBACKS.labels(outcome).inc()


def _retry(sender=None, reason=None, **_kw) -> None:
    stage = _stage(sender)
    if stage is None:
        return
    try:
        from app.ops.metrics import RETRIES

        cause = getattr(reason, "exc", None) or reason
        RETRIES.labels(stage, getattr(cause, "reason", None) or type(cause).__name__).inc()
    except Exception:
        log.warning("could not count a retry", exc_info=True)


# -- reading the rows -----------------------------------------------------------


def _db(task):
    from workers.context import runtime

    return runtime(task.app).db


def _request_info(task, request_id: int | None) -> dict:
    """request_token, site and provider of the request (empty when unknown)."""
    if request_id is None:
        return {}
    from sqlalchemy import select

    from app.models import PushRequest, Site

    with _db(task).session() as session:
        row = session.execute(
            select(PushRequest.token, PushRequest.provider, Site.name)
            .join(Site, Site.id == PushRequest.site_id).where(PushRequest.id == request_id)
        ).first()
    return {"request_token": row[0], "provider": row[1], "site": row[2]} if row else {}


def _bytes_moved(task, request_id: int, stage: str) -> int:
    """Bytes of the latest attempt of ``stage`` (the one this task just ran)."""
    from sqlalchemy import select

    from app.models import StageAttempt

    with _db(task).session() as session:
        return session.scalar(
            select(StageAttempt.bytes_moved).where(StageAttempt.request_id == request_id, StageAttempt.stage == stage)
            .order_by(StageAttempt.id.desc()).limit(1)
        ) or 0


def _callback_outcomes(task, request_id: int, since: dt.datetime) -> list[str]:
    """Outcomes of the callback attempts this task made."""
    from sqlalchemy import select

    from app.models import CallbackAttempt

    with _db(task).session() as session:
        return list(session.scalars(
            select(CallbackAttempt.outcome).where(CallbackAttempt.request_id == request_id,
                                                  CallbackAttempt.at >= since)
        ))


def _utcnow() -> dt.datetime:
    from app.models import utcnow

    return utcnow()


# -- progress as a custom task state ---------------------------------------------


def _listen_progress() -> None:
    from sqlalchemy import event

    from app.models import StageAttempt

    if not event.contains(StageAttempt.bytes_moved, "set", _on_bytes_moved):
        event.listen(StageAttempt.bytes_moved, "set", _on_bytes_moved)


def _on_bytes_moved(target, value, _old, _initiator) -> None:
    """Publish ``task-progress`` (Flower: state PROGRESS, result "upload: 3.0 MB")."""
    if not value:
        return
    try:
        from celery import current_task

        task = current_task._get_current_object() if current_task else None
        if task is None or _stage(task) is None or not task.request.id:
            return
        task.send_event("task-progress", retry=False, result=f"{target.stage}: {value / MB:.1f} MB",
                        bytes_done=int(value), stage=target.stage)
    except Exception:
        log.debug("could not publish progress", exc_info=True)
