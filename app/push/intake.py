"""Group commit for the gateway: accepted pushes are written and published in batches.

Every request thread of a gateway process hands its validated push to the
process's intake thread and waits. The intake thread takes whatever is waiting
(up to ``PUSHWIRE_INTAKE_BATCH``), writes all of it in one transaction (one
multi-row INSERT of the requests, one of their audit rows, one COMMIT),
publishes each chain through one broker producer, and only then releases the
waiting threads. Under load that is one commit and one producer checkout for
many pushes instead of one each; an idle gateway sends a lone push through at
once, with no waiting for company.

The guarantees are the ones of the direct path: a push is answered only after
its row is committed and its chain published; a publish that fails clears
``enqueued_at`` so the sweeper publishes it later; a batch that fails to commit
is retried one push at a time, so a single bad row fails only its own request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import logging
import os
import queue
import threading

from sqlalchemy import update

from app.models import PushRequest
from app.broker.publish import publish_chain
from app.push.services import Accepted, create_requests

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

_REQUESTS = PushRequest.__table__

#: How long a request thread waits for its batch before answering 503.
WAIT_SECONDS = 60.0


class IntakeUnavailable(Exception):
    """The intake thread did not finish the push in time (the database is stuck).

    ``written_maybe`` False: the push was withdrawn before the intake took it, so
    nothing was stored; True: it was being written, so it may have been accepted."""

    def __init__(self, message: str, written_maybe: bool):
        super().__init__(message)
        self.written_maybe = written_maybe


class _Ticket:
    __slots__ = ("row", "staged", "callback", "done", "result", "error", "lock", "state")

    def __init__(self, row: dict, staged: bool, callback: bool):
        self.row, self.staged, self.callback = row, staged, callback
        self.done = threading.Event()
        self.result: Accepted | None = None
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.state = "waiting"  # -> "taken" by the intake thread, or "withdrawn" by a request that gave up

    def take(self) -> bool:
        with self.lock:
            if self.state == "waiting":
                self.state = "taken"
            return self.state == "taken"

    def withdraw(self) -> bool:
        with self.lock:
            if self.state == "waiting":
                self.state = "withdrawn"
            return self.state == "withdrawn"


class Intake:
    """The gateway process's intake thread and its queue."""

    def __init__(self, rt: Runtime, max_batch: int):
        self.rt = rt
        self.max_batch = max(1, max_batch)
        self._queue: queue.SimpleQueue[_Ticket] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.batches = 0  # how many transactions were written (tests and the bench read it)

    def accept(self, row: dict, staged: bool, callback: bool) -> Accepted:
        """Persist and publish one push (``row``: the push_requests columns); blocks until done."""
        ticket = _Ticket(row, staged, callback)
        self._ensure_thread()
        self._queue.put(ticket)
        if not ticket.done.wait(WAIT_SECONDS):
            if ticket.withdraw():  # never taken: it will not be written, a retry cannot duplicate it
                raise IntakeUnavailable("the push was not written in time", written_maybe=False)
            if not ticket.done.wait(WAIT_SECONDS):
                raise IntakeUnavailable("the push was being written when time ran out", written_maybe=True)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()  # a forked gunicorn worker starts its own
                self._thread = threading.Thread(target=self._run, name="pushwire-intake", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch = [ticket for ticket in batch if ticket.take()]  # skip pushes their requests withdrew
            if not batch:
                continue
            try:
                self._handle(batch)
            except BaseException as exc:  # never let the thread die with requests waiting
                log.exception("intake batch of %d failed", len(batch))
                for ticket in batch:
                    if not ticket.done.is_set():
                        ticket.error = exc
                        ticket.done.set()

    def _handle(self, batch: list[_Ticket]) -> None:
        try:
            self._write(batch)
        except Exception:
            if len(batch) == 1:
                raise
            log.warning("intake batch of %d failed to commit; writing each push alone", len(batch), exc_info=True)
            for ticket in batch:
                try:
                    self._write([ticket])
                except Exception as exc:
                    ticket.error = exc
        written = [t for t in batch if t.error is None]
        self._publish(written)
        for ticket in batch:
            ticket.done.set()

    def _write(self, batch: list[_Ticket]) -> None:
        # Once more on a fresh connection if a restarted database cut the first one
        # before COMMIT (nothing was applied then).
        accepted = self.rt.db.write(lambda conn: create_requests(conn, [t.row for t in batch]))
        self.batches += 1
        for ticket, result in zip(batch, accepted):
            ticket.result = result

    def _publish(self, written: list[_Ticket]) -> None:
        """Publish each chain through one producer; clear enqueued_at of those that failed."""
        if not written:
            return
        failed: list[int] = []
        celery = self.rt.celery
        try:
            with celery.producer_or_acquire() as producer:
                for ticket in written:
                    try:
                        publish_chain(celery, ticket.result.id, ticket.staged, ticket.callback, producer=producer)
                    except Exception:
                        log.exception("could not enqueue request %s; the sweeper will retry", ticket.result.id)
                        failed.append(ticket.result.id)
        except Exception:  # no producer at all: the broker is unreachable
            log.exception("could not enqueue %d requests; the sweeper will retry", len(written))
            failed = [t.result.id for t in written]
        if failed:
            try:
                with self.rt.db.engine.begin() as conn:
                    conn.execute(update(_REQUESTS).where(_REQUESTS.c.id.in_(failed)).values(enqueued_at=None))
            except Exception:  # the pushes are stored: the stall sweep publishes them (PUSHWIRE_STALL_AFTER)
                log.exception("could not mark %d requests for the sweeper", len(failed))
