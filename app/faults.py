"""Which errors are a passing outage of a dependency, not a fault of the request.

The gateway answers those with 503 and ``Retry-After`` instead of 500, and the
workers run the task again after a short backoff without counting it against
the push (``workers/tasks.py``).
"""

from __future__ import annotations

import logging
import random
import time
from typing import Callable, TypeVar

from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds a worker keeps trying to record work already done at the provider
#: while the database is unavailable (dropping it would leave the push unconfirmed).
RECORD_PATIENCE = 120.0


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not be reached or the connection
    died (down, restarting, refusing connections, pool exhausted), as opposed to
    an error in the statement itself."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                        sa_exc.TimeoutError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def outage_backoff(retries: int) -> float:
    """Seconds a worker waits before running its task again while a dependency is
    unavailable: 1, 2, 4, 8, then every 15 s, with a little jitter."""
    return min(2.0 ** retries, 15.0) * random.uniform(0.8, 1.2)


def record_patiently(write: Callable[[], T], recorded: Callable[[], bool] | None = None,
                     patience: float = RECORD_PATIENCE) -> T | None:
    """Run ``write`` (a transaction recording something already done outside, such as
    the id a provider just created) until it goes through, while the database is
    unavailable, for at most ``patience`` seconds. After a try cut during COMMIT
    (it may have been applied), ``recorded()`` is asked first, so it is not applied twice."""
    deadline = time.monotonic() + patience
    delay, maybe_applied = 0.5, False
    while True:
        try:
            if maybe_applied and recorded is not None and recorded():
                return None
            return write()
        except Exception as exc:
            if not database_unavailable(exc) or time.monotonic() > deadline:
                raise
            maybe_applied = maybe_applied or bool(getattr(exc, "during_commit", False))
            log.warning("database unavailable while recording finished work; retrying in %.1f s", delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
