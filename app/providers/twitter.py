"""X (Twitter) API v2: OAuth 2 refresh, chunked media upload, tweets.

Protocol: docs/providers.md section 1. Video uploads use the
dedicated ``initialize`` / ``{id}/append`` / ``{id}/finalize`` endpoints and poll
``GET /2/media/upload?command=STATUS``. Progress (media id, segments sent) is
saved after every segment so a redelivered task resumes instead of restarting.
"""

from __future__ import annotations

import email.utils
import math
import time

import requests

from app.providers.base import ProviderAdapter, PushContext, PushOutcome, TokenSet, publish_once
from app.providers.errors import (
    AuthExpired,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ProcessingFailed,
    ProviderError,
    RateLimited,
    TransientError,
)

MAX_IMAGE = 5 * 1024 * 1024
IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
MAX_SEGMENT = 5 * 1024 * 1024
MAX_SEGMENTS = 1000
TWITTER_PROGRESS_KEYS = ("media_id", "media_key", "expires_at", "segments_done", "created", "chunk_size", "finalized")
VIDEO_CAP = 512 * 1024 * 1024


class TwitterAdapter(ProviderAdapter):
    name = "twitter"
    staged_kinds = frozenset({"video"})
    max_video_bytes = VIDEO_CAP

    def __init__(self, *args, chunk_size: int = 4 * 1024 * 1024, **kwargs):
        super().__init__(*args, **kwargs)
        self.chunk_size = chunk_size

    @classmethod
    def from_settings(cls, settings) -> "TwitterAdapter":
        adapter = super().from_settings(settings)
        adapter.chunk_size = settings.twitter_chunk_size
        return adapter

    # -- tokens -------------------------------------------------------------
    def refresh(self, refresh_token: str) -> TokenSet:
        """OAuth 2 refresh grant; a confidential client uses Basic auth, a public one sends client_id."""
        confidential = bool(self.client_secret)
        return self.oauth2_refresh(
            self.base_url + "/2/oauth2/token", refresh_token, display="X", translate=translate_error,
            basic_auth=confidential, **({} if confidential else {"client_id": self.client_id}),
        )

    # -- pushes -------------------------------------------------------------
    def push(self, ctx: PushContext) -> PushOutcome:
        if ctx.kind == "video":
            return self.upload_video(ctx)
        if ctx.kind == "post":
            return self.post_tweet(ctx)
        if ctx.kind == "picture":
            return self.upload_picture(ctx)
        raise InvalidInput(f"X has no '{ctx.kind}' push", reason="unsupported_kind")

    def post_tweet(self, ctx: PushContext) -> PushOutcome:
        """``POST /2/tweets``: the publish step, so at most once (see ``publish_once``)."""
        body: dict = {"text": ctx.payload["message"]}
        if ctx.payload.get("attachments"):
            body["media"] = {"media_ids": list(ctx.payload["attachments"])}
        if ctx.payload.get("location"):
            body["geo"] = {"place_id": ctx.payload["location"]}
        headers = {"Authorization": f"Bearer {ctx.access_token}"}

        def create() -> str:
            resp = self.request("POST", "/2/tweets", headers=headers, json=body, publish=True)
            return str(self._data(resp)["id"])

        tweet_id = publish_once(ctx, "tweet_id", create, "X", last=True)
        return PushOutcome(
            provider_ids={"tweet_id": tweet_id},
            data={"provider": "twitter", "object": "post", "post_id": tweet_id,
                  "url": f"https://x.com/i/web/status/{tweet_id}",
                  "date_creation": email.utils.formatdate(time.time())},
        )

    def upload_picture(self, ctx: PushContext) -> PushOutcome:
        """One-shot image upload; the media id can be attached to a tweet."""
        data, fmt = ctx.download(ctx.payload["url"], MAX_IMAGE)
        if fmt not in IMAGE_TYPES:
            raise InvalidInput(f"X accepts JPG, PNG, GIF or WEBP pictures; this one is {fmt.upper()}.",
                               reason="unsupported_picture_format")
        resp = self.request(
            "POST", "/2/media/upload", headers={"Authorization": f"Bearer {ctx.access_token}"},
            data={"media_category": "tweet_image"},
            files={"media": (f"picture.{fmt}", data, IMAGE_TYPES[fmt])},
        )
        info = self._data(resp)
        media_id = str(info["id"])
        return PushOutcome(
            provider_ids={"media_id": media_id, "media_key": info.get("media_key")},
            data={"provider": "twitter", "object": "picture", "picture_id": media_id,
                  "date_creation": email.utils.formatdate(time.time())},
        )

    def delete(self, kind: str, provider_ids: dict, access_token: str) -> bool:
        """Tweets can be deleted; uploaded media cannot (it expires after 24 h)."""
        if kind != "post" or not provider_ids.get("tweet_id"):
            return False
        resp = self.request("DELETE", f"/2/tweets/{provider_ids['tweet_id']}",
                            headers={"Authorization": f"Bearer {access_token}"})
        if resp.status_code == 404:
            return True
        self._check(resp)
        return True

    def upload_video(self, ctx: PushContext) -> PushOutcome:
        """Chunked upload of the staged video, resuming from ``ctx.progress``."""
        staged = ctx.staged
        assert staged is not None
        headers = {"Authorization": f"Bearer {ctx.access_token}"}
        progress = ctx.progress
        if not self._resumable(progress):
            for key in TWITTER_PROGRESS_KEYS:  # forget an expired media id, keep the stage's keys
                progress.pop(key, None)
            progress.update(self._initialize(headers, staged.size, staged.mime_type))
            progress["chunk_size"] = self._chunk_size(staged.size)
            ctx.save_progress(progress)
        media_id = progress["media_id"]
        if not progress.get("finalized"):
            self._append_all(ctx, headers, media_id)
            info = self._finalize(headers, media_id)
            progress["finalized"] = True
            ctx.save_progress(progress)
        else:
            info = self._status(headers, media_id)
        self._wait_processed(ctx, headers, media_id, info.get("processing_info"))
        return PushOutcome(
            provider_ids={"media_id": media_id, "media_key": progress.get("media_key")},
            data={
                "provider": "twitter",
                "object": "video",
                "video_id": media_id,
                "date_creation": email.utils.formatdate(progress.get("created", time.time()), localtime=False),
            },
        )

    def _resumable(self, progress: dict) -> bool:
        return bool(progress.get("media_id")) and progress.get("expires_at", 0) > time.time() + 60

    def _chunk_size(self, total: int) -> int:
        floor = math.ceil(total / MAX_SEGMENTS)
        return max(min(self.chunk_size, MAX_SEGMENT), floor)

    def _initialize(self, headers: dict, total: int, mime_type: str) -> dict:
        resp = self.request(
            "POST", "/2/media/upload/initialize", headers=headers,
            json={"media_type": mime_type, "total_bytes": total, "media_category": "tweet_video"},
        )
        data = self._data(resp)
        return {
            "media_id": str(data["id"]),
            "media_key": data.get("media_key"),
            "expires_at": time.time() + int(data.get("expires_after_secs", 86400)),
            "segments_done": 0,
            "created": time.time(),
        }

    def _append_all(self, ctx: PushContext, headers: dict, media_id: str) -> None:
        progress, staged = ctx.progress, ctx.staged
        size = progress["chunk_size"]
        index = progress.get("segments_done", 0)
        for chunk in staged.store.iter_chunks(staged.key, size, start=index * size):
            resp = self.request(
                "POST", f"/2/media/upload/{media_id}/append", headers=headers,
                data={"segment_index": str(index)},
                files={"media": ("blob", chunk, "application/octet-stream")},
            )
            self._check(resp)
            index += 1
            progress["segments_done"] = index
            ctx.save_progress(progress)
            ctx.report_bytes(min(index * size, staged.size))

    def _finalize(self, headers: dict, media_id: str) -> dict:
        resp = self.request("POST", f"/2/media/upload/{media_id}/finalize", headers=headers)
        return self._data(resp)

    def _status(self, headers: dict, media_id: str) -> dict:
        resp = self.request(
            "GET", "/2/media/upload", headers=headers,
            params={"command": "STATUS", "media_id": media_id},
        )
        return self._data(resp)

    def _wait_processed(self, ctx: PushContext, headers: dict, media_id: str, info: dict | None) -> None:
        """Poll until processing succeeds; loop on ``state``, sleeping ``check_after_secs``."""
        if info:
            ctx.mark_processing()
        deadline = time.time() + 3600
        while info and info.get("state") in ("pending", "in_progress"):
            if time.time() > deadline:
                raise TransientError("X is still processing the video after an hour.", reason="processing_timeout")
            ctx.sleep(float(info.get("check_after_secs", 1)))
            info = self._status(headers, media_id).get("processing_info")
        if info and info.get("state") == "failed":
            error = info.get("error") or {}
            raise ProcessingFailed(
                f"X could not process the video: {error.get('message') or error.get('name') or 'unknown error'}.",
                reason="video_processing_failed",
                details={"error": error},
            )

    # -- responses ----------------------------------------------------------
    def _data(self, resp: requests.Response) -> dict:
        self._check(resp)
        body = resp.json() if resp.content else {}
        return body.get("data", body)

    def _check(self, resp: requests.Response) -> None:
        """Translate an X error response into our exception tree."""
        if resp.status_code < 400:
            return
        raise translate_error(resp)


