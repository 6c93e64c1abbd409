"""Video media of the fake Pinterest (reference §4.3): register, status, and the
S3 form-upload bucket (served by the same fake at ``POST /``).

``register(fake, user_id, body, host_url)`` and ``status(fake, user_id, media_id)``
return ``(status, body)`` or raise ``PinterestError``; ``bucket_post(fake, environ_stream,
headers)`` returns a Flask ``Response`` (S3 answers XML, not Pinterest JSON).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any, Iterator

from flask import Response, request
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from .. import mediacheck
from ..common import DigestSink
from .errors import invalid, not_found, s3_error
from .state import Media

MAX_VIDEO = 2 * 1024**3
READ_SIZE = 256 * 1024
FIELD_MAX = 64 * 1024
#: Container signatures a real video starts with (ftyp box, QuickTime atoms).
VIDEO_HEADS = (b"ftyp", b"moov", b"mdat", b"free", b"wide")


# --------------------------------------------------------------------------- API side


def register(fake, user_id: str, body: Any, host_url: str) -> tuple[int, dict]:
    """POST /v5/media ``{"media_type": "video"}`` -> 201 with upload_url + parameters."""
    if not isinstance(body, dict) or set(body) != {"media_type"}:
        raise invalid('The body must be exactly {"media_type": "video"}.')
    if body["media_type"] != "video":
        raise invalid("media_type must be video.")
    now = fake.now()
    with fake.lock:
        media_id = fake.new_id(10)
        key = f"uploads/{secrets.token_hex(1)}/{secrets.token_hex(1)}/{user_id}:video:{media_id}"
        params = _upload_parameters(key, now, now + fake.upload_ttl)
        fake.media[media_id] = Media(media_id, user_id, key, params, now + fake.upload_ttl)
        fake.created["media"] += 1
    return 201, {"media_id": media_id, "media_type": "video", "upload_url": host_url, "upload_parameters": params}


def _upload_parameters(key: str, now: float, expires: float) -> dict:
    day = time.strftime("%Y%m%d", time.gmtime(now))
    policy_doc = {"expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
                  "conditions": [{"bucket": "pinterest-media-upload"}, {"key": key},
                                 ["content-length-range", 0, MAX_VIDEO]]}
    policy = base64.b64encode(json.dumps(policy_doc).encode()).decode()
    return {
        "x-amz-date": f"{day}T{time.strftime('%H%M%S', time.gmtime(now))}Z",
        "x-amz-signature": hmac.new(b"fake-s3-secret", policy.encode(), hashlib.sha256).hexdigest(),
        "x-amz-security-token": secrets.token_urlsafe(48),
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "key": key,
        "policy": policy,
        "x-amz-credential": f"ASIA{secrets.token_hex(8).upper()}/{day}/us-east-1/s3/aws4_request",
        "Content-Type": "multipart/form-data",
    }


def status(fake, user_id: str, media_id: str) -> tuple[int, dict]:
    """GET /v5/media/{id}: registered -> processing -> succeeded|failed; each poll of a
    processing media counts, and after ``fake.processing_polls`` polls it ends."""
    with fake.lock:
        item = fake.media.get(media_id)
        if item is None or item.owner != user_id:
            raise not_found("Media")
        if item.status == "processing" and item.outcome != "stuck":
            item.polls += 1
            if item.polls > fake.processing_polls:
                item.status = item.outcome
        # MediaUploadDetails has no reason field: a failure says only "failed".
        body = {"media_id": item.id, "media_type": "video", "status": item.status}
    return 200, body


# --------------------------------------------------------------------------- bucket side


def bucket_post(fake) -> Response:
    """The S3 POST-object endpoint: every upload parameter echoed exactly, then ``file``
    last, with a Content-Length. Success 204; errors are S3 XML."""
    if request.headers.get("Content-Length") is None:
        drain()
        return s3_error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
    boundary = request.mimetype_params.get("boundary")
    if request.mimetype != "multipart/form-data" or not boundary:
        drain()
        return s3_error(400, "InvalidArgument", "Bucket POST must be of the enclosure-type multipart/form-data")
    try:
        fields, sink, order = _parse(boundary.encode())
    except ValueError as exc:
        return s3_error(400, "MalformedPOSTRequest", str(exc))
    try:
        problem = _check_form(fake, fields, sink, order)
        if problem is not None:
            return problem
        _accept(fake, fields["key"], sink)
    finally:
        if sink is not None:
            sink.spool.remove()
    return Response(status=204)


def drain() -> None:
    """Read the rest of a refused body so the client sees our answer, not a reset."""
    for _ in iter(lambda: request.stream.read(READ_SIZE), b""):
        pass


def _chunks() -> Iterator[bytes | None]:
    stream = request.stream
    while True:
        chunk = stream.read(READ_SIZE)
        if not chunk:
            yield None
            return
        yield chunk


def _parse(boundary: bytes) -> tuple[dict, DigestSink | None, list[str]]:
    """Stream the form: fields into a dict, the file part into a DigestSink; ``order``
    lists part names as they came (the file part must be last)."""
    decoder = MultipartDecoder(boundary)  # its size cap counts file bytes too; fields are capped below
    fields: dict[str, str] = {}
    order: list[str] = []
    sink, current, buf = None, None, bytearray()
    try:
        for data in _chunks():
            decoder.receive_data(data)
            event = decoder.next_event()
            while not isinstance(event, (Epilogue, NeedData)):
                if isinstance(event, (Field, File)):
                    current, buf = event, bytearray()
                    order.append(event.name)
                    if isinstance(event, File):
                        if sink is not None:
                            raise ValueError("POST requires exactly one file upload per request.")
                        sink = mediacheck.SpoolingSink(keep=1024 * 1024)
                elif isinstance(event, Data):
                    if isinstance(current, File):
                        sink.write(event.data)
                    else:
                        buf += event.data
                        if len(buf) > FIELD_MAX:
                            raise ValueError(f"Form field {current.name} is too large.")
                        if not event.more_data:
                            fields[current.name] = buf.decode("utf-8", "replace")
                event = decoder.next_event()
    except BaseException:
        if sink is not None:
            sink.spool.remove()  # a broken upload leaves no file behind
        raise
    return fields, sink, order


def _check_form(fake, fields: dict, sink: DigestSink | None, order: list[str]) -> Response | None:
    if sink is None or "file" not in order:
        return s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    if order[-1] != "file":
        return s3_error(400, "InvalidArgument",
                        "The file must be the last field in the form; fields after it are ignored.")
    key = fields.get("key")
    if not key:
        return s3_error(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.")
    with fake.lock:
        item = next((m for m in fake.media.values() if m.key == key), None)
        if item is None:
            return s3_error(403, "AccessDenied", f'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "{key}"]')
        for name, value in item.params.items():
            if fields.get(name) != value:
                return s3_error(403, "AccessDenied",
                                f'Invalid according to Policy: Policy Condition failed: ["eq", "${name}", "{value}"]')
        extra = sorted(set(fields) - set(item.params))
        if extra:
            return s3_error(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
        if fake.now() >= item.policy_expires_at:
            return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    if sink.size > MAX_VIDEO:
        return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    return None


def _accept(fake, key: str, sink: DigestSink) -> None:
    with fake.lock:
        item = next(m for m in fake.media.values() if m.key == key)
        item.uploads.append({"size": sink.size, "sha256": sink.hexdigest,
                             "range": [0, max(0, sink.size - 1)], "head": sink.head[:16].hex()})
        fake.created["uploads"] += 1
        outcome, message = fake.take_next_outcome()
        if fake.check_video_signature and not _looks_like_video(sink.head):
            outcome, message = "failed", "Video file format not supported; upload an MP4, MOV or M4V."
        elif fake.check_video_signature:  # judge codecs and length as Pinterest's processing does
            sink.spool.close()
            problem, item.probe = mediacheck.judge_pinterest(sink.spool.path)
            if problem:
                outcome, message = "failed", problem
        item.status, item.polls = "processing", 0
        if item.outcome == "succeeded":  # not scripted per media: take the queued knob
            item.outcome = outcome
            item.failure_message = message or item.failure_message


def _looks_like_video(head: bytes) -> bool:
    return head[4:8] in VIDEO_HEADS
