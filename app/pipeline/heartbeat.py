"""A running stage's proof of life: its attempt row's ``progress_at``, refreshed
while the stage works.

Another delivery of the same stage (a duplicate, or a redelivery while this one
still runs) sees a fresh heartbeat and backs off; when a worker is killed the
heartbeat stops, and after ``PUSHWIRE_ATTEMPT_LEASE`` seconds a redelivery takes over.

One thread per process beats for every attempt running in it, with one UPDATE
per interval, instead of a thread and a transaction per attempt: a thread-pool
worker with 200 uploads in flight writes one statement every
``PUSHWIRE_HEARTBEAT_INTERVAL`` seconds, and a text post that takes milliseconds
starts no thread at all.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import update

from app.models import StageAttempt, utcnow

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


class Heartbeats:
    """The attempts running in this process, and the thread that keeps them alive."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self._lock = threading.Lock()
        self._running: dict[int, int] = {}  # attempt id -> how many blocks hold it
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def add(self, attempt_id: int) -> None:
        with self._lock:
            self._running[attempt_id] = self._running.get(attempt_id, 0) + 1
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()  # a forked child needs its own thread
                self._thread = threading.Thread(target=self._run, name="pushwire-heartbeats", daemon=True)
                self._thread.start()

    def discard(self, attempt_id: int) -> None:
        with self._lock:
            left = self._running.get(attempt_id, 0) - 1
            if left > 0:
                self._running[attempt_id] = left
            else:
                self._running.pop(attempt_id, None)

    def running(self) -> list[int]:
        with self._lock:
            return list(self._running)

    def beat(self) -> int:
        """Refresh every running attempt now; returns how many rows were written."""
        ids = self.running()
        if not ids:
            return 0
        with self.rt.db.session() as session:
            result = session.execute(
                update(StageAttempt)
                .where(StageAttempt.id.in_(ids), StageAttempt.outcome == "running")
                .values(progress_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return result.rowcount

    def _run(self) -> None:
        stop = threading.Event()  # never set: the thread lives as long as the process
        while not stop.wait(self.rt.settings.heartbeat_interval):
            try:
                self.beat()
            except Exception:  # a missed beat is harmless; the next one may succeed
                log.warning("heartbeat of attempts %s failed", self.running(), exc_info=True)


@contextmanager
def heartbeat(rt: Runtime, attempt_id: int) -> Iterator[None]:
    """Keep the attempt's heartbeat fresh (every ``PUSHWIRE_HEARTBEAT_INTERVAL`` seconds) until the block ends."""
    beats = rt.heartbeats
    beats.add(attempt_id)
    try:
        yield
    finally:
        beats.discard(attempt_id)


def at_most_once_a_second(record):
    """``record`` wrapped so that calls within a second of the last one that ran are
    dropped (progress reports arrive far more often than the audit needs them)."""
    last = [0.0]

    def throttled(*args) -> None:
        now = time.monotonic()
        if now - last[0] < 1.0:
            return
        last[0] = now
        record(*args)

    return throttled


def bytes_writer(rt: Runtime, attempt_id: int):
    """``write(total)``: record the bytes an attempt has moved in its audit row, at most
    once a second (progress on long downloads and uploads)."""

    def write(total: int) -> None:
        with rt.db.session() as session:
            row = session.get(StageAttempt, attempt_id)
            row.bytes_moved, row.progress_at = total, utcnow()

    return at_most_once_a_second(write)
