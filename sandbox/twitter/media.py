"""Media upload rules of the fake X (reference §1.3, §1.4, §1.6).

Each operation takes the ``FakeX`` state, the caller's user id and already-parsed
inputs, and returns ``(status, json_body)`` or raises ``XProblem``:
``initialize``, ``append``, ``finalize``, ``status``, ``upload_image``.
``MediaItem`` is the record kept per media id (``FakeX.media[id]``); uploaded bytes
are not kept, only per-segment sizes and hashes plus the running sha256.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..common import MiB, DigestSink
from .problems import invalid_request
from sandbox import mediacheck

from .sniff import is_animated_gif, looks_like_video, sniff_image

MEDIA_ID_RE = re.compile(r"^[0-9]{1,19}$")
SEGMENT_INDEX_RE = re.compile(r"^[0-9]{1,4}$")
MAX_SEGMENT = 5 * MiB
MAX_SEGMENT_INDEX = 999
#: ``initialize`` answers ~15 days; after ``finalize`` a media id is good for 24 h.
INIT_EXPIRES_AFTER_SECS = 1_295_999
EXPIRES_AFTER_SECS = 86400
MAX_ALT_TEXT = 1000
#: A STATUS poll this much earlier than ``check_after_secs`` still counts: client
#: timers and our clock differ slightly.
POLL_TOLERANCE = 0.25
#: Bytes of an image read to find its type and size (JPEG EXIF can be ~64 KiB).
SNIFF_BYTES = 256 * 1024

CATEGORY_KIND = {
    "tweet_image": "image",
    "dm_image": "image",
    "tweet_gif": "gif",
    "dm_gif": "gif",
    "tweet_video": "video",
    "amplify_video": "video",
    "dm_video": "video",
}
KIND_TYPES = {
    "image": {"image/jpeg", "image/png", "image/gif", "image/webp"},
    "gif": {"image/gif"},
    "video": {"video/mp4", "video/quicktime"},
}
#: Byte limits per kind (MB read as MiB, like the 5 MiB segment). Video: ``initialize``
#: takes up to 16 GiB (X Premium); the per-account caps apply when posting.
KIND_LIMITS = {"image": 5 * MiB, "gif": 15 * MiB, "video": 16 * 1024**3}
#: media_key prefixes X uses: 3 photo, 16 animated GIF, 7 video.
KEY_PREFIX = {"image": "3", "gif": "16", "video": "7"}
INIT_FIELDS = {"media_type", "total_bytes", "media_category", "additional_owners", "shared"}
IMAGE_FIELDS = {"media", "media_category", "media_type", "additional_owners", "shared"}
TWEETABLE_CATEGORIES = {"tweet_image", "tweet_gif", "tweet_video", "amplify_video"}


@dataclass
class MediaItem:
    """One media id. Dict-style reads work too: ``fake.media[id]["total_bytes"]``."""

    id: str
    media_key: str
    owner: str
    media_type: str
    category: str
    kind: str
    total_bytes: int
    created_at: float
    expires_at: float
    additional_owners: list = field(default_factory=list)
    segments: dict = field(default_factory=dict)  # index -> byte length
    segment_sha256: dict = field(default_factory=dict)  # index -> hex digest
    head: bytes = b""  # first bytes of segment 0, for the content checks
    sha256: str | None = None  # of the assembled bytes, set by finalize
    finalized: bool = False
    state: str = "uploading"  # uploading | pending | in_progress | succeeded | failed
    polls: int = 0
    progress: int = 0
    next_poll_at: float = 0.0
    outcome: str | None = None  # scripted end of processing: succeeded | failed | stuck
    failure_message: str = "Unsupported video format"
    image: dict | None = None
    alt_text: str | None = None
    duration_secs: float | None = None  # known length of a video (knob), checked when posting
    append_calls: int = 0
    hasher: Any = field(default_factory=hashlib.sha256, repr=False)
    spool: Any = field(default=None, repr=False)  # the received video on disk, until judged (sandbox.mediacheck)
    probe: dict | None = None  # what the codec judgement read from it

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "media_key": self.media_key,
            "owner": self.owner,
            "additional_owners": list(self.additional_owners),
            "media_type": self.media_type,
            "media_category": self.category,
            "kind": self.kind,
            "total_bytes": self.total_bytes,
            "received_bytes": sum(self.segments.values()),
            "segments": dict(self.segments),
            "segment_sha256": dict(self.segment_sha256),
            "sha256": self.sha256,
            "finalized": self.finalized,
            "state": self.state,
            "polls": self.polls,
            "outcome": self.outcome,
            "expires_at": self.expires_at,
            "append_calls": self.append_calls,
            "image": self.image,
            "alt_text": self.alt_text,
        }

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]

    def usable_in_tweet(self, user_id: str, now: float) -> bool:
        return (
            self.state == "succeeded"
            and (user_id == self.owner or user_id in self.additional_owners)
            and now < self.expires_at
            and self.category in TWEETABLE_CATEGORIES
        )


# --------------------------------------------------------------------------- inputs


def _owners(value: Any) -> list[str]:
    """``additional_owners``: a JSON list of user ids or a comma-separated form value."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and MEDIA_ID_RE.match(v.strip()) for v in items):
        raise invalid_request("additional_owners must be a list of numeric user ids.", additional_owners=value)
    return [v.strip() for v in items]


