"""The Celery tasks: thin shells around ``app.pipeline``.

Each takes a request id only (no tokens in broker messages or Flower), re-reads
the row, and is safe to run twice: the state machine and recorded progress
decide what is left to do.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import Ignore

from app.broker.names import CALLBACK, DOWNLOAD, DOWNLOAD_LEGACY, SWEEP, TRANSCODE, UPLOAD
from app.faults import database_unavailable as db_unavailable
from app.faults import outage_backoff as db_backoff
from app.pipeline.callbacks import run_callback
from app.pipeline.download import run_download
from app.pipeline.outcome import Parked, Retry, defer, fail_unexpectedly
from app.pipeline.sweep import sweep
from app.pipeline.transcode import run_transcode
from app.pipeline.upload import run_upload
from workers.context import runtime

log = logging.getLogger(__name__)

# Retries are counted in the audit (stage_attempts) and bounded there, so
# Celery's own counter is only a backstop.
RETRY_BACKSTOP = 1000


UNEXPECTED_RETRIES = 3


def _run(task, step, request_id: int, stage: str, **kw) -> str:
    """Run a pipeline step; short planned waits go back to the broker as a
    countdown, long ones park the request in the database (``defer``: the chain
    stops here and the sweeper publishes it again when due), and an
    unexpected error (a bug, the database briefly gone) is retried a few times
    and then recorded as the request's failure, so no request hangs silently."""
    rt = runtime(task.app)
    try:
        return step(rt, request_id, task.request.id, **kw)
    except Retry as exc:
        try:
            countdown = defer(rt, request_id, stage, exc)
        except Parked as parked:
            log.info("%s", parked)
            raise Ignore() from None  # acknowledged; nothing of this push stays in the broker
        raise task.retry(countdown=countdown, exc=exc, max_retries=RETRY_BACKSTOP)
    except Exception as exc:
        if db_unavailable(exc):  # a passing outage, not this request's fault: not counted against it
            log.warning("%s: database unavailable for request %s; retrying", task.name, request_id)
            raise task.retry(countdown=db_backoff(task.request.retries), exc=exc, max_retries=RETRY_BACKSTOP)
        log.exception("%s failed unexpectedly for request %s", task.name, request_id)
        if task.request.retries < UNEXPECTED_RETRIES:
            raise task.retry(countdown=2 ** task.request.retries, exc=exc, max_retries=RETRY_BACKSTOP)
        fail_unexpectedly(rt, request_id, task.name, exc)
        return "failed"


@shared_task(name=DOWNLOAD, bind=True, max_retries=RETRY_BACKSTOP)
def download(self, request_id: int) -> str:
    """Download the video into staging."""
    return _run(self, run_download, request_id, "stage")


@shared_task(name=DOWNLOAD_LEGACY, bind=True, max_retries=RETRY_BACKSTOP)
def stage(self, request_id: int) -> str:
    """The download step under its former name: messages queued before the rename."""
    return _run(self, run_download, request_id, "stage")


@shared_task(name=TRANSCODE, bind=True, max_retries=RETRY_BACKSTOP)
def transcode(self, request_id: int) -> str:
    """Probe the staged video and pass it through, remux, transcode or refuse it
    (its own queue and fleet: the CPU-bound stage). Progress shows in Flower as
    a PROGRESS state with the percent done."""
    def report(percent: float, seconds: float) -> None:
        meta = {"request_id": request_id, "percent": percent, "seconds_done": round(seconds, 1)}
        self.update_state(state="PROGRESS", meta=meta)
        try:
            # Flower shows it as state PROGRESS (as the byte progress of workers.signals)
            self.send_event("task-progress", retry=False, result=f"transcode: {percent:.0f}%", stage="transcode",
                            **meta)
        except Exception:  # events are best effort
            log.debug("progress event not sent", exc_info=True)

    return _run(self, run_transcode, request_id, "transcode", report=report)


@shared_task(name=UPLOAD, bind=True, max_retries=RETRY_BACKSTOP)
def upload(self, request_id: int) -> str:
    """Run the provider upload/publish."""
    return _run(self, run_upload, request_id, "upload")


@shared_task(name=CALLBACK, bind=True)
def callback(self, request_id: int) -> str:
    """Deliver the callback once; schedule the next attempt when it failed."""
    rt = runtime(self.app)
    try:
        delay = run_callback(rt, request_id)
    except Exception as exc:
        if not db_unavailable(exc):
            raise
        log.warning("callback: database unavailable for request %s; retrying", request_id)
        raise self.retry(countdown=db_backoff(self.request.retries), exc=exc, max_retries=RETRY_BACKSTOP)
    if delay is not None and delay <= 300:
        # Short waits ride on the broker; long ones are picked up by the sweeper.
        self.apply_async(args=(request_id,), countdown=delay)
    return "scheduled" if delay is not None else "done"


@shared_task(name=SWEEP, bind=True)
def sweep_task(self) -> dict:
    """Enqueue lost requests and due callbacks (run by beat)."""
    return sweep(runtime(self.app))
