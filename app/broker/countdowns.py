"""No broker countdown outlives the broker's patience.

A Redis broker hands an unacknowledged message to another worker after the
visibility timeout, and a worker holds a message with an ETA unacknowledged
until it runs it. A countdown longer than the visibility timeout minus the task
time limit could therefore run twice (the first copy still waiting or running
when Redis delivers the second). Long waits are parked in the database instead
(``app.pipeline.outcome.defer``); this module holds the bound and enforces it on
every publish: ``GuardedCelery.send_task`` is the one door of ``apply_async``,
``retry``, signatures and chains.
"""

from __future__ import annotations

import datetime as dt

from celery import Celery

TASK_TIME_LIMIT = 6 * 3600
VISIBILITY_TIMEOUT = TASK_TIME_LIMIT + 3600
#: The longest countdown or ETA any message may carry (1 h).
LONGEST_COUNTDOWN = VISIBILITY_TIMEOUT - TASK_TIME_LIMIT


class CountdownTooLong(RuntimeError):
    """A bug: a wait that should have been parked in the database reached the broker."""


def check_countdown(seconds: float | None) -> None:
    """Raise CountdownTooLong for a countdown beyond ``LONGEST_COUNTDOWN``."""
    if seconds is not None and seconds > LONGEST_COUNTDOWN:
        raise CountdownTooLong(f"a countdown of {seconds:.0f} s exceeds the visibility timeout minus the task "
                               f"time limit ({LONGEST_COUNTDOWN} s); long waits must be parked in the database")


def seconds_ahead(eta: dt.datetime | str) -> float:
    """Seconds from now to ``eta`` (a datetime, or ISO text as in a message's headers)."""
    if isinstance(eta, str):
        eta = dt.datetime.fromisoformat(eta)
    if eta.tzinfo is None:
        eta = eta.replace(tzinfo=dt.timezone.utc)
    return (eta - dt.datetime.now(dt.timezone.utc)).total_seconds()


class GuardedCelery(Celery):
    """Pushwire's Celery app: refuses to publish a countdown or ETA beyond ``LONGEST_COUNTDOWN``."""

    def send_task(self, name, args=None, kwargs=None, countdown=None, eta=None, *rest, **options):
        check_countdown(countdown)
        if eta is not None:
            check_countdown(seconds_ahead(eta))
        return super().send_task(name, args, kwargs, countdown, eta, *rest, **options)
