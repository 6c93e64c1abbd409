"""The periodic sweeper (beat): nothing accepted is left behind.

* requests committed but never published to the broker (broker down at accept
  time, or the gateway died right after the commit) are enqueued;
* callbacks whose next attempt is due (long retry delays live in the database,
  not in broker ETAs) are enqueued.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from app.models import PushRequest, utcnow
from app.states import DELIVERING_CALLBACK, QUEUED

log = logging.getLogger(__name__)


def sweep(rt) -> dict:
    """One pass; returns counts for logs and tests."""
    from workers.pipeline import enqueue_callback, enqueue_push

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
        if enqueue_push(rt, request_id, staged=bool(payload.get("video_url"))):
            counts["requeued"] += 1
    with rt.db.session() as session:
        due = session.scalars(
            select(PushRequest.id).where(
                PushRequest.state == DELIVERING_CALLBACK,
                PushRequest.next_callback_at <= now - dt.timedelta(seconds=5),
            ).limit(500)
        ).all()
    for request_id in due:
        enqueue_callback(rt, request_id)
        counts["callbacks"] += 1
    if any(counts.values()):
        log.info("sweep: %s", counts)
    return counts


