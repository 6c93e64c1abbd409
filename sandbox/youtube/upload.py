"""videos.insert over the resumable protocol (reference §5.2, §5.6).

POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status  open a session
PUT  /upload/youtube/v3/videos?uploadType=resumable&upload_id=<id>      a chunk, or a
     status query (``Content-Range: bytes */<total>``, empty body)

Chunks must start at the committed offset, match ``Content-Length``, carry the
declared total, and be multiples of 262,144 bytes unless final. Answers: 308 with
``Range: bytes=0-N`` (no ``Range`` when nothing is committed), or 201 with the
``youtube#video`` on the final byte. Fault endpoints ``insert``, ``chunk``, ``query``.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, request

from ..common import reset_connection
from . import errors, videos
from .calls import UPLOAD_SCOPES, api_call, fake, json_body, json_response, parts
from .state import Session, Video, new_id

bp = Blueprint("yt_upload", __name__)

QUANTUM = 256 * 1024
#: videos.insert ``maxSize`` in the youtube/v3 discovery document (256 GiB).
MAX_SIZE = 274_877_906_944
RANGE_RE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")
INSERT_PARTS = {"snippet", "status", "contentDetails", "recordingDetails", "localizations", "id"}
PRIVACY = {"private", "unlisted", "public"}
#: Category ids YouTube assigns in most regions (videoCategories.list).
CATEGORIES = {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29"}
VIDEO_SIGNATURES = (b"ftyp", b"RIFF", b"\x1a\x45\xdf\xa3", b"FLV", b"\x30\x26\xb2\x75", b"\x00\x00\x01\xba")


@bp.post("/upload/youtube/v3/videos")
def open_session() -> Response:
    return api_call("insert", UPLOAD_SCOPES, _open)


def _open(user: dict, fault) -> Response:
    if request.args.get("uploadType") != "resumable":
        raise errors.bad_request("invalidUploadType", "This sandbox accepts videos.insert only with uploadType=resumable.")
    parts(INSERT_PARTS)
    body = json_body()
    total = request.headers.get("X-Upload-Content-Length", "")
    if not total.isdigit() or int(total) <= 0:
        raise errors.bad_request("badContent", "X-Upload-Content-Length must be the video's size in bytes (> 0).")
    if int(total) > MAX_SIZE:
        raise errors.YouTubeError(413, "uploadTooLarge", f"Media larger than {MAX_SIZE} bytes (256 GiB) "
                                  "cannot be uploaded to videos.insert.")
    ctype = request.headers.get("X-Upload-Content-Type", "video/*")
    if not (ctype.startswith("video/") or ctype == "application/octet-stream"):
        raise errors.bad_request("invalidContentType", f"X-Upload-Content-Type {ctype} is not a video type.")
    snippet, status = _check_metadata(body)
    state = fake()
    state.count_upload(user["channel_id"])
    with state.lock:
        session = Session(new_id("", 24), user["channel_id"], {"snippet": snippet, "status": status},
                          int(total), ctype, state.now())
        state.sessions[session.id] = session
        state.created["sessions"] += 1
    return json_response(200, headers={"Location": _session_url(session.id)})


def _check_metadata(body: dict) -> tuple[dict, dict]:
    snippet, status = body.get("snippet") or {}, body.get("status") or {}
    if not isinstance(snippet, dict) or not isinstance(status, dict):
        raise errors.bad_request("invalidVideoMetadata", "snippet and status must be objects.")
    title = snippet.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 100 or re.search("[<>]", title):
        raise errors.bad_request("invalidTitle", "The request metadata specifies an invalid or empty video title.")
    description = snippet.get("description", "")
    if not isinstance(description, str) or len(description.encode()) > 5000 or re.search("[<>]", description):
        raise errors.bad_request("invalidDescription", "The request metadata specifies an invalid video description.")
    tags = snippet.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags) or sum(map(len, tags)) > 500:
        raise errors.bad_request("invalidTags", "The request metadata specifies invalid video keywords.")
    if "categoryId" in snippet and str(snippet["categoryId"]) not in CATEGORIES:
        raise errors.bad_request("invalidCategoryId", "The snippet.categoryId property specifies an invalid category ID.")
    privacy = status.get("privacyStatus", "public")
    if privacy not in PRIVACY:
        raise errors.bad_request("invalidValue", f"Invalid value for status.privacyStatus: {privacy}")
    if status.get("publishAt") and privacy != "private":
        raise errors.bad_request("invalidPublishAt", "publishAt requires status.privacyStatus=private.")
    if fake().unverified_project:
        status = {**status, "privacyStatus": "private"}  # unaudited API projects upload private only
    return dict(snippet), {"privacyStatus": privacy, **status}


def _session_url(upload_id: str) -> str:
    return f"{request.host_url.rstrip('/')}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"


@bp.put("/upload/youtube/v3/videos")
def put_chunk() -> Response:
    header = request.headers.get("Content-Range", "")
    endpoint = "query" if header.startswith("bytes */") else "chunk"
    return api_call(endpoint, UPLOAD_SCOPES, _put, charge=False)


def _put(user, fault) -> Response:
    state = fake()
    session = _session(request.args.get("upload_id", ""), fault)
    match = RANGE_RE.match(request.headers.get("Content-Range", ""))
    if match is None:
        raise errors.bad_request("badRequest", "Content-Range must be 'bytes first-last/total' or 'bytes */total'.")
    first, last, total = match.groups()
    if total != "*" and int(total) != session.total:
        raise errors.bad_request("badRequest", f"The total {total} differs from X-Upload-Content-Length {session.total}.")
    if first is None:
        if request.content_length:
            raise errors.bad_request("badRequest", "A status query (bytes */total) must have an empty body.")
        return _answer(state, session)
    data = request.get_data(cache=False)
    _check_chunk(session, int(first), int(last), data)
    return _store(state, session, int(first), data, fault)


def _session(upload_id: str, fault) -> Session:
    state = fake()
    with state.lock:
        session = state.sessions.get(upload_id)
        if fault is not None and fault.kind == "session_expired" and session is not None:
            session.expired = True
        gone = session is None or session.moved_to is not None
        if not gone and (session.expired or state.now() > session.created_at + state.session_lifetime):
            session.expired = True
            code = int(fault.param("status", state.expired_session_status)) if fault else state.expired_session_status
            raise errors.YouTubeError(code, "notFound", "The upload session has expired; start a new one.")
    if gone:
        raise errors.not_found("notFound", "No upload session with this upload_id.")
    return session


def _check_chunk(session: Session, first: int, last: int, data: bytes) -> None:
    if session.video_id is not None:
        raise errors.bad_request("badRequest", "This upload is already complete; query it with bytes */total.")
    if first != session.committed:
        raise errors.bad_request("badRequest", f"The chunk starts at byte {first} but {session.committed} bytes "
                                 "are committed; continue at the committed offset.")
    if last < first or last >= session.total:
        raise errors.bad_request("badRequest", f"Invalid range {first}-{last} for a {session.total}-byte upload.")
    if len(data) != last - first + 1:
        raise errors.bad_request("badRequest", f"Content-Length {len(data)} does not match the range {first}-{last}.")
    if last + 1 < session.total and len(data) % QUANTUM:
        raise errors.bad_request("badRequest", f"A non-final chunk must be a multiple of {QUANTUM} bytes.")


def _store(state, session: Session, first: int, data: bytes, fault) -> Response:
    with state.lock:
        if fault is not None and fault.kind == "reset_mid_chunk":
            # Only part of what arrived is committed, so the client must ask.
            keep = int(len(data) * float(fault.param("fraction", 0.5))) // QUANTUM * QUANTUM
            keep = min(keep, len(data) - 1)
            session.commit(data[:keep])
            session.ranges.append((first, first + len(data) - 1, session.committed))
            return reset_connection()
        session.commit(data)
        session.ranges.append((first, first + len(data) - 1, session.committed))
        if session.committed == session.total:
            _complete(state, session)
            return json_response(201, videos.render(state, state.videos[session.video_id], None, owner=True))
        if fault is not None and fault.kind == "new_location":
            moved = Session(**{**session.__dict__, "id": new_id("", 24)})
            session.moved_to = moved.id
            state.sessions[moved.id] = moved
            return _answer(state, moved, {"Location": _session_url(moved.id)})
    return _answer(state, session)


def _answer(state, session: Session, headers: dict | None = None) -> Response:
    headers = dict(headers or {})
    if session.video_id is not None:
        return json_response(200, videos.render(state, state.videos[session.video_id], None, owner=True))
    if session.committed:
        headers["Range"] = f"bytes=0-{session.committed - 1}"
    return json_response(308, headers=headers)


def _complete(state, session: Session) -> None:
    outcome, reason = state.take_next_outcome()
    if state.check_video_signature and not any(sig in session.head[:16] for sig in VIDEO_SIGNATURES):
        outcome, reason = "failed", "invalidFile"
    video_id = new_id("", 8, 11)
    snippet = {**session.metadata["snippet"], "channelId": session.channel_id}
    state.videos[video_id] = Video(video_id, session.channel_id, snippet, dict(session.metadata["status"]),
                                   state.now(), session.total, session.sha256, outcome, reason)
    session.video_id = video_id
    state.created["videos"] += 1
