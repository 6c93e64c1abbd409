"""Beat tasks of the Stream API: thin shells around ``app.stream.producers``.

Names are a wire contract (``app.broker.names``); the beat schedule there runs
them on the ``maintenance`` queue.
"""

from __future__ import annotations

from celery import shared_task

from app.broker.names import (
    STREAM_CHECK_VANISHED as CHECK_VANISHED,
    STREAM_EXPIRE_MEDIA as EXPIRE_MEDIA,
    STREAM_POLL_COMMENTS as POLL_COMMENTS,
    STREAM_PRUNE_EVENTS as PRUNE_EVENTS,
)
from app.stream import producers
from workers.context import runtime


@shared_task(name=EXPIRE_MEDIA, bind=True)
def expire_twitter_media(self) -> int:
    """``delete`` for X videos never attached to a post, once their media expired."""
    return producers.expire_twitter_media(runtime(self.app))


@shared_task(name=CHECK_VANISHED, bind=True)
def check_vanished(self) -> int:
    """``delete`` for pushed videos the provider no longer has."""
    return producers.check_vanished(runtime(self.app))


@shared_task(name=POLL_COMMENTS, bind=True)
def poll_comments(self) -> int:
    """``comment`` for each new comment on recently pushed videos."""
    return producers.poll_comments(runtime(self.app))


@shared_task(name=PRUNE_EVENTS, bind=True)
def prune_events(self) -> int:
    """Forget events past the retention period."""
    return producers.prune_events(runtime(self.app))
