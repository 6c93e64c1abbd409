"""Pin rules of the fake Pinterest (reference §4.2, §4.3 step 4, §4.5).

``create_pin(fake, user_id, body)``, ``get_pin(fake, user_id, pin_id)`` and
``delete_pin(fake, user_id, pin_id)`` return ``(status, json_body | None)`` or raise
``PinterestError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
import time
from typing import Any
from urllib.parse import urlsplit

from . import errors
from .errors import invalid

ID_RE = re.compile(r"^[0-9]{1,25}$")
PIN_FIELDS = {"board_id", "board_section_id", "title", "description", "link", "alt_text", "media_source",
              "dominant_color", "parent_pin_id", "note"}
LIMITS = {"title": 100, "description": 800, "link": 2048, "alt_text": 500, "note": 500}
IMAGE_MAX = 32 * 1024 * 1024
SIGNATURES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
COVER_FIELDS = "cover_image_url, cover_image_content_type + cover_image_data, or cover_image_key_frame_time"
SOURCE_KEYS = {
    "image_url": {"url", "is_standard"},
    "image_base64": {"content_type", "data", "is_standard"},
    "multiple_image_urls": {"items", "index"},
    "multiple_image_base64": {"items", "index"},
    "video_id": {"media_id", "cover_image_url", "cover_image_content_type", "cover_image_data",
                 "cover_image_key_frame_time", "is_standard"},
}


# --------------------------------------------------------------------------- checks


def _text(body: dict, name: str) -> None:
    value = body.get(name)
    if value is None:
        return
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string.")
    if len(value) > LIMITS[name]:
        raise invalid(f"{name} is too long: {len(value)} characters, at most {LIMITS[name]}.")


def _public_url(value: Any, name: str) -> str:
    """An http(s) URL Pinterest's fetchers could reach (no loopback/private hosts)."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 2048:
        raise invalid(f"{name} must be an http(s) URL of at most 2048 characters.")
    host = parts.hostname
    try:
        private = not ipaddress.ip_address(host).is_global
    except ValueError:
        private = host == "localhost" or host.endswith(".local") or host.endswith(".internal")
    if private:
        raise invalid(f"Sorry, we could not fetch the image at {name}: {host} is not reachable from the internet.")
    return value


def _image_b64(item: Any, name: str) -> dict:
    if not isinstance(item, dict):
        raise invalid(f"{name} must be an object.")
    content_type = item.get("content_type")
    if content_type not in SIGNATURES:
        raise invalid(f"{name}.content_type must be image/jpeg or image/png.")
    try:
        data = base64.b64decode(item.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise invalid(f"{name}.data must be base64-encoded image bytes.") from None
    if not data.startswith(SIGNATURES[content_type]):
        raise invalid(f"{name}.data is not a {content_type} image.")
    if len(data) > IMAGE_MAX:
        raise invalid(f"{name}.data is larger than {IMAGE_MAX // (1024 * 1024)} MB.")
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "content_type": content_type}


def _items(source: dict, check) -> list:
    items = source.get("items")
    if not isinstance(items, list) or not 2 <= len(items) <= 5:
        raise invalid("media_source.items must hold 2 to 5 images.")
    return [check(item, f"media_source.items[{i}]") for i, item in enumerate(items)]


def _video(fake, user_id: str, source: dict) -> dict:
    media_id = source.get("media_id")
    item = fake.media.get(media_id) if isinstance(media_id, str) else None
    if item is None or item.owner != user_id:
        raise invalid(f"media_source.media_id {media_id!r} is not a media of this user.")
    if item.status != "succeeded":
        raise invalid(f"Media {media_id} is not ready: its status is {item.status}, not succeeded.")
    has_cover = ("cover_image_url" in source
                 or ("cover_image_content_type" in source and "cover_image_data" in source)
                 or "cover_image_key_frame_time" in source)
    if not has_cover:
        raise invalid(f"A video Pin needs a cover: give {COVER_FIELDS}.")
    frame = source.get("cover_image_key_frame_time")
    if frame is not None and (isinstance(frame, bool) or not isinstance(frame, (int, float)) or frame < 0):
        raise invalid("cover_image_key_frame_time must be a number of seconds >= 0.")
    if "cover_image_url" in source:
        _public_url(source["cover_image_url"], "media_source.cover_image_url")
    if "cover_image_data" in source:
        _image_b64({"content_type": source.get("cover_image_content_type"), "data": source["cover_image_data"]},
                   "media_source.cover_image")
    return {"media_id": media_id, "sha256": item.uploads[-1]["sha256"] if item.uploads else None}


