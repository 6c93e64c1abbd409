"""Queue plumbing: task names, their queues, and how a push becomes a chain.

Task names and queues are a wire contract (pinned by a test): renaming one
strands messages already queued.
"""

from __future__ import annotations

import logging

from celery import chain

from app.models import PushRequest, utcnow

log = logging.getLogger(__name__)

STAGE = "pushwire.stage"
UPLOAD = "pushwire.upload"
CALLBACK = "pushwire.callback"
SWEEP = "pushwire.sweep"

ROUTES = {
    STAGE: {"queue": "staging"},
    UPLOAD: {"queue": "upload"},
    CALLBACK: {"queue": "callback"},
    SWEEP: {"queue": "maintenance"},
}
QUEUES = ("staging", "upload", "callback", "maintenance")


def push_chain(celery, request_id: int, staged: bool):
    """stage -> upload -> callback (or upload -> callback). Ids only, never tokens."""
    steps = [STAGE, UPLOAD, CALLBACK] if staged else [UPLOAD, CALLBACK]
    return chain(*(celery.signature(name, args=(request_id,), immutable=True, **ROUTES[name]) for name in steps))


def enqueue_push(rt, request_id: int, staged: bool) -> bool:
    """Publish the chain of a committed request and mark it enqueued.

    If the broker is down the request stays committed with ``enqueued_at`` empty
    and the sweeper publishes it later: an accepted push is never lost.
    """
    try:
        push_chain(rt.celery, request_id, staged).apply_async()
    except Exception:  # broker unreachable, connection reset, ...
        log.exception("could not enqueue request %s; the sweeper will retry", request_id)
        return False
    with rt.db.session() as session:
        session.query(PushRequest).filter(PushRequest.id == request_id).update(
            {"enqueued_at": utcnow()}, synchronize_session=False
        )
    return True


def enqueue_callback(rt, request_id: int, countdown: float = 0) -> None:
    rt.celery.signature(CALLBACK, args=(request_id,), immutable=True, **ROUTES[CALLBACK]).apply_async(
        countdown=countdown
    )