def _total_bytes(value: Any, from_form: bool) -> int:
    # Form fields are text; a JSON body must carry a real integer, as X's schema says.
    if from_form and isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise invalid_request("total_bytes must be an integer greater than 0.", total_bytes=value)
    return value


def _segment_index(value: Any) -> int:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not SEGMENT_INDEX_RE.match(text) or int(text) > MAX_SEGMENT_INDEX:
        raise invalid_request(
            f"segment_index must be an integer from 0 to {MAX_SEGMENT_INDEX}.", segment_index=value
        )
    return int(text)


def _unknown_fields(params: dict, allowed: set) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise invalid_request(
            f"The following fields are not recognized: {', '.join(unknown)}.", **{k: params[k] for k in unknown}
        )


def lookup(fake, user_id: str, raw_id: Any, param: str = "id") -> MediaItem:
    """The caller's own, unexpired media ``raw_id``; 400 invalid-request otherwise."""
    raw = raw_id if isinstance(raw_id, str) else ""
    if not MEDIA_ID_RE.match(raw):
        raise invalid_request(f"The `{param}` value [{raw_id}] does not match ^[0-9]{{1,19}}$.", **{param: raw_id})
    item = fake.media.get(raw)
    if item is None or item.owner != user_id:
        raise invalid_request(f"Media id {raw} was not found for the authenticated user.", **{param: raw})
    if fake.now() >= item.expires_at:
        raise invalid_request(f"Media id {raw} has expired.", **{param: raw})
    return item


def _new_item(fake, user_id, kind, category, media_type, total, owners) -> MediaItem:
    media_id = fake.new_id()
    now = fake.now()
    return MediaItem(
        id=media_id,
        media_key=f"{KEY_PREFIX[kind]}_{media_id}",
        owner=user_id,
        media_type=media_type,
        category=category,
        kind=kind,
        total_bytes=total,
        created_at=now,
        expires_at=now + INIT_EXPIRES_AFTER_SECS,
        additional_owners=owners,
    )


def _seconds_left(fake, item: MediaItem) -> int:
    return max(0, math.ceil(item.expires_at - fake.now()))


# --------------------------------------------------------------------------- operations


def initialize(fake, user_id: str, params: dict, from_form: bool = False) -> tuple[int, dict]:
    """INIT: ``{media_type, total_bytes, media_category}`` -> ``{data:{id, media_key, ...}}``.

    ``from_form``: the command style sends form fields, so digit strings are numbers.
    """
    _unknown_fields(params, INIT_FIELDS)
    media_type = params.get("media_type")
    if not isinstance(media_type, str) or not media_type:
        raise invalid_request("media_type is required.", media_type=media_type)
    category = params.get("media_category")
    if category is None:
        if media_type.startswith("video/"):
            raise invalid_request("media_category is required for video (e.g. tweet_video).", media_category="")
        category = "tweet_image"  # what X assumes without a category: no async processing
    kind = CATEGORY_KIND.get(category)
    if kind is None:
        raise invalid_request(f"media_category must be one of {sorted(CATEGORY_KIND)}.", media_category=category)
    if media_type not in KIND_TYPES[kind]:
        raise invalid_request(
            f"media_type {media_type} does not match media_category {category}.", media_type=media_type
        )
    total = _total_bytes(params.get("total_bytes"), from_form)
    if total > KIND_LIMITS[kind]:
        raise invalid_request(
            f"total_bytes {total} exceeds the {KIND_LIMITS[kind]} byte limit for {category}.", total_bytes=total
        )
    item = _new_item(fake, user_id, kind, category, media_type, total, _owners(params.get("additional_owners")))
    with fake.lock:
        fake.media[item.id] = item
    data = {"id": item.id, "media_key": item.media_key, "expires_after_secs": INIT_EXPIRES_AFTER_SECS}
    return 200, {"data": data}


