"""Where a gateway process learns of new events and of newer connections.

``open_feed(settings, db)`` picks one:

* ``RedisFeed`` (``PUSHWIRE_REDIS_URL`` set): one thread subscribed to the event
  channel (``app.events.channel``, carrying whole events published after commit)
  and to ``CONTROL`` (generation notices), both named per Redis database.
  Generations come from ``INCR`` on a per-site key, so "newest connection wins"
  holds across processes.
* ``TableFeed`` (embedded default, no Redis): one thread per process tails the
  ``events`` table; generations are a process-local counter (one process then).

A feed has ``start(hub)``, ``stop()``, ``next_generation(site_id)`` and
``announce(site_id, generation)``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import threading
from collections import deque

from sqlalchemy import func, select

from app.events import channel
from app.models import Event, utcnow
from app.stream.hub import StreamEvent

log = logging.getLogger(__name__)

CONTROL = "pushwire:{db}:stream:control"
GENERATION_KEY = "pushwire:stream:gen:{site_id}"


class RedisFeed:
    """Redis pub/sub fan-out; reconnects on its own after Redis faults."""

    def __init__(self, redis_url: str):
        from app.redisclient import client as redis_client

        self.client = redis_client(redis_url, 5)
        self.events_channel, self.control_channel = channel(redis_url), channel(redis_url, CONTROL)
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, hub) -> None:
        self.client.ping()  # Redis down: fail this stream now (RedisError) instead of after the wait below
        self.thread = threading.Thread(target=self._run, args=(hub,), name="stream-feed", daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            log.warning("stream feed: Redis subscription not confirmed yet; continuing")

    def stop(self) -> None:
        self.stopping.set()

    def next_generation(self, site_id: int) -> int:
        return int(self.client.incr(GENERATION_KEY.format(site_id=site_id)))

    def announce(self, site_id: int, generation: int) -> None:
        self.client.publish(self.control_channel, json.dumps({"site_id": site_id, "generation": generation}))

    def _run(self, hub) -> None:
        while not self.stopping.is_set():
            try:
                self._listen(hub)
            except Exception as exc:  # noqa: BLE001 - keep the process's streams fed
                log.warning("stream feed: Redis subscription lost (%s: %s); reconnecting", type(exc).__name__, exc)
                self.stopping.wait(1.0)

    def _listen(self, hub) -> None:
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(self.events_channel, self.control_channel)
            confirmed = 0
            while not self.stopping.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    confirmed += 1
                    if confirmed == 2:
                        self.ready.set()
                elif message["type"] == "message":
                    self._handle(hub, message["channel"], message["data"])
        finally:
            pubsub.close()

    def _handle(self, hub, name: bytes, data: bytes) -> None:
        try:
            message = json.loads(data)
            if name.decode() == self.control_channel:
                hub.replace_older(int(message["site_id"]), int(message["generation"]))
            else:  # a commit's events as one array (or, from older publishers, one event)
                for item in message if isinstance(message, list) else [message]:
                    hub.dispatch(StreamEvent.from_message(item))
        except (ValueError, KeyError, TypeError):
            log.warning("stream feed: ignoring malformed message on %s", name)


class TableFeed:
    """Tails the ``events`` table every ``interval`` seconds (no Redis).

    Ids are handed out before commit, so a row may become visible after a
    higher id; each poll therefore re-reads a short recent window and skips ids
    it has seen, instead of trusting a bare ``id > last``.
    """

    LOOKBACK_IDS = 256
    LOOKBACK_SECONDS = 30

    def __init__(self, db, interval: float):
        self.db, self.interval = db, interval
        self.generations = itertools.count(1)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.seen: set[int] = set()
        self.order: deque[int] = deque()
        self.cursor = 0

    def start(self, hub) -> None:
        self._poll(hub, deliver=False)  # what is already committed is history, not live
        threading.Thread(target=self._run, args=(hub,), name="stream-tailer", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()

    def next_generation(self, site_id: int) -> int:
        with self.lock:
            return next(self.generations)

    def announce(self, site_id: int, generation: int) -> None:
        """Nothing to tell: every stream of this feed lives in this process."""

    def _run(self, hub) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self._poll(hub, deliver=True)
            except Exception:  # noqa: BLE001 - a database blip must not end the tailer
                log.warning("stream tailer: poll failed", exc_info=True)

    def _poll(self, hub, deliver: bool) -> None:
        since = utcnow() - dt.timedelta(seconds=self.LOOKBACK_SECONDS)
        with self.db.session() as session:
            if not self.cursor:
                self.cursor = session.scalar(select(func.max(Event.id))) or 0
            rows = session.execute(
                select(Event.id, Event.site_id, Event.kind, Event.body)
                .where(Event.id > self.cursor - self.LOOKBACK_IDS, Event.created_at >= since)
                .order_by(Event.id).limit(5000)
            ).all()
        for row in rows:
            if row.id in self.seen:
                continue
            self._remember(row.id)
            if deliver:
                hub.dispatch(StreamEvent(row.id, row.site_id, row.kind, row.body))

    def _remember(self, event_id: int) -> None:
        self.seen.add(event_id)
        self.order.append(event_id)
        self.cursor = max(self.cursor, event_id)
        while len(self.order) > 4 * self.LOOKBACK_IDS + 5000:
            self.seen.discard(self.order.popleft())


def open_feed(settings, db):
    """The feed for these settings (Redis when configured)."""
    if settings.redis_url:
        return RedisFeed(settings.redis_url)
    return TableFeed(db, settings.stream_poll_interval)
