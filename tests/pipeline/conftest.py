"""The pipeline on its own: ``app/pipeline`` and ``app/states.py`` called in process,
on the migrated PostgreSQL schema, with ``FakeAdapter`` as the network.

No broker, Redis, S3 or fake network process: the staging store is a directory, the
rate limiter counts in memory, the broker is kombu's in-memory transport (only the
sweeper publishes), and the video origin and the callback receiver are in-process
HTTP threads. Every test starts from empty tables.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from app import states
from app.config import Settings
from app.migrate import upgrade
from app.models import Base, Identity, PushRequest, RequestTransition, Site, StageAttempt, new_token, utcnow
from app.providers.fake import FakeAdapter
from app.runtime import Runtime
from tests.support.services import create_database

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pipeline_db(tmp_path_factory):
    """A database of its own: every test here empties its tables, which must not touch the
    rows (site-a, its identities) that the session's running stack serves from ``pg_url``."""
    url, drop = create_database()
    upgrade(Settings(data_dir=tmp_path_factory.mktemp("migrate"), database_url=url))
    yield url
    drop()


@pytest.fixture()
def fake() -> FakeAdapter:
    return FakeAdapter()


@pytest.fixture()
def rt(pipeline_db, tmp_path, fake):
    settings = Settings(data_dir=tmp_path, database_url=pipeline_db, secret_key="pipeline-test-key",
                        broker_url="memory://", staging_url=f"file://{tmp_path}/staging",
                        outbound_allow="127.0.0.1", max_stage_retries=2, max_redeliveries=2,
                        retry_backoff_base=1.0, retry_backoff_max=4.0)
    runtime = Runtime(settings, adapters={"twitter": fake})
    with runtime.db.engine.begin() as conn:  # DELETE: on a few rows, much faster than TRUNCATE
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield runtime
    runtime.close()


@pytest.fixture()
def identity(rt) -> int:
    """A site and a twitter identity with a fresh token; returns the identity id."""
    n = next(_names)
    with rt.db.session() as session:
        site = Site(name=f"site-{n}", private_key_hash="x", stream_key=new_token(),
                    signing_secret_enc=rt.cipher.encrypt("whsec_" + "a" * 32))
        session.add(site)
        session.flush()
        ident = Identity(site_id=site.id, provider="twitter", provider_user_id=str(n),
                         access_token_enc=rt.cipher.encrypt("token-1"), profile={"name": f"user {n}"})
        session.add(ident)
        session.flush()
        return ident.id


@pytest.fixture()
def make_push(rt, identity):
    """``make_push(payload, kind="post") -> request id``: a request committed in ``queued``,
    as the gateway writes it."""

    def make(payload: dict, kind: str = "post") -> int:
        with rt.db.session() as session:
            site_id = session.get(Identity, identity).site_id
        now = utcnow()
        row = {"token": new_token(), "site_id": site_id, "identity_id": identity, "provider": "twitter",
               "kind": kind, "resource": f"/push/identities/x/twitter/{kind}.json", "payload": payload,
               "callback_url": payload.get("callback_url"), "idempotency_key": None, "body_hash": None,
               "created_at": now, "updated_at": now, "enqueued_at": now, "provider_ids": {}, "progress": {},
               "callback_attempts_made": 0}
        with rt.db.engine.begin() as conn:
            return states.create(conn, [row])[0].id

    return make


def audit(rt, request_id: int) -> list[tuple]:
    """The request's transitions as ``(from, to, reason)``, in order."""
    with rt.db.session() as session:
        rows = session.execute(select(RequestTransition.from_state, RequestTransition.to_state,
                                      RequestTransition.reason)
                               .where(RequestTransition.request_id == request_id)
                               .order_by(RequestTransition.id)).all()
    return [tuple(row) for row in rows]


def attempts(rt, request_id: int) -> list[tuple]:
    """The request's stage attempts as ``(stage, attempt, outcome, error_reason)``."""
    with rt.db.session() as session:
        rows = session.execute(select(StageAttempt.stage, StageAttempt.attempt, StageAttempt.outcome,
                                      StageAttempt.error_reason)
                               .where(StageAttempt.request_id == request_id).order_by(StageAttempt.id)).all()
    return [tuple(row) for row in rows]


def request(rt, request_id: int) -> PushRequest:
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        session.expunge(push)
        return push
