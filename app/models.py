"""Database tables.

Sites are tenants; identities are their users' connected accounts; push requests
are units of work; ``stage_attempts``, ``callback_attempts`` and
``request_transitions`` are the append-only audit; ``events`` is the log the
Stream API reads.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    """Timezone-aware now, the only clock the models use."""
    return dt.datetime.now(dt.timezone.utc)


def new_token() -> str:
    """A fresh public identifier (UUID4 text)."""
    return str(uuid.uuid4())


# SQLite has no BIGINT autoincrement; use INTEGER there so ids still autoincrement.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: DateTime(timezone=True), dict: JSON}


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    private_key_hash: Mapped[str] = mapped_column(String(128))
    stream_key: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the key (app.crypto)
    signing_secret_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Dashboard sessions carry this number; logging out bumps it, so every older cookie is refused.
    dashboard_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("site_id", "provider", "provider_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_user_id: Mapped[str] = mapped_column(String(128))
    access_token_enc: Mapped[str] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    profile: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    site: Mapped[Site] = relationship()


class PushRequest(Base):
    __tablename__ = "push_requests"
    __table_args__ = (
        UniqueConstraint("site_id", "idempotency_key"),
        Index("ix_push_requests_state_updated", "state", "updated_at"),
        Index("ix_push_requests_state_resume_at", "state", "resume_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("identities.id", ondelete="SET NULL"), nullable=True, index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))  # e.g. "video", "post", "page/video"
    resource: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(32), default="queued")
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    provider_ids: Mapped[dict] = mapped_column(default=dict)
    progress: Mapped[dict] = mapped_column(default=dict)  # resumable-upload bookkeeping
    result: Mapped[dict | None] = mapped_column(nullable=True)
    error_code: Mapped[int | None] = mapped_column(nullable=True)
    error_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_info: Mapped[str | None] = mapped_column(Text, nullable=True)
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    next_callback_at: Mapped[dt.datetime | None] = mapped_column(nullable=True, index=True)
    callback_attempts_made: Mapped[int] = mapped_column(default=0)
    staged_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    staged_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # Durable waits (state "waiting"): the stage to run again, when, and why. A
    # scheduled push keeps the time its publish step is due in ``publish_at``.
    publish_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    resume_stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resume_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    wait_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    wait_info: Mapped[str | None] = mapped_column(Text, nullable=True)

    identity: Mapped[Identity | None] = relationship()
    site: Mapped[Site] = relationship()


class RequestTransition(Base):
    """Append-only: every state change of a push request."""

    __tablename__ = "request_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("push_requests.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StageAttempt(Base):
    """Append-only (rows are closed once): one attempt of one pipeline stage."""

    __tablename__ = "stage_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("push_requests.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column()
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str] = mapped_column(String(32), default="running")
    error_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_info: Mapped[str | None] = mapped_column(Text, nullable=True)
    bytes_moved: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    retry_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CallbackAttempt(Base):
    """Append-only: one delivery attempt of a request's callback."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("push_requests.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column()
    webhook_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(nullable=True)
    outcome: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(nullable=True)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class Event(Base):
    """The durable stream log; ``id`` is the event id consumers resume from."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_site_id_id", "site_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # upload | delete | comment
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_requests.id", ondelete="SET NULL"), nullable=True
    )
    body: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SiteCallbackUrl(Base):
    """A URL a site registered for the connect flow; ``callback_uri`` must be one of them."""

    __tablename__ = "site_callback_urls"
    __table_args__ = (UniqueConstraint("site_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ConnectFlow(Base):
    """One browser's trip to a provider's authorization page (server half of ``state``).

    Only hashes of the ``state`` and of the browser cookie's nonce are stored, so a
    database reader cannot forge a provider redirect; ``used_at`` makes it single-use.
    """

    __tablename__ = "connect_flows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    callback_uri: Mapped[str] = mapped_column(String(2048))
    site_state: Mapped[str | None] = mapped_column(Text, nullable=True)
    code_verifier_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class MagicLink(Base):
    """A dashboard login link not used yet: the hash of its nonce; using it deletes the row."""

    __tablename__ = "dashboard_magic_links"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class Connection(Base):
    """A finished connect flow, named by the one-time ``connection_token`` the site reads."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32), default="succeeded")  # succeeded: new or updated identity
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)

    identity: Mapped[Identity] = relationship()
