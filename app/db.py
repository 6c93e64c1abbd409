"""Engines and sessions, built from settings (never at import)."""

from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings


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
    # database time in bench/). Recycling connections before servers or proxies
    # drop idle ones, and retrying tasks on errors, cover stale connections.
    return create_engine(
        url,
        pool_pre_ping=False,
        pool_recycle=settings.database_pool_recycle,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )


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
