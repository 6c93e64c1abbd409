"""The periodic sweeper (beat): nothing accepted is left behind.

* requests committed but never published to the broker (broker down at accept
  time, or the gateway died right after the commit) are enqueued;
* callbacks whose next attempt is due (long retry delays live in the database,
  not in broker ETAs) are enqueued;
* requests in flight that show no activity for ``PUSHWIRE_STALL_AFTER`` seconds
  (their message was lost: a broker restarted without persistence, a worker
  host vanished with unacknowledged messages) are enqueued again from the stage
  they reached. A copy that meets a live task backs off (DuplicateTask), so this
  never runs a stage twice at once;
* parked requests (state ``waiting``) due within the look-ahead are claimed and
  published with a countdown to their ``resume_at``, so a scheduled push runs
  at its time, not at the next tick. A claim is one UPDATE over rows picked
  with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serializes writers and
  the UPDATE re-checks ``enqueued_at IS NULL``), so two sweepers never publish
  one request twice. A claimed request still waiting ``PUSHWIRE_STALL_AFTER``
  seconds after it was due lost its message and is claimed again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt
import logging

from sqlalchemy import and_, func, or_, select, update

from app import progress as sections
from app.models import PushRequest, StageAttempt, utcnow
from app.pipeline.download import needs_download
from app.states import DELIVERING_CALLBACK, PROCESSING, QUEUED, STAGING, TRANSCODING, UPLOADING, WAITING

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
    counts["resumed"] = resume_due(rt)
    counts["pruned"] = _prune_expired(rt, now)
    if any(counts.values()):
        log.info("sweep: %s", counts)
    return counts


#: Most parked requests claimed by one statement, and statements per sweep.
CLAIM_BATCH, CLAIM_ROUNDS = 1000, 50


def look_ahead(settings) -> float:
    """How far ahead of ``resume_at`` the sweeper publishes a parked request: at
    least two sweep intervals (so none is late for want of a tick), at most the
    longest countdown a message may carry."""
    from app.broker.countdowns import LONGEST_COUNTDOWN

    return min(max(settings.park_after, 2 * settings.sweep_interval), LONGEST_COUNTDOWN)


def claim_due(rt: Runtime, now: dt.datetime, ahead: float, limit: int = CLAIM_BATCH) -> list:
    """Claim parked requests due by ``now + ahead`` (and claimed ones whose message
    was lost): returns rows (id, resume_stage, resume_at, callback_url)."""
    t = PushRequest.__table__
    lost = now - dt.timedelta(seconds=rt.settings.stall_after)
    claimable = and_(t.c.state == WAITING, t.c.resume_at <= now + dt.timedelta(seconds=ahead),
                     or_(t.c.enqueued_at.is_(None), and_(t.c.enqueued_at < lost, t.c.resume_at < lost)))
    picked = (select(t.c.id).where(claimable).order_by(t.c.resume_at).limit(limit)
              .with_for_update(skip_locked=True))  # rendered on PostgreSQL only
    stmt = (update(t).where(t.c.id.in_(picked.scalar_subquery()), claimable).values(enqueued_at=now)
            .returning(t.c.id, t.c.resume_stage, t.c.resume_at, t.c.callback_url))
    with rt.db.engine.begin() as conn:
        return conn.execute(stmt).all()


def resume_due(rt: Runtime) -> int:
    """Claim and publish every parked request due within the look-ahead."""
    from app.broker.publish import publish_resume

    ahead, total = look_ahead(rt.settings), 0
    for _ in range(CLAIM_ROUNDS):
        rows = claim_due(rt, utcnow(), ahead)
        failed: list[int] = []
        try:
            with rt.celery.producer_or_acquire() as producer:
                for row in rows:
                    countdown = (_aware(row.resume_at) - utcnow()).total_seconds()
                    try:
                        publish_resume(rt.celery, row.id, row.resume_stage or "upload", bool(row.callback_url),
                                       countdown, producer=producer)
                    except Exception:
                        log.exception("could not publish parked request %s; the sweeper will retry", row.id)
                        failed.append(row.id)
        except Exception:  # no producer: the broker is unreachable
            log.exception("could not publish %d parked requests; the sweeper will retry", len(rows))
            failed = [row.id for row in rows]
        if failed:  # unclaim, so the next sweep publishes them
            with rt.db.engine.begin() as conn:
                conn.execute(update(PushRequest).where(PushRequest.id.in_(failed)).values(enqueued_at=None))
        total += len(rows) - len(failed)
        if failed or len(rows) < CLAIM_BATCH:
            break
    return total


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _prune_expired(rt: Runtime, now: dt.datetime) -> int:
    """Expired connect flows, connection tokens and magic links (issue 18: bounded tables)."""
    from app.connect.state import prune

    with rt.db.session() as session:
        return prune(session, now)


IN_FLIGHT = (QUEUED, STAGING, TRANSCODING, UPLOADING, PROCESSING)


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
            select(PushRequest.id, PushRequest.payload, PushRequest.progress)
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
    for request_id, payload, progress in rows:
        with rt.db.session() as session:  # claim: only one sweeper re-publishes it
            claimed = session.execute(
                update(PushRequest).where(PushRequest.id == request_id, PushRequest.enqueued_at < quiet)
                .values(enqueued_at=now)
            ).rowcount
        if claimed:
            log.warning("request %s stalled; enqueuing it again", request_id)
            # A video not yet prepared gets the whole chain: the download task skips a
            # video already staged, and the transcode task picks up where it stopped.
            prepared = sections.media_done(progress)
            rt.enqueue(request_id, staged=needs_download(payload) and not prepared,
                       callback=bool(payload.get("callback_url")))
            count += 1
    return count