def append(fake, user_id: str, raw_id: Any, raw_index: Any, sink: DigestSink | None) -> tuple[int, dict]:
    """APPEND one segment: contiguous index, <= 5 MiB; identical re-send of the last is a no-op."""
    item = lookup(fake, user_id, raw_id)
    with fake.lock:
        item.append_calls += 1
    if item.finalized:
        raise invalid_request(f"Media id {item.id} is already finalized; no more segments.", id=item.id)
    index = _segment_index(raw_index)
    if sink is None:
        raise invalid_request("media is required: send the segment as a multipart file part.", media="")
    if sink.size == 0 or sink.size > MAX_SEGMENT or not sink.complete:
        raise invalid_request(
            f"Segment {index} is {sink.size} bytes; each segment must be 1 to {MAX_SEGMENT} bytes.",
            segment_index=index,
        )
    with fake.lock:
        _store_segment(item, index, sink, judge=fake.check_video_signature)
    return 200, {"data": {"expires_at": int(item.expires_at)}}


def _store_segment(item: MediaItem, index: int, sink: DigestSink, judge: bool = False) -> None:
    if item.finalized:  # checked again under the lock: a FINALIZE may have raced us
        raise invalid_request(f"Media id {item.id} is already finalized; no more segments.", id=item.id)
    expected = len(item.segments)
    if index == expected:
        item.segments[index] = sink.size
        item.segment_sha256[index] = sink.hexdigest
        item.hasher.update(sink.view())
        if item.kind == "video" and judge:  # kept on disk for the codec judgement at finalize
            item.spool = item.spool or mediacheck.Spool()
            item.spool.write(sink.view())
        if index == 0:
            item.head = bytes(sink.view()[: SNIFF_BYTES if item.kind == "image" else 64])
        return
    if index == expected - 1:
        if item.segments[index] == sink.size and item.segment_sha256[index] == sink.hexdigest:
            return  # a client retry after a lost answer: already stored, change nothing
        raise invalid_request(
            f"segment_index {index} was already received with different bytes; a re-send must be identical.",
            segment_index=index,
        )
    if index > expected:
        message = f"segment_index {index} is not contiguous: the next expected segment_index is {expected}."
    else:
        message = f"segment_index {index} was already received; the next expected segment_index is {expected}."
    raise invalid_request(message, segment_index=index)


def finalize(fake, user_id: str, raw_id: Any) -> tuple[int, dict]:
    """FINALIZE: sizes must add up; video/GIF start processing. A repeat returns the state."""
    item = lookup(fake, user_id, raw_id)
    with fake.lock:
        if not item.finalized:
            received = sum(item.segments.values())
            if received != item.total_bytes:
                raise invalid_request(
                    f"Segments do not add up to provided total file size ({received} of {item.total_bytes} bytes).",
                    total_bytes=item.total_bytes,
                )
            if item.kind == "image":
                _check_image(item)
            else:
                _start_processing(fake, item)
            item.sha256 = item.hasher.hexdigest()
            item.finalized = True
            item.expires_at = fake.now() + EXPIRES_AFTER_SECS  # usable for 24 h from now
        return 200, {"data": _finalize_data(fake, item)}


def _check_image(item: MediaItem) -> None:
    found = sniff_image(item.head)
    if found is None or (found[0] != item.media_type):
        raise invalid_request(f"The uploaded bytes are not a valid {item.media_type} image.", media_type=item.media_type)
    item.image = {"image_type": found[0], "w": found[1], "h": found[2]}
    item.state = "succeeded"


def _start_processing(fake, item: MediaItem) -> None:
    if item.outcome is None:
        item.outcome, message = fake.take_next_outcome()
        item.failure_message = message or item.failure_message
    garbage = (item.kind == "gif" and not item.head.startswith(b"GIF8")) or (
        item.kind == "video" and fake.check_video_signature and not looks_like_video(item.head)
    )
    if garbage:
        item.outcome, item.failure_message = "failed", f"Unsupported {item.kind} format"
    elif item.spool is not None:  # judge codecs as X's processing does
        item.spool.close()
        problem, item.probe = mediacheck.judge_x(item.spool.path)
        item.spool.remove()
        if problem:
            item.outcome, item.failure_message = "failed", problem
    if fake.processing_polls <= 0 and item.outcome == "succeeded":
        item.state, item.progress = "succeeded", 100
        return
    item.state = "pending"
    item.next_poll_at = fake.now() + fake.check_after_secs


def _finalize_data(fake, item: MediaItem) -> dict:
    data = {
        "id": item.id,
        "media_key": item.media_key,
        "size": item.total_bytes,
        "expires_after_secs": _seconds_left(fake, item),
    }
    if item.kind == "image":
        data["image"] = item.image
    else:
        data["video"] = {"video_type": item.media_type}
    if item.state != "succeeded":  # no processing_info means ready (reference §1.3)
        data["processing_info"] = _processing_info(fake, item)
    return data


