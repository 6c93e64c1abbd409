"""The durable event log the Stream API reads (``events`` table), and its live notification.

Elements are stored in the contract's shape, ready to serialise as JSON or XML.
``emit_upload`` / ``emit_delete`` / ``emit_comment`` add an ``Event`` row to the
caller's session; once that session commits, the event is published on the Redis
channel ``channel(redis_url)`` (when ``PUSHWIRE_REDIS_URL`` is set) so every gateway process
hands it to its open streams. Without Redis the gateways tail the table instead
(``app.stream.hub``), so publishing is only ever an accelerator, never the record.

Every caller says which runtime's publisher its session publishes with
(``bind_runtime(session, rt)``); a session without one commits its events
unpublished (the gateways' table tail still finds them).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from app.models import Event, PushRequest, utcnow

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "pushwire:{db}:stream:events"
PROFILE_FIELDS = ("name", "location", "profile_image_url", "profile_background_image_url",
                  "description", "num_followers")
_PENDING = "pushwire_stream_pending"
_RUNTIME = "pushwire_runtime"


def stream_time(value: dt.datetime) -> str:
    """The seed's ``created_at`` format: ``Fri Nov 27 14:01:05 +0000 2009``."""
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%a %b %d %H:%M:%S +0000 %Y")


def user_node(profile: dict) -> dict:
    return {key: profile.get(key) for key in PROFILE_FIELDS}


def video_guid(push: PushRequest) -> str:
    """The id a stream consumer knows a pushed video by (the same in upload and delete)."""
    result = push.result or {}
    return str(result.get("video_id") or result.get("post_id") or push.token)


def emit_upload(session: Session, push: PushRequest) -> Event:
    """Append the ``video`` element for a successful video push."""
    payload, result = push.payload or {}, push.result or {}
    size = (push.staged_bytes or 0) / (1024 * 1024)
    body = {
        "video": {
            "guid": video_guid(push),
            "source": push.site.name,
            "event": payload.get("event"),
            "longitude": payload.get("longitude"),
            "latitude": payload.get("latitude"),
            "thumbnail": result.get("thumbnail_url"),
            "size": f"{size:.2f}",
            "created_at": stream_time(utcnow()),
            "text": payload.get("title") or payload.get("description") or payload.get("message"),
            "url": result.get("url"),
            "user": user_node(push.identity.profile or {} if push.identity else {}),
        }
    }
    return _add(session, Event(site_id=push.site_id, kind="upload", request_id=push.id, body=body))


def emit_delete(session: Session, push: PushRequest, why: str) -> Event | None:
    """Mark a pushed video deleted (``result.deleted_at``) and append its ``delete`` element.

    ``why`` is ``api`` (DELETE endpoint), ``expired`` (unattached X media after
    24 h) or ``vanished`` (gone at the provider). Returns None when the push was
    already marked deleted, so each video yields one ``delete``.
    """
    result = dict(push.result or {})
    if result.get("deleted_at"):
        return None
    result.update(deleted_at=utcnow().isoformat(), deleted_reason=why)
    push.result = result
    identity = push.identity
    profile = (identity.profile or {}) if identity else {}
    username = profile.get("username") or profile.get("name") or (identity.provider_user_id if identity else None)
    body = {"delete": {"guid": video_guid(push), "username": username}}
    return _add(session, Event(site_id=push.site_id, kind="delete", request_id=push.id, body=body))


def emit_comment(session: Session, push: PushRequest, comment: dict) -> Event:
    """Append a ``comment`` element for one provider comment
    (``{"id", "text", "author": {"name", "profile_image_url", ...}}``)."""
    body = {"comment": {"guid": video_guid(push), "user": user_node(comment.get("author") or {}),
                        "comment": comment.get("text") or ""}}
    return _add(session, Event(site_id=push.site_id, kind="comment", request_id=push.id, body=body))


def emit_event(session: Session, site_id: int, kind: str, body: dict, request_id: int | None = None) -> Event:
    """Append any element (``body`` like ``{"delete": {...}}``) to a site's stream."""
    return _add(session, Event(site_id=site_id, kind=kind, request_id=request_id, body=body))


def bind_runtime(session: Session, rt: Runtime) -> Session:
    """Publish this session's events through ``rt.publisher`` (Redis, when
    ``PUSHWIRE_REDIS_URL`` is set) after commit."""
    session.info[_RUNTIME] = rt
    return session


# -- notification after commit -------------------------------------------------

def _add(session: Session, row: Event) -> Event:
    session.add(row)
    session.flush()  # the id is the event id consumers resume from
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        sa_event.listen(session, "after_commit", _after_commit)
        sa_event.listen(session, "after_rollback", _after_rollback)
    pending.append(row)
    return row


def channel(redis_url: str, template: str = CHANNEL) -> str:
    """A channel name carrying the Redis database number: pub/sub ignores ``SELECT``,
    so deployments sharing one Redis server on different databases must not hear each other."""
    from redis.connection import parse_url

    return template.format(db=parse_url(redis_url).get("db", 0))


def event_message(row: Event) -> dict:
    """What travels on the channel: the whole event, so no gateway re-reads it."""
    return {"id": row.id, "site_id": row.site_id, "kind": row.kind, "body": row.body}


def _after_commit(session: Session) -> None:
    rows, session.info[_PENDING] = session.info.get(_PENDING) or [], []
    if not rows:
        return
    rt = session.info.get(_RUNTIME)
    publisher = rt.publisher if rt is not None else None
    if publisher is not None:
        publisher.publish([event_message(row) for row in rows])


def _after_rollback(session: Session) -> None:
    session.info[_PENDING] = []


class Publisher:
    """Publishes committed events on Redis; failures are logged, never raised
    (the row is committed, and ``since`` replays recover anything missed)."""

    def __init__(self, redis_url: str):
        from app.redisclient import client as redis_client

        self.client = redis_client(redis_url, 5)
        self.channel = channel(redis_url)

    #: Events of one commit travel in one Redis message (a JSON array) of at most
    #: this many: a subscriber parses one message instead of hundreds.
    BATCH = 500

    def publish(self, messages: list[dict]) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            for start in range(0, len(messages), self.BATCH):
                pipe.publish(self.channel, json.dumps(messages[start:start + self.BATCH], separators=(",", ":")))
            pipe.execute()
        except Exception:  # noqa: BLE001 - Redis down must not fail the committed work
            log.warning("could not publish %d stream events", len(messages), exc_info=True)
