"""Which errors are a passing outage of a dependency, not a fault of the request.

The gateway answers those with 503 and ``Retry-After`` instead of 500, and the
workers run the task again after a short backoff without counting it against
the push (``workers/tasks.py``).
"""

from __future__ import annotations

import random

from sqlalchemy import exc as sa_exc


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
