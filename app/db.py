"""Engines and sessions, built from settings (never at import)."""

from __future__ import annotations

import logging
import select
from contextlib import contextmanager
from functools import cached_property
from typing import Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.faults import database_unavailable as unavailable  # noqa: F401 - part of this module's API

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds to wait for a new PostgreSQL connection before giving up (a server that
#: is down refuses at once; this bounds a host that does not answer at all).
CONNECT_TIMEOUT = 10
#: ``Retry-After`` of the gateway's 503 answers while the database is unavailable.
RETRY_AFTER_SECONDS = 5


def make_engine(settings: Settings) -> Engine:
    """Create the engine for the configured database URL.

    SQLite gets WAL and a busy timeout so the gateway and an embedded worker can
    share the file; PostgreSQL gets a pool sized from settings: keep
    processes x (pool + overflow) under the server's max_connections.
    """
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # No pre-ping: it costs a round trip on every checkout (13% of a worker's
    # database time in bench/). Instead a checkout looks at the idle connection's
    # socket without a round trip (``_drop_dead_connection``): a server that
    # restarted or closed the connection left it readable. What that cannot see (a
    # connection that dies in use) is retried once on a fresh connection by
    # ``Database.read``/``Database.write`` where that is safe, and answered 503
    # by the gateway otherwise (app/api/errors.py).
    engine = create_engine(
        url,
        pool_pre_ping=False,
        pool_recycle=settings.database_pool_recycle,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )
    event.listen(engine, "checkout", _drop_dead_connection)
    _track_commits(engine)
    return engine


def _drop_dead_connection(dbapi_conn, record, proxy) -> None:
    """Refuse a pooled connection whose server already hung up (zero round trips).

    An idle PostgreSQL connection has nothing to read; a readable socket means the
    server sent its farewell ("terminating connection due to administrator
    command") or closed it. The pool then drops every connection older than this
    one (they died with the same server) and opens a fresh one.
    """
    try:
        fd = dbapi_conn.fileno()
    except Exception:  # noqa: BLE001 - already closed or broken
        raise sa_exc.InvalidatePoolError("connection closed") from None
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    if poller.poll(0):
        log.warning("database: a pooled connection was closed by the server; reconnecting")
        raise sa_exc.InvalidatePoolError("the server closed the pooled connection")


def _track_commits(engine: Engine) -> None:
    """Mark errors raised while COMMIT was on the wire (``during_commit``): the
    outcome of such a write is unknown, while an error before COMMIT applied nothing."""

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.info["pushwire_committing"] = False

    @event.listens_for(engine, "commit")
    def _commit(conn) -> None:
        conn.info["pushwire_committing"] = True

    @event.listens_for(engine, "handle_error")
    def _error(context) -> None:
        conn = context.connection
        if conn is not None and context.statement is None and conn.info.get("pushwire_committing"):
            context.sqlalchemy_exception.during_commit = True  # type: ignore[union-attr]


def during_commit(exc: BaseException) -> bool:
    """True when ``exc`` was raised by a COMMIT whose outcome is unknown."""
    return bool(getattr(exc, "during_commit", False))


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Database:
    """An engine plus its session factory; one per process."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def autocommit(self) -> Engine:
        """The engine in autocommit mode (same pool): a lone read without BEGIN and ROLLBACK round trips."""
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A connection for reads that need no transaction."""
        with self.autocommit.connect() as conn:
            yield conn

    def read(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` on an autocommit connection; if the connection died with
        its server (a restart), once more on a fresh one: a read is safe to repeat."""
        try:
            with self.autocommit.connect() as conn:
                return work(conn)
        except sa_exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.warning("database: connection lost during a read; retrying once on a fresh connection")
        with self.autocommit.connect() as conn:
            return work(conn)

    def write(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` in a transaction, committed. If the connection died before
        COMMIT was sent, nothing was applied, so it runs once more on a fresh
        connection; an error during COMMIT is raised (``during_commit``)."""
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except sa_exc.DBAPIError as exc:
            if not exc.connection_invalidated or during_commit(exc):
                raise
            log.warning("database: connection lost before commit; retrying once on a fresh connection")
        with self.engine.begin() as conn:
            return work(conn)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
