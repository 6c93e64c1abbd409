"""A worker's SIGTERM, bounded: running tasks get ``PUSHWIRE_SHUTDOWN_GRACE``
seconds to finish, then the rest is handed back to the broker.

Celery's own SIGTERM (warm shutdown) stops taking messages and waits for the
running tasks however long they take: a two-hour upload would hold a deploy for
two hours, until the supervisor's SIGKILL. Here SIGTERM still starts that warm
shutdown, and if tasks are still running when the grace period ends, the worker
moves to Celery's cold shutdown (as on SIGQUIT): the running tasks are stopped
and, their messages being acknowledged only at the end (``task_acks_late``), go
back to the queue. The next worker resumes each from its recorded progress once
the attempt's heartbeat is older than ``PUSHWIRE_ATTEMPT_LEASE`` (the attempt is
then closed as ``interrupted``). Keep the grace below the supervisor's own (Kubernetes
30 s, systemd 90 s, Heroku 30 s) so the hand-back happens before a SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from celery import platforms, signals

log = logging.getLogger(__name__)


def install(grace: float) -> None:
    """Bound every worker started in this process (connected once)."""

    def on_ready(sender=None, **_kw) -> None:
        _bound_sigterm(grace)

    signals.worker_ready.connect(on_ready, weak=False, dispatch_uid="pushwire.bounded_shutdown")


def _bound_sigterm(grace: float) -> None:
    warm = platforms.signals["SIGTERM"]  # Celery's warm-shutdown handler, installed at start
    armed = threading.Event()

    def hand_back() -> None:
        log.warning("shutdown: tasks still running after %g s; handing them back to the broker", grace)
        os.kill(os.getpid(), signal.SIGQUIT)  # Celery's cold shutdown: cancel, requeue, exit

    def on_term(signum, frame) -> None:
        if not armed.is_set():
            armed.set()
            timer = threading.Timer(grace, hand_back)
            timer.daemon = True  # the process exits as soon as the tasks are done
            timer.start()
        if callable(warm):
            warm(signum, frame)

    platforms.signals["SIGTERM"] = on_term
