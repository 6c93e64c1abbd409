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

import logging
import time

from celery import signals

from app.broker.names import STEP_NAMES

log = logging.getLogger(__name__)

PREFIX = "pushwire."
FINAL_UPLOAD_RESULTS = ("succeeded", "failed", "unconfirmed")
MB = 1024 * 1024
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
    from workers.shutdown import install as bound_shutdown

    bound_shutdown(settings.shutdown_grace)


def _stage(task) -> str | None:
    """The step's name in metrics and logs (``stage`` for the download step, whichever
    of its two task names ran)."""
    name = getattr(task, "name", "") or ""
    return STEP_NAMES.get(name) or (name[len(PREFIX):] if name.startswith(PREFIX) else None)


def _request_id(args) -> int | None:
    return args[0] if args and isinstance(args[0], int) else None


def _prerun(task_id=None, task=None, args=None, **_kw) -> None:
    """Start the clock and the log context; the pipeline adds the request's fields
    (``app.logs.bind_request``) once it has read the row, so no query happens here."""
    stage = _stage(task)
    if stage is None:
        return
    from app.logs import bind, clear

    clear()
    task.request.pushwire_started = time.monotonic()  # this run's own context: nothing shared
    bind(task_id=task_id, stage=stage, attempt=task.request.retries + 1)


def _postrun(task_id=None, task=None, args=None, retval=None, state=None, **_kw) -> None:
    stage = _stage(task)
    if stage is None:
        return
    from app.logs import clear, current_context

    try:
        started = getattr(task.request, "pushwire_started", None)
        result = retval if isinstance(retval, str) else ("retry" if state == "RETRY" else str(state).lower())
        _record(stage, result, current_context().get("provider") or "unknown", started)
    except Exception:
        log.warning("could not record metrics of %s", task_id, exc_info=True)
    finally:
        clear()


def _record(stage: str, result: str, provider: str, started: float | None) -> None:
    """Durations and final outcomes; bytes and callback outcomes are counted by the pipeline."""
    from app.ops.metrics import PUSHES, STAGE_DURATION

    if started is not None:
        STAGE_DURATION.labels(stage, result).observe(time.monotonic() - started)
    if (stage == "upload" and result in FINAL_UPLOAD_RESULTS) or (stage == "stage" and result == "failed"):
        PUSHES.labels(provider, result).inc()


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
