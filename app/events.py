"""The durable event log the Stream API reads (``events`` table).

Elements are stored in the contract's shape, ready to serialise as JSON or XML.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app.models import Event, PushRequest, utcnow

PROFILE_FIELDS = ("name", "location", "profile_image_url", "profile_background_image_url",
                  "description", "num_followers")


def stream_time(value: dt.datetime) -> str:
    """The seed's ``created_at`` format: ``Fri Nov 27 14:01:05 +0000 2009``."""
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%a %b %d %H:%M:%S +0000 %Y")


def user_node(profile: dict) -> dict:
    return {key: profile.get(key) for key in PROFILE_FIELDS}


def emit_upload(session: Session, push: PushRequest) -> Event:
    """Append the ``video`` element for a successful video push."""
    payload, result = push.payload or {}, push.result or {}
    guid = result.get("video_id") or result.get("post_id") or push.token
    size = (push.staged_bytes or 0) / (1024 * 1024)
    body = {
        "video": {
            "guid": str(guid),
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
    event = Event(site_id=push.site_id, kind="upload", request_id=push.id, body=body)
    session.add(event)
    return event
