"""Pinterest API v5: OAuth refresh, image Pins, video Pins (register, form-upload, poll, pin).

Protocol: docs/providers.md section 4. A video Pin registers a media
(``POST /v5/media``), posts the staged file to the returned S3 ``upload_url`` as one
multipart form (every ``upload_parameters`` field, then ``file``, with a
Content-Length), polls ``GET /v5/media/{id}`` until ``succeeded`` and publishes with
``POST /v5/pins``. The form upload cannot be resumed: until the bucket acknowledged
it, a retry registers a new media. Once acknowledged, ``progress`` remembers the
media id so a retry only polls and publishes.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import secrets
import time
from typing import Iterator

import requests

from app.providers.base import ProviderAdapter, PushContext, PushOutcome, TokenSet, publish_once, publish_started
from app.providers.capabilities import Deletes, ChecksExistence
from app.providers.errors import InvalidInput, OutcomeUnknown, ProcessingFailed, TransientError
from app.providers.pinterest.errors import error_body, translate
from app.providers.tokens import refresh_grant

PICTURE_CAP = 20 * 1024 * 1024
BASE64_FORMATS = {"jpeg": "image/jpeg", "png": "image/png"}
UPLOAD_CHUNK = 1024 * 1024
PIN_URL = "https://www.pinterest.com/pin/{}/"


class PinterestAdapter(ProviderAdapter, Deletes, ChecksExistence):
    name = "pinterest"
    staged_kinds = frozenset({"pin"})
    max_video_bytes = 2 * 1024**3

    def __init__(self, *args, poll_interval: float = 2.0, processing_timeout: float = 300.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.poll_interval = poll_interval
        self.processing_timeout = processing_timeout

    @classmethod
    def from_settings(cls, settings) -> "PinterestAdapter":
        adapter = super().from_settings(settings)
        adapter.poll_interval = settings.pinterest_poll_interval
        adapter.processing_timeout = settings.pinterest_processing_timeout
        return adapter

    # -- tokens -------------------------------------------------------------
    def refresh(self, refresh_token: str) -> TokenSet:
        """Refresh grant with Basic client auth and ``continuous_refresh=true`` (always
        sent: apps created before 2025-09-25 need it); the new refresh token replaces the old."""
        return refresh_grant(self, self.base_url + "/v5/oauth/token", refresh_token, display="Pinterest",
                                   translate=translate, basic_auth=True, continuous_refresh="true")

    # -- pushes -------------------------------------------------------------
    def push(self, ctx: PushContext) -> PushOutcome:
        if ctx.kind != "pin":
            raise InvalidInput(f"Pinterest has no '{ctx.kind}' push.", reason="unsupported_kind")
        if ctx.payload.get("video_url"):
            return self.video_pin(ctx)
        return self.picture_pin(ctx)

    def picture_pin(self, ctx: PushContext) -> PushOutcome:
        """Download the picture ourselves (Pinterest cannot reach private origins) and
        send jpeg/png inline as base64; other formats go by URL."""
        url, source = ctx.payload["picture"], None
        if not publish_started(ctx, "pin"):  # else nothing is sent: no download
            data, fmt = ctx.download(url, PICTURE_CAP)
            if fmt in BASE64_FORMATS:
                source = {"source_type": "image_base64", "content_type": BASE64_FORMATS[fmt],
                          "data": base64.b64encode(data).decode()}
            else:
                source = {"source_type": "image_url", "url": url}
        return self._outcome(self._create_pin(ctx, source), {})

    def video_pin(self, ctx: PushContext) -> PushOutcome:
        """Register + upload (unless a previous attempt's upload was acknowledged),
        wait for processing, then publish the Pin."""
        progress = ctx.progress
        if not progress.get("pinterest_uploaded"):
            media = self._register(ctx)
            progress["pinterest_media_id"] = media["media_id"]
            ctx.save_progress(progress)
            self._upload(ctx, media)
            progress["pinterest_uploaded"] = True
            ctx.save_progress(progress)
        media_id = progress["pinterest_media_id"]
        self._wait_processed(ctx, media_id)
        source = {"source_type": "video_id", "media_id": media_id, "cover_image_key_frame_time": 0}
        return self._outcome(self._create_pin(ctx, source), {"media_id": media_id})

    # -- steps --------------------------------------------------------------
    def _headers(self, ctx: PushContext) -> dict:
        return {"Authorization": f"Bearer {ctx.access_token}"}

    def _register(self, ctx: PushContext) -> dict:
        resp = self.request("POST", "/v5/media", headers=self._headers(ctx), json={"media_type": "video"})
        return _checked(resp, "media").json()

    def _upload(self, ctx: PushContext, media: dict) -> None:
        """One multipart POST to the bucket, streamed from staging with a known length."""
        body = MultipartStream(media["upload_parameters"], ctx)
        resp = self.request("POST", media["upload_url"], data=body, headers=body.headers())
        if resp.status_code in (200, 201, 204):
            return
        if resp.status_code == 403 or resp.status_code >= 500 or _s3_code(resp) == "ExpiredToken":
            # An expired policy or a bucket fault: no resume on this protocol, the
            # retry registers a new media (progress says the upload was not acknowledged).
            raise TransientError(
                f"Pinterest's upload bucket refused the video ({_s3_code(resp)}); it will be uploaded again.",
                reason="upload_refused", details={"status": resp.status_code, "s3_code": _s3_code(resp)},
            )
        if _s3_code(resp) == "EntityTooLarge":
            raise InvalidInput("The video is larger than Pinterest accepts (2 GB).", reason="video_too_large")
        raise InvalidInput(f"Pinterest's upload bucket rejected the video ({_s3_code(resp)}).",
                           reason="upload_rejected", details={"status": resp.status_code})

    def _wait_processed(self, ctx: PushContext, media_id: str) -> None:
        """Poll the media status every ``poll_interval`` until ``succeeded``."""
        ctx.mark_processing()
        deadline = time.monotonic() + self.processing_timeout
        while True:
            resp = self.request("GET", f"/v5/media/{media_id}", headers=self._headers(ctx))
            if resp.status_code == 404:
                ctx.progress.pop("pinterest_uploaded", None)  # the media is gone: upload anew
                ctx.save_progress(ctx.progress)
                raise TransientError("Pinterest no longer knows the uploaded video; it will be uploaded again.",
                                     reason="media_expired")
            status = _checked(resp, "media").json()
            if status.get("status") == "succeeded":
                return
            if status.get("status") == "failed":  # the media status carries no reason
                raise ProcessingFailed(
                    "Pinterest could not process the video (it does not say why). Pinterest takes MP4, MOV or M4V "
                    "files with H.264 video and AAC audio, 4 seconds to 15 minutes long: convert the video and "
                    "push again.", reason="video_processing_failed", details=status,
                )
            if time.monotonic() > deadline:
                raise TransientError(
                    f"Pinterest is still processing the video after {int(self.processing_timeout)} s.",
                    reason="processing_timeout")
            ctx.sleep(self.poll_interval)

    def _create_pin(self, ctx: PushContext, media_source: dict | None) -> dict:
        """The publish step, at most once (see ``publish_once``): a fault here means
        the Pin may or may not exist."""
        payload = ctx.payload

        def create() -> dict:
            body = {"board_id": str(payload["board"]), "media_source": media_source}
            for name in ("title", "description", "link"):
                if payload.get(name):
                    body[name] = payload[name]
            resp = self.request("POST", "/v5/pins", publish=True, headers=self._headers(ctx), json=body)
            if resp.status_code >= 500:
                raise _publish_unknown(resp)
            pin = _checked(resp, "board").json()
            return {k: pin.get(k) for k in ("id", "board_id", "created_at", "media")}

        return publish_once(ctx, "pin", create, "Pinterest", last=True)

    def _outcome(self, pin: dict, extra_ids: dict) -> PushOutcome:
        pin_id = str(pin["id"])
        data = {
            "provider": "pinterest", "object": "pin", "pin_id": pin_id, "board_id": pin.get("board_id"),
            "url": PIN_URL.format(pin_id), "date_creation": _rfc2822(pin.get("created_at")),
        }
        thumbnail = _thumbnail(pin.get("media") or {})
        if thumbnail:
            data["thumbnail_url"] = thumbnail
        return PushOutcome(provider_ids={"pin_id": pin_id, **extra_ids}, data=data)

    # -- optional hooks -----------------------------------------------------
    def delete(self, kind: str, provider_ids: dict, access_token: str) -> bool:
        """``DELETE /v5/pins/{id}``; a Pin already gone counts as deleted."""
        pin_id = provider_ids.get("pin_id")
        if not pin_id:
            return False
        resp = self.request("DELETE", f"/v5/pins/{pin_id}", headers={"Authorization": f"Bearer {access_token}"})
        if resp.status_code in (200, 204, 404):
            return True
        raise translate(resp)

    def exists(self, kind: str, provider_ids: dict, access_token: str) -> bool | None:
        pin_id = provider_ids.get("pin_id")
        if not pin_id:
            return None
        resp = self.request("GET", f"/v5/pins/{pin_id}", headers={"Authorization": f"Bearer {access_token}"})
        if resp.status_code == 200:
            return True
        return False if resp.status_code == 404 else None


class MultipartStream:
    """A ``multipart/form-data`` body read from staging on the fly, with a known length.

    requests sends an object with ``__len__`` and ``read`` with a Content-Length (a
    generator would go chunked, which S3 refuses with 411), reading it in blocks;
    the staged file is read once, chunk by chunk, never held whole.
    """

    def __init__(self, fields: dict, ctx: PushContext):
        staged = ctx.staged
        assert staged is not None, "a video pin needs a staged file"
        self.boundary = "pushwire" + secrets.token_hex(12)
        parts = [self._field(name, value) for name, value in fields.items()]
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="video"\r\n'
            f"Content-Type: {staged.mime_type}\r\n\r\n".encode()
        )
        self.head = b"".join(parts)
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.length = len(self.head) + staged.size + len(self.tail)
        self._ctx, self._sent = ctx, 0
        self._pieces = self._generate()
        self._buf = b""

    def _field(self, name: str, value) -> bytes:
        return (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n").encode()

    def headers(self) -> dict:
        return {"Content-Type": f"multipart/form-data; boundary={self.boundary}",
                "Content-Length": str(self.length)}

    def _generate(self) -> Iterator[bytes]:
        staged = self._ctx.staged
        yield self.head
        for chunk in staged.store.iter_chunks(staged.key, UPLOAD_CHUNK):
            self._sent += len(chunk)
            self._ctx.report_bytes(self._sent)
            yield chunk
        yield self.tail

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buf += piece
        if size < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out


# -- responses --------------------------------------------------------------
def _s3_code(resp: requests.Response) -> str:
    text = resp.text
    start, end = text.find("<Code>"), text.find("</Code>")
    return text[start + 6:end] if 0 <= start < end else f"HTTP {resp.status_code}"


def _checked(resp: requests.Response, missing: str) -> requests.Response:
    if resp.status_code >= 400:
        raise translate(resp, missing)
    return resp


def _publish_unknown(resp: requests.Response) -> OutcomeUnknown:
    """A 5xx on ``POST /v5/pins``: the Pin may exist (reference §0, publish steps)."""
    return OutcomeUnknown(
        f"Pinterest answered {resp.status_code} while creating the Pin; it may or may not have been "
        "published. Check the board before pushing again.", details={"status": resp.status_code, **error_body(resp)})


def _thumbnail(media: dict) -> str | None:
    images = media.get("images") or {}
    for size in ("600x", "400x300", "150x150"):
        if isinstance(images.get(size), dict) and images[size].get("url"):
            return images[size]["url"]
    return media.get("cover_image_url")


def _rfc2822(created_at: str | None) -> str:
    """Pinterest's ``created_at`` (ISO 8601, UTC) as RFC 2822; now if absent."""
    try:
        moment = dt.datetime.fromisoformat(str(created_at).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        return email.utils.format_datetime(moment)
    except ValueError:
        return email.utils.formatdate(time.time())
