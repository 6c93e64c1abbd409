"""The periodic sweeper (beat): nothing accepted is left behind.

* requests committed but never published to the broker (broker down at accept
  time, or the gateway died right after the commit) are enqueued;
* callbacks whose next attempt is due (long retry delays live in the database,
  not in broker ETAs) are enqueued;
* requests in flight that show no activity for ``PUSHWIRE_STALL_AFTER`` seconds
  (their message was lost: a broker restarted without persistence, a worker
  host vanished with unacknowledged messages) are enqueued again from the stage
  they reached. A copy that meets a live task backs off (DuplicateTask), so this
  never runs a stage twice at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt
import logging

from sqlalchemy import func, select, update

from app.models import PushRequest, StageAttempt, utcnow
from app.pipeline.download import needs_download
from app.states import DELIVERING_CALLBACK, PROCESSING, QUEUED, STAGING, UPLOADING

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


def sweep(rt: Runtime) -> dict:
    """One pass; returns counts for logs and tests."""
    counts = {"requeued": 0, "callbacks": 0}
    now = utcnow()
    stale = now - dt.timedelta(seconds=rt.settings.requeue_after)
    with rt.db.session() as session:
        lost = session.execute(
            select(PushRequest.id, PushRequest.payload).where(
                PushRequest.state == QUEUED, PushRequest.enqueued_at.is_(None), PushRequest.created_at < stale
            ).limit(500)
        ).all()
    for request_id, payload in lost:
        if rt.enqueue(request_id, staged=needs_download(payload), mark_enqueued=True,
                      callback=bool(payload.get("callback_url"))):
            counts["requeued"] += 1
    with rt.db.session() as session:
        due = session.scalars(
            select(PushRequest.id).where(
                PushRequest.state == DELIVERING_CALLBACK,
                PushRequest.next_callback_at <= now - dt.timedelta(seconds=5),
            ).limit(500)
        ).all()
    for request_id in due:
        rt.enqueue_callback(request_id)
        counts["callbacks"] += 1
    counts["stalled"] = _requeue_stalled(rt, now)
    if any(counts.values()):
        log.info("sweep: %s", counts)
    return counts




IN_FLIGHT = (QUEUED, STAGING, UPLOADING, PROCESSING)


def _requeue_stalled(rt: Runtime, now: dt.datetime) -> int:
    """Re-publish requests in flight with no sign of life since ``stall_after``."""
    quiet = now - dt.timedelta(seconds=rt.settings.stall_after)
    last_seen = (
        select(StageAttempt.request_id,
               func.max(func.coalesce(StageAttempt.progress_at, StageAttempt.started_at)).label("seen"),
               func.max(func.coalesce(StageAttempt.ended_at, StageAttempt.started_at)).label("ended"),
               func.max(StageAttempt.retry_at).label("retry_at"))
        .group_by(StageAttempt.request_id).subquery()
    )
    with rt.db.session() as session:
        rows = session.execute(
            select(PushRequest.id, PushRequest.payload, PushRequest.staged_key)
            .outerjoin(last_seen, last_seen.c.request_id == PushRequest.id)
            .where(PushRequest.state.in_(IN_FLIGHT), PushRequest.outcome.is_(None),
                   PushRequest.enqueued_at.is_not(None), PushRequest.enqueued_at < quiet,
                   PushRequest.updated_at < quiet,
                   (last_seen.c.seen.is_(None)) | (last_seen.c.seen < quiet),
                   (last_seen.c.ended.is_(None)) | (last_seen.c.ended < quiet),
                   (last_seen.c.retry_at.is_(None)) | (last_seen.c.retry_at < quiet))
            .limit(200)
        ).all()
    count = 0
    for request_id, payload, staged_key in rows:
        with rt.db.session() as session:  # claim: only one sweeper re-publishes it
            claimed = session.execute(
                update(PushRequest).where(PushRequest.id == request_id, PushRequest.enqueued_at < quiet)
                .values(enqueued_at=now)
            ).rowcount
        if claimed:
            log.warning("request %s stalled; enqueuing it again", request_id)
            rt.enqueue(request_id, staged=needs_download(payload) and not staged_key,
                       callback=bool(payload.get("callback_url")))
            count += 1
    return count