def _media_source(fake, user_id: str, source: Any) -> tuple[str, dict]:
    """Check ``media_source``; returns (media_type, what was received)."""
    if not isinstance(source, dict):
        raise invalid("media_source is required and must be an object.")
    kind = source.get("source_type")
    if kind not in SOURCE_KEYS:
        raise invalid(f"media_source.source_type must be one of {', '.join(sorted(SOURCE_KEYS))}.")
    unknown = sorted(set(source) - SOURCE_KEYS[kind] - {"source_type"})
    if unknown:
        raise invalid(f"media_source fields not allowed for {kind}: {', '.join(unknown)}.")
    if kind == "image_url":
        return "image", {"url": _public_url(source.get("url"), "media_source.url")}
    if kind == "image_base64":
        return "image", _image_b64(source, "media_source")
    if kind == "multiple_image_urls":
        return "multiple_images", {"items": _items(source, lambda it, n: _public_url(
            it.get("url") if isinstance(it, dict) else None, n + ".url"))}
    if kind == "multiple_image_base64":
        return "multiple_images", {"items": _items(source, _image_b64)}
    return "video", _video(fake, user_id, source)


def _board(fake, user_id: str, body: dict) -> str:
    board_id = body.get("board_id")
    if not isinstance(board_id, str) or not ID_RE.match(board_id):
        raise invalid("board_id is required and must be a numeric string.")
    board = fake.boards.get(board_id)
    if board is None or board["owner"] != user_id:
        raise errors.not_found("Board")
    section = body.get("board_section_id")
    if section is not None:  # the fake has no sections
        raise errors.not_found("Board section")
    return board_id


# --------------------------------------------------------------------------- operations


def create_pin(fake, user_id: str, body: Any) -> tuple[int, dict]:
    """POST /v5/pins: validate everything, store, answer 201 with the Pin."""
    if fake.trial_daily_limit is not None and not fake.sandbox_host:
        raise errors.trial_in_production()
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    unknown = sorted(set(body) - PIN_FIELDS)
    if unknown:
        raise invalid(f"Unknown fields: {', '.join(unknown)}.")
    for name in LIMITS:
        _text(body, name)
    if body.get("link") is not None:
        _public_url(body["link"], "link")
    with fake.lock:
        board_id = _board(fake, user_id, body)
        media_type, received = _media_source(fake, user_id, body.get("media_source"))
        pin_id = fake.new_id()
        pin = {
            "id": pin_id, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(fake.now())),
            "board_id": board_id, "board_section_id": None, "owner": user_id,
            "board_owner": {"username": fake.users.get(user_id, {}).get("username")},
            "title": body.get("title"), "description": body.get("description"), "link": body.get("link"),
            "alt_text": body.get("alt_text"), "is_owner": True, "creative_type": media_type.upper(),
            "media": _media_view(pin_id, media_type), "source_type": body["media_source"]["source_type"],
            "received": received, "creator_only": fake.trial_daily_limit is not None,
        }
        fake.pins[pin_id] = pin
        fake.created["pins"] += 1
    return 201, public(pin)


def _media_view(pin_id: str, media_type: str) -> dict:
    base = f"https://i.pinimg.com/{{size}}/{pin_id[-2:]}/{pin_id[-4:-2]}/{pin_id}.jpg"
    images = {size: {"width": w, "height": h, "url": base.format(size=size)}
              for size, w, h in (("150x150", 150, 150), ("400x300", 400, 300), ("600x", 600, 900))}
    if media_type == "video":
        return {"media_type": "video", "images": images, "cover_image_url": images["600x"]["url"],
                "video_url": f"https://v1.pinimg.com/videos/mc/720p/{pin_id}.mp4", "duration": 0}
    return {"media_type": media_type, "images": images}


def public(pin: dict) -> dict:
    """The Pin as the API answers it (no fake-internal bookkeeping)."""
    return {k: v for k, v in pin.items() if k not in ("owner", "received", "source_type", "creator_only")}


def _own_pin(fake, user_id: str, pin_id: str) -> dict:
    if not ID_RE.match(pin_id):
        raise invalid("pin_id must be a numeric string.")
    pin = fake.pins.get(pin_id)
    if pin is None:
        raise errors.not_found("Pin")
    if pin["owner"] != user_id:
        raise errors.forbidden()
    return pin


def get_pin(fake, user_id: str, pin_id: str) -> tuple[int, dict]:
    with fake.lock:
        return 200, public(_own_pin(fake, user_id, pin_id))


def delete_pin(fake, user_id: str, pin_id: str) -> tuple[int, None]:
    """DELETE /v5/pins/{pin_id}: 204; 404 unknown; 403 someone else's."""
    with fake.lock:
        pin = _own_pin(fake, user_id, pin_id)
        del fake.pins[pin_id]
        fake.deleted_pins.append(pin)
    return 204, None
