"""Redis clients for Pushwire's own use (limits, stream fan-out, events, queue depth).

redis-py's default pool raises "Too many connections" as soon as more than 100
threads use one client at once (redis-py 8), which a stream process with 1,024
threads or an upload worker with 200 reaches in a burst. These clients share a
``BlockingConnectionPool`` instead: a thread waits (up to ``POOL_WAIT`` seconds)
for one of ``MAX_CONNECTIONS`` connections; Redis calls are short, so a burst
queues for milliseconds instead of failing.
"""

from __future__ import annotations

import redis

#: Connections per client (per process); commands take well under a millisecond.
MAX_CONNECTIONS = 64
#: Seconds a thread waits for a free connection before the call fails.
POOL_WAIT = 10.0


def client(url: str, timeout: float) -> redis.Redis:
    """A client on ``url`` whose socket operations time out after ``timeout`` seconds."""
    pool = redis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT,
                                                 socket_timeout=timeout, socket_connect_timeout=timeout)
    return redis.Redis(connection_pool=pool)
