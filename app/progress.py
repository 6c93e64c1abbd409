"""``PushRequest.progress``: one namespace per owner, each with its own shape.

A push keeps state between its tasks in one JSON column. Each layer that keeps
some has its own section, reads only that one and writes only that one:

========== ========================================= =================================
key        owner                                     shape
========== ========================================= =================================
download   the download step (app.pipeline.download) ``Downloaded``: the staged file's
                                                     format (the transcode step rewrites
                                                     it when it replaces the file)
media      the transcode step, and the upload stage  ``Media``: probe, decision, encode
           for the pictures it converts              progress; the status API's
                                                     ``audit.media``
restaged   app.pipeline.restage                      ``Restaged``: the request went
                                                     back to the download step once
provider   the provider adapter (``ctx.progress``)   ``ProviderState``: its resumable
                                                     upload state, and ``publish_once``'s
                                                     markers and ids
stream     the Stream API's producers                ``StreamState``: comments seen,
           (app.stream.producers)                    check stamps, the last check error
========== ========================================= =================================

Readers take the whole row and return a copy of one section; ``with_section``
returns the row with one section replaced, to be written back. The adapter's
section is free-form (each network keeps what its protocol needs); what the
pipeline may ask about it goes through ``publish_marker`` / ``publishes_started``
/ ``reached_provider`` here, never through an adapter's key.

Rows written before the namespaces (in flight during an upgrade) kept everything
at the top level: ``format``/``mime_type`` are read as the download section, the
stream's keys as the stream section, every other top-level key as the provider
section. ``with_section`` moves an owner's flat keys under its key when it writes.
"""

from __future__ import annotations

import copy
from typing import Any, TypedDict

DOWNLOAD = "download"
MEDIA = "media"
RESTAGED = "restaged"
PROVIDER = "provider"
STREAM = "stream"
NAMESPACES = (DOWNLOAD, MEDIA, RESTAGED, PROVIDER, STREAM)


class Downloaded(TypedDict):
    """What is in staging, recorded by the download step about the file it staged."""

    format: str  # one of app.sniff.VIDEO_FORMATS, read from the content
    mime_type: str


class Media(TypedDict, total=False):
    """The transcode step's audit of the video, and the upload stage's of pictures."""

    network: str
    spec: str | None
    account_tier: dict  # the X account tier the spec follows
    probe: dict
    decision: dict  # {"action": pass|remux|transcode|refuse, "why": [...], ...}
    encode: dict
    output: dict
    percent: float
    done: bool  # the staged file is the one to upload
    pictures: list[dict]  # each picture the upload stage downloaded: probe, decision, output


class Restaged(TypedDict):
    """Set when a staged copy vanished and the request went back to the download step."""

    stage: str  # the stage that found the copy gone: transcode or upload
    key: str
    at: str  # ISO 8601


#: The adapter's own state (``PushContext.progress``), free-form for the adapter.
#: Two kinds of keys have a meaning outside it, both written by ``publish_once``
#: (app.providers.base) and by adapters once something exists at the provider:
#: ``publish_marker(id_key)`` while a publish step runs, and the created ids.
ProviderState = dict[str, Any]


class CheckError(TypedDict):
    reason: str
    info: str
    at: float  # POSIX time


class StreamState(TypedDict, total=False):
    """The Stream API's bookkeeping on a pushed video."""

    comments_seen: str  # the last comment id emitted (the ``since`` of the next poll)
    comment_ids: list[str]  # the ids emitted lately (the last SEEN_IDS_KEPT)
    comments_checked_at: float  # POSIX time of the last poll for comments
    exists_checked_at: float  # POSIX time of the last "does it still exist" check
    stream_check_error: CheckError  # the last check's error, cleared by a good check


#: Flat keys of rows written before the namespaces, by owner (the provider's are the rest).
_LEGACY = {
    DOWNLOAD: ("format", "mime_type"),
    STREAM: tuple(StreamState.__annotations__),
}
_NOT_PROVIDER = frozenset(NAMESPACES) | {key for keys in _LEGACY.values() for key in keys}

#: Ids an adapter saves once it created something at the provider (``publish_once``'s
#: ``id_key``, or an upload's created object).
CREATED_IDS = ("video_id", "tweet_id", "pin", "post_id", "picture_id")
_PUBLISHING = "_publishing"


def _legacy(row: dict, name: str) -> dict:
    if name == PROVIDER:
        return {k: v for k, v in row.items() if k not in _NOT_PROVIDER}
    return {k: row[k] for k in _LEGACY.get(name, ()) if k in row}


def section(row: dict | None, name: str) -> dict:
    """A copy of the ``name`` section of a progress row (a legacy row's flat keys)."""
    row = row or {}
    if name in row:
        return copy.deepcopy(row[name] or {})
    return copy.deepcopy(_legacy(row, name))


def with_section(row: dict | None, name: str, value: dict | None) -> dict:
    """The row with its ``name`` section replaced by ``value`` (removed for None), and
    that owner's flat keys of a legacy row dropped (now under its key)."""
    row = dict(row or {})
    for key in _legacy(row, name):
        row.pop(key)
    if value is None:
        row.pop(name, None)
    else:
        row[name] = value
    return row


def download(row: dict | None) -> Downloaded:
    own = section(row, DOWNLOAD)
    return Downloaded(format=own.get("format", ""), mime_type=own.get("mime_type", "video/mp4"))


def media(row: dict | None) -> Media:
    return Media(**section(row, MEDIA))


def media_done(row: dict | None) -> bool:
    """Whether the transcode step finished with the staged file (it is the one to upload)."""
    return bool(section(row, MEDIA).get("done"))


def restaged(row: dict | None) -> Restaged | None:
    own = (row or {}).get(RESTAGED)
    return Restaged(**own) if own else None


def provider(row: dict | None) -> ProviderState:
    return section(row, PROVIDER)


def stream(row: dict | None) -> StreamState:
    return StreamState(**section(row, STREAM))


def publish_marker(id_key: str) -> str:
    """The provider-section key ``publish_once`` sets while the step creating ``id_key`` runs."""
    return id_key + _PUBLISHING


def publishes_started(state: ProviderState) -> list[str]:
    """The markers of publish steps that started and were not confirmed (they may have run)."""
    return sorted(k for k, v in state.items() if k.endswith(_PUBLISHING) and v)


def reached_provider(state: ProviderState) -> bool:
    """Whether the adapter created something at the provider or started a publish step."""
    return any(key.endswith(_PUBLISHING) or key in CREATED_IDS for key in state)
