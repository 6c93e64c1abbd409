"""Per-process fan-out: one feed thread hands events to every open stream's queue.

A gateway process holds one ``Hub`` (built on the first stream request). Each
stream registers a ``Connection`` with its own bounded queue and waits on it with
a timeout (the keep-alive period), so hundreds of idle streams cost one blocked
thread each and no database polling. The hub's single feed (``app.stream.feeds``:
Redis pub/sub, or a table tailer without Redis) calls ``dispatch`` for each event
and ``replace_older`` for each "a newer connection took this key" notice.

Usage::

    hub = Hub(feed)                       # feed = feeds.open_feed(settings, db)
    conn = hub.connect(site_id, {"upload", "delete"})
    event = conn.next(timeout=30)         # StreamEvent, or None on timeout
    ...
    hub.disconnect(conn)
"""

from __future__ import annotations

import queue
import socket
import threading
from dataclasses import dataclass, field

from app.stream.render import element_line

REPLACED = 1005  # Connection.reason when a newer connection took the key
OVERFLOW = "overflow"  # the consumer read too slowly; it reconnects with ``since``
REPLACE_GRACE = 2.0  # seconds a replaced stream has to send its 1005 element before its socket is shut
_WAKE = object()


@dataclass
class StreamEvent:
    """One event as the streams see it; each format is rendered once and shared."""

    id: int
    site_id: int
    kind: str
    body: dict
    _lines: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_message(cls, message: dict) -> "StreamEvent":
        return cls(int(message["id"]), int(message["site_id"]), message["kind"], message["body"])

    def line(self, fmt: str) -> bytes:
        if fmt not in self._lines:
            self._lines[fmt] = element_line(self.id, self.body, fmt)
        return self._lines[fmt]


class Connection:
    """One open stream: its site, event kinds, generation and queue."""

    def __init__(self, site_id: int, kinds: frozenset[str], generation: int, queue_size: int):
        self.site_id, self.kinds, self.generation = site_id, kinds, generation
        self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.reason: int | str | None = None  # why the stream must end
        self.sock: socket.socket | None = None  # the client's socket, when the server exposes it
        self.ended = threading.Event()  # set once the response is closed

    def offer(self, event: StreamEvent) -> None:
        """Called by the feed thread: never blocks."""
        if event.kind not in self.kinds or self.reason is not None:
            return
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.close(OVERFLOW)

    def close(self, reason: int | str) -> None:
        if self.reason is None:
            self.reason = reason
        try:
            self.queue.put_nowait(_WAKE)
        except queue.Full:
            pass  # the stream is busy draining; it checks ``reason`` on every item
        if reason == REPLACED and self.sock is not None and not self.ended.is_set():
            # A thread blocked writing to a consumer that does not read would only see
            # ``reason`` after its write; the replaced stream really ends within the grace.
            timer = threading.Timer(REPLACE_GRACE, self.force_end)
            timer.daemon = True
            timer.start()

    def force_end(self) -> None:
        """Shut the client's socket if the stream has not ended (frees its thread)."""
        if not self.ended.is_set():
            self.shutdown()

    def shutdown(self) -> None:
        """Shut the client's socket down (both ways): a blocked write fails at once."""
        if self.sock is not None:
            try:
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def next(self, timeout: float) -> StreamEvent | None:
        """The next event, or None after ``timeout`` seconds or when closed."""
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if item is _WAKE else item


class Hub:
    """Registry of this process's connections, fed by one feed thread."""

    def __init__(self, feed, queue_size: int = 1000):
        self.feed, self.queue_size = feed, queue_size
        self.lock = threading.Lock()
        self.by_site: dict[int, set[Connection]] = {}
        self.latest: dict[int, int] = {}  # newest generation seen per site
        self.started = False
        self.start_lock = threading.Lock()

    def connect(self, site_id: int, kinds: frozenset[str]) -> Connection:
        """Register a stream for ``site_id``; older streams of that site are replaced.

        The feed is running (subscribed) before this returns, so a replay read
        after it cannot miss an event committed in between.
        """
        self._start()
        generation = self.feed.next_generation(site_id)
        conn = Connection(site_id, kinds, generation, self.queue_size)
        with self.lock:
            self.by_site.setdefault(site_id, set()).add(conn)
        self.replace_older(site_id, generation)
        self.feed.announce(site_id, generation)
        return conn

    def disconnect(self, conn: Connection) -> None:
        with self.lock:
            conns = self.by_site.get(conn.site_id)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self.by_site[conn.site_id]

    def dispatch(self, event: StreamEvent) -> None:
        """Hand ``event`` to every local stream of its site (feed thread)."""
        with self.lock:
            conns = list(self.by_site.get(event.site_id, ()))
        for conn in conns:
            conn.offer(event)

    def replace_older(self, site_id: int, generation: int) -> None:
        """Close this site's streams older than ``generation`` (error 1005)."""
        with self.lock:
            if generation > self.latest.get(site_id, 0):
                self.latest[site_id] = generation
            newest = self.latest[site_id]
            older = [c for c in self.by_site.get(site_id, ()) if c.generation < newest]
        for conn in older:
            conn.close(REPLACED)

    def count(self) -> int:
        with self.lock:
            return sum(len(conns) for conns in self.by_site.values())

    def _start(self) -> None:
        # Held for the whole start so a second stream waits until the feed listens.
        with self.start_lock:
            if not self.started:
                self.feed.start(self)
                self.started = True

    def stop(self) -> None:
        self.feed.stop()
