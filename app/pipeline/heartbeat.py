"""A running stage's proof of life: its attempt row's ``progress_at``, refreshed
by a background thread while the stage works.

Another delivery of the same stage (a duplicate, or a redelivery while this one
still runs) sees a fresh heartbeat and backs off; when a worker is killed the
heartbeat stops, and after ``PUSHWIRE_ATTEMPT_LEASE`` seconds a redelivery takes over.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterator

from app.models import StageAttempt, utcnow

log = logging.getLogger(__name__)


@contextmanager
def heartbeat(rt, attempt_id: int) -> Iterator[None]:
    """Refresh the attempt's heartbeat every ``PUSHWIRE_HEARTBEAT_INTERVAL`` seconds until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=_beat, args=(rt, attempt_id, stop), name=f"heartbeat-{attempt_id}",
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _beat(rt, attempt_id: int, stop: threading.Event) -> None:
    while not stop.wait(rt.settings.heartbeat_interval):
        try:
            with rt.db.session() as session:
                row = session.get(StageAttempt, attempt_id)
                if row is None or row.outcome != "running":
                    return
                row.progress_at = utcnow()
        except Exception:  # a missed beat is harmless; the next one may succeed
            log.warning("heartbeat of attempt %s failed", attempt_id, exc_info=True)