def _processing_info(fake, item: MediaItem) -> dict:
    info: dict = {"state": item.state, "progress_percent": item.progress}
    if item.state in ("pending", "in_progress"):
        info["check_after_secs"] = max(0, math.ceil(item.next_poll_at - fake.now()))
    if item.state == "failed":
        info["error"] = {"code": 1, "name": "InvalidMedia", "message": item.failure_message}
    return info


def status(fake, user_id: str, raw_id: Any) -> tuple[int, dict]:
    """STATUS: advance the scripted processing by one poll and report it."""
    item = lookup(fake, user_id, raw_id, param="media_id")
    with fake.lock:
        if not item.finalized:
            raise invalid_request(f"Media id {item.id} is not finalized yet.", media_id=item.id)
        _advance(fake, item)
        data = {
            "id": item.id,
            "media_key": item.media_key,
            "expires_after_secs": _seconds_left(fake, item),
            "processing_info": _processing_info(fake, item),
        }
    return 200, {"data": data}


def _advance(fake, item: MediaItem) -> None:
    """pending -> in_progress ... -> succeeded|failed over ``processing_polls`` polls.

    A poll sent before ``check_after_secs`` elapsed does not advance: a client that
    does not wait as told never sees its media finish.
    """
    if item.state not in ("pending", "in_progress"):
        return
    now = fake.now()
    if now + POLL_TOLERANCE < item.next_poll_at:
        return
    item.polls += 1
    item.next_poll_at = now + fake.check_after_secs
    total = max(fake.processing_polls, 1)
    if item.outcome == "stuck" or item.polls < total:
        item.state = "in_progress"
        item.progress = min(int(100 * item.polls / total), 90 if item.outcome == "stuck" else 99)
    elif item.outcome == "failed":
        item.state = "failed"
    else:
        item.state, item.progress = "succeeded", 100


def upload_image(fake, user_id: str, params: dict, sink: DigestSink | None) -> tuple[int, dict]:
    """One-shot image: ``media`` (jpeg/png/gif/webp, <= 5 MiB) + ``media_category``."""
    _unknown_fields(params, IMAGE_FIELDS)
    category = params.get("media_category")
    if CATEGORY_KIND.get(category) != "image":
        raise invalid_request(
            "media_category must be tweet_image or dm_image here; upload video and GIF in chunks.",
            media_category=category,
        )
    if sink is None or sink.size == 0:
        raise invalid_request("media is required: send the image as a multipart file part.", media="")
    if sink.size > KIND_LIMITS["image"] or not sink.complete:
        raise invalid_request(f"Images must be at most {KIND_LIMITS['image']} bytes.", media=f"{sink.size} bytes")
    found = sniff_image(bytes(sink.view()[:SNIFF_BYTES]))
    if found is None or params.get("media_type", found[0]) != found[0]:
        raise invalid_request("media is not a JPEG, PNG, GIF or WEBP image (or not of media_type).", media="")
    if found[0] == "image/gif" and is_animated_gif(bytes(sink.view())):
        raise invalid_request("Animated GIFs are uploaded in chunks with media_category=tweet_gif.",
                              media_category=category)
    item = _new_item(fake, user_id, "image", category, found[0], sink.size, _owners(params.get("additional_owners")))
    item.segments, item.segment_sha256 = {0: sink.size}, {0: sink.hexdigest}
    item.sha256, item.finalized, item.state, item.progress = sink.hexdigest, True, "succeeded", 100
    item.image = {"image_type": found[0], "w": found[1], "h": found[2]}
    item.expires_at = fake.now() + EXPIRES_AFTER_SECS
    item.hasher = None
    with fake.lock:
        fake.media[item.id] = item
    return 200, {"data": _finalize_data(fake, item)}


def set_metadata(fake, user_id: str, body: Any) -> tuple[int, dict]:
    """POST /2/media/metadata ``{"id", "metadata": {"alt_text": {"text"}}}``: alt text
    (at most 1000 characters) for an image or GIF of the caller's."""
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise invalid_request("The body must be {\"id\": ..., \"metadata\": {...}}.", body="")
    item = lookup(fake, user_id, body.get("id"))
    alt = body["metadata"].get("alt_text")
    text = alt.get("text") if isinstance(alt, dict) else None
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_ALT_TEXT:
        raise invalid_request(f"metadata.alt_text.text must be 1 to {MAX_ALT_TEXT} characters.", alt_text=text)
    if item.kind not in ("image", "gif"):
        raise invalid_request("Alt text is supported for images and GIFs.", id=item.id)
    with fake.lock:
        item.alt_text = text
    return 200, {"data": {"id": item.id, "associated_metadata": {"alt_text": {"text": text}}}}