def translate_error(resp: requests.Response) -> ProviderError:
    """Map X's problem JSON and status codes onto ProviderError subclasses."""
    try:
        body = resp.json()
    except ValueError:
        body = {}
    detail = body.get("detail") or body.get("title") or resp.reason or "error"
    ptype = str(body.get("type", ""))
    status = resp.status_code
    details = {"status": status, "title": body.get("title"), "detail": body.get("detail"), "type": ptype}
    if status == 429:
        return RateLimited(
            "X rate limit reached; the upload waits until the limit resets.",
            retry_after=_retry_after(resp), details=details,
            reason="usage_capped" if "usage-capped" in ptype else "rate_limited",
        )
    if status >= 500:
        return TransientError(f"X answered {status} ({detail}); retrying.", details=details)
    if status == 401:
        return AuthExpired("X refused the access token (expired or revoked).", details=details)
    if status == 403:
        return PermissionDenied(f"X refused the request: {detail}", details=details)
    if status == 404:
        return NotFound(f"X does not know this object: {detail}", details=details)
    return InvalidInput(f"X rejected the request: {detail}", details=details)


def _retry_after(resp: requests.Response) -> float | None:
    """Seconds to wait: ``Retry-After`` if present, else until ``x-rate-limit-reset``."""
    value = resp.headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    reset = resp.headers.get("x-rate-limit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            pass
    return None
