"""Connections that die with their PostgreSQL server, in process (app/db.py).

A restart leaves every pooled connection dead: a checkout notices it without a
round trip and opens a fresh one. A connection cut while in use is retried once
on a fresh connection by ``Database.read``/``Database.write``, but never when
COMMIT was already on the wire (the write may have been applied).
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from app.config import Settings
from app.db import Database, during_commit, unavailable


@pytest.fixture()
def db(pg_cluster, tmp_path):
    if not pg_cluster.running():
        pg_cluster.start()
    database = Database(Settings(data_dir=tmp_path, database_url=pg_cluster.url, database_pool_size=3))
    with database.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS fault_rows"))
        conn.execute(text("CREATE TABLE fault_rows (n int)"))
    yield database
    database.engine.dispose()


def _kill_backend(pg_cluster, pid: int) -> None:
    with psycopg.connect(pg_cluster.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _rows(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM fault_rows")).scalar_one()


def test_pooled_connections_killed_by_a_restart_are_replaced_at_checkout(db, pg_cluster):
    conns = [db.engine.connect() for _ in range(3)]  # fill the pool
    for conn in conns:
        conn.execute(text("SELECT 1"))
        conn.close()
    pg_cluster.restart()
    for _ in range(3):  # each would have been a dead connection
        with db.session() as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
        assert db.read(lambda conn: conn.execute(text("SELECT 2")).scalar_one()) == 2


def test_a_read_cut_in_use_runs_once_more_on_a_fresh_connection(db, pg_cluster):
    calls = []

    def work(conn):
        calls.append(1)
        if len(calls) == 1:
            _kill_backend(pg_cluster, conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        return conn.execute(text("SELECT 42")).scalar_one()

    assert db.read(work) == 42
    assert len(calls) == 2


def test_a_write_cut_before_commit_runs_once_more_and_is_applied_once(db, pg_cluster):
    calls = []

    def work(conn):
        calls.append(1)
        conn.execute(text("INSERT INTO fault_rows VALUES (1)"))
        if len(calls) == 1:
            _kill_backend(pg_cluster, conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        conn.execute(text("INSERT INTO fault_rows VALUES (2)"))

    db.write(work)
    assert len(calls) == 2
    assert _rows(db) == 2  # the first try's rows died with its transaction


def test_a_write_cut_during_commit_is_not_repeated_and_says_so(db, pg_cluster):
    calls = []

    def work(conn):
        calls.append(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        conn.execute(text("INSERT INTO fault_rows VALUES (1)"))

    def cut(conn):
        if len(calls) == 1:
            _kill_backend(pg_cluster, calls[0])

    event.listen(db.engine, "commit", cut)
    try:
        with pytest.raises(DBAPIError) as raised:
            db.write(work)
    finally:
        event.remove(db.engine, "commit", cut)
    assert len(calls) == 1  # never repeated: it might have been applied
    assert during_commit(raised.value) and unavailable(raised.value)


def test_a_server_that_is_down_is_reported_as_unavailable(db, pg_cluster):
    pg_cluster.stop()
    try:
        with pytest.raises(DBAPIError) as raised:
            db.read(lambda conn: conn.execute(text("SELECT 1")).scalar_one())
        assert unavailable(raised.value) and not during_commit(raised.value)
    finally:
        pg_cluster.start()
    assert db.read(lambda conn: conn.execute(text("SELECT 1")).scalar_one()) == 1


def test_finished_work_is_recorded_through_an_outage_and_never_twice():
    """What a worker did at the provider is written once the database is back
    (app.faults.record_patiently), and a try cut during COMMIT is checked first."""
    from sqlalchemy.exc import OperationalError

    from app.faults import record_patiently

    down = OperationalError("UPDATE push_requests ...", {}, Exception("server closed the connection"))
    tries = []

    def write():
        tries.append(1)
        if len(tries) < 3:
            raise down
        return "written"

    assert record_patiently(write, patience=10) == "written" and len(tries) == 3

    cut = OperationalError(None, {}, Exception("server closed the connection"))
    cut.during_commit = True
    applied = []

    def write_cut():
        applied.append(1)
        raise cut

    assert record_patiently(write_cut, recorded=lambda: True, patience=10) is None
    assert len(applied) == 1  # the first COMMIT went through: not written again

    with pytest.raises(ValueError):  # not an outage: raised at once
        record_patiently(lambda: (_ for _ in ()).throw(ValueError("bug")), patience=10)
