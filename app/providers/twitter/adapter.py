"""X (Twitter) API v2: OAuth 2 refresh, chunked media upload, tweets.

Protocol: docs/providers.md section 1. Video uploads (and animated GIFs, ``tweet_gif``)
use the dedicated ``initialize`` / ``{id}/append`` / ``{id}/finalize`` endpoints and poll
``GET /2/media/upload?command=STATUS``. Progress (media id, segments sent) is saved after
every segment so a redelivered task resumes instead of restarting; a media id is good for
24 h after ``finalize``, so a redelivery after that uploads again. Pictures are one-shot
uploads; a ``description`` becomes the picture's alt text (``POST /2/media/metadata``).
Post text is measured by the twitter-text rules (``weighted_length``).
"""

from __future__ import annotations

import email.utils
import math
import time

import requests
from twitter_text import parse_tweet

from app.providers.base import ProviderAdapter, PushContext, PushOutcome, TokenSet, publish_once
from app.providers.capabilities import Deletes, ReadsAccountTier
from app.providers.errors import InvalidInput, ProcessingFailed, TransientError
from app.providers.tokens import refresh_grant
from app.providers.twitter.errors import translate

MAX_IMAGE = 5 * 1024 * 1024
MAX_GIF = 15 * 1024 * 1024  # animated GIFs, chunked with media_category=tweet_gif
IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
MAX_SEGMENT = 5 * 1024 * 1024
MAX_SEGMENTS = 1000
MAX_ALT_TEXT = 1000
MAX_WEIGHTED_LENGTH = 280
#: X's cap for a Post's video is the posting user's: 8 GB for every account, 16 GB
#: with X Premium (``initialize`` takes up to 16 GiB). 8 GiB is what every account may post.
VIDEO_CAP = 8 * 1024**3
#: X Premium's cap: asked of X (``account_tier``) only for a video past ``VIDEO_CAP``.
VIDEO_CEILING = 16 * 1024**3
#: A media id is good this long after ``finalize``.
FINALIZED_TTL = 86400


def weighted_length(text: str) -> int:
    """X's weighted length by the twitter-text v3 rules (the ``twitter-text-parser``
    port, which passes twitter-text's conformance suite): text NFC-normalised,
    code points above U+10FF (CJK, emoji) weigh 2 (an emoji sequence once), every
    URL, a bare domain included, weighs 23."""
    return parse_tweet(text).weightedLength


def is_animated_gif(data: bytes) -> bool:
    """More than one frame: each frame of an animation has a graphic control extension."""
    return data[:6] in (b"GIF87a", b"GIF89a") and data.count(b"\x21\xf9\x04") > 1


class TwitterAdapter(ProviderAdapter, Deletes, ReadsAccountTier):
    name = "twitter"
    staged_kinds = frozenset({"video"})
    max_video_bytes = VIDEO_CAP
    video_ceiling = VIDEO_CEILING

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
        return refresh_grant(
            self, self.base_url + "/2/oauth2/token", refresh_token, display="X", translate=translate,
            basic_auth=confidential, **({} if confidential else {"client_id": self.client_id}),
        )

    def account_tier(self, access_token: str) -> dict:
        """The posting user's ``subscription_type`` and ``verified_type``: X's video
        limits follow the user (Premium/verified: 125 min, 16 GB; others 20 min, 8 GB)."""
        resp = self.request("GET", "/2/users/me", headers={"Authorization": f"Bearer {access_token}"},
                            params={"user.fields": "subscription_type,verified_type"})
        data = self._data(resp)
        return {k: data.get(k) for k in ("subscription_type", "verified_type")}

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
        length = weighted_length(ctx.payload["message"])
        if length > MAX_WEIGHTED_LENGTH:
            raise InvalidInput(
                f"The post is {length} characters long as X counts them (CJK characters and emoji count 2, "
                f"every link 23); X allows {MAX_WEIGHTED_LENGTH}. Shorten it and push again.",
                reason="text_too_long")
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
        """A picture to attach to a post: one-shot upload (JPEG, PNG, WEBP, a still GIF,
        up to 5 MB), or the chunked ``tweet_gif`` flow for an animated GIF (up to 15 MB);
        the ``description`` becomes its alt text."""
        headers = {"Authorization": f"Bearer {ctx.access_token}"}
        data, fmt = ctx.download(ctx.payload["url"], MAX_GIF)
        if fmt not in IMAGE_TYPES:
            raise InvalidInput(f"X accepts JPG, PNG, GIF or WEBP pictures; this one is {fmt.upper()}.",
                               reason="unsupported_picture_format")
        if fmt == "gif" and (is_animated_gif(data) or len(data) > MAX_IMAGE):
            info = self._upload_gif(ctx, headers, data)
        elif len(data) > MAX_IMAGE:
            raise InvalidInput(f"X takes pictures up to 5 MB (animated GIFs up to 15 MB); this one is "
                               f"{len(data) / 1024**2:.1f} MB.", reason="picture_too_large")
        else:
            resp = self.request(
                "POST", "/2/media/upload", headers=headers, data={"media_category": "tweet_image"},
                files={"media": (f"picture.{fmt}", data, IMAGE_TYPES[fmt])},
            )
            info = self._data(resp, media=True)
        media_id = str(info["id"])
        if ctx.payload.get("description"):
            self._alt_text(headers, media_id, ctx.payload["description"])
        return PushOutcome(
            provider_ids={"media_id": media_id, "media_key": info.get("media_key")},
            data={"provider": "twitter", "object": "picture", "picture_id": media_id,
                  "date_creation": email.utils.formatdate(time.time())},
        )

    def _upload_gif(self, ctx: PushContext, headers: dict, data: bytes) -> dict:
        """initialize (``tweet_gif``) / append / finalize / wait for processing, from memory."""
        media = self._initialize(headers, len(data), "image/gif", "tweet_gif")
        size = self._chunk_size(len(data))
        for index, start in enumerate(range(0, len(data), size)):
            resp = self.request(
                "POST", f"/2/media/upload/{media['media_id']}/append", headers=headers,
                data={"segment_index": str(index)},
                files={"media": ("blob", data[start:start + size], "application/octet-stream")},
            )
            self._check(resp, media=True)
        info = self._finalize(headers, media["media_id"])
        self._wait_processed(ctx, headers, media["media_id"], info.get("processing_info"), mark=False)
        return {"id": media["media_id"], "media_key": media["media_key"]}

    def _alt_text(self, headers: dict, media_id: str, text: str) -> None:
        """``POST /2/media/metadata``: alt text (at most 1,000 characters) for the picture."""
        resp = self.request("POST", "/2/media/metadata", headers=headers, json={
            "id": media_id, "metadata": {"alt_text": {"text": text[:MAX_ALT_TEXT]}}})
        self._check(resp, media=True)

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
            for key in [k for k in progress if k != "reuploaded"]:  # forget an expired media id
                progress.pop(key)
            progress.update(self._initialize(headers, staged.size, staged.mime_type))
            progress["chunk_size"] = self._chunk_size(staged.size)
            ctx.save_progress(progress)
        media_id = progress["media_id"]
        try:
            if not progress.get("finalized"):
                self._append_all(ctx, headers, media_id)
                info = self._finalize(headers, media_id)
                progress["finalized"] = True
                progress["expires_at"] = time.time() + int(info.get("expires_after_secs") or FINALIZED_TTL)
                ctx.save_progress(progress)
            else:
                info = self._status(headers, media_id)
            self._wait_processed(ctx, headers, media_id, info.get("processing_info"))
        except InvalidInput as exc:
            if not _media_expired(exc) or ctx.progress.get("reuploaded"):
                raise
            # X forgot the media id (24 h after finalize): upload again, once.
            progress["expires_at"] = 0
            progress["reuploaded"] = True
            return self.upload_video(ctx)
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

    def _initialize(self, headers: dict, total: int, mime_type: str, category: str = "tweet_video") -> dict:
        resp = self.request(
            "POST", "/2/media/upload/initialize", headers=headers,
            json={"media_type": mime_type, "total_bytes": total, "media_category": category},
        )
        data = self._data(resp, media=True)
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
            self._check(resp, media=True)
            index += 1
            progress["segments_done"] = index
            ctx.save_progress(progress)
            ctx.report_bytes(min(index * size, staged.size))

    def _finalize(self, headers: dict, media_id: str) -> dict:
        resp = self.request("POST", f"/2/media/upload/{media_id}/finalize", headers=headers)
        return self._data(resp, media=True)

    def _status(self, headers: dict, media_id: str) -> dict:
        resp = self.request(
            "GET", "/2/media/upload", headers=headers,
            params={"command": "STATUS", "media_id": media_id},
        )
        return self._data(resp, media=True)

    def _wait_processed(self, ctx: PushContext, headers: dict, media_id: str, info: dict | None,
                        mark: bool = True) -> None:
        """Poll until processing succeeds; loop on ``state``, sleeping ``check_after_secs``."""
        if info and mark:
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
                f"X could not process the media: {error.get('message') or error.get('name') or 'unknown error'}. "
                "X takes MP4 or MOV video in H.264 with AAC audio (GIFs for animations).",
                reason="video_processing_failed",
                details={"error": error},
            )

    # -- responses ----------------------------------------------------------
    def _data(self, resp: requests.Response, media: bool = False) -> dict:
        self._check(resp, media=media)
        body = resp.json() if resp.content else {}
        return body.get("data", body)

    def _check(self, resp: requests.Response, media: bool = False) -> None:
        """Translate an X error response into our exception tree (``media``: a media call)."""
        if resp.status_code < 400:
            return
        raise translate(resp, media=media)


def _media_expired(exc: InvalidInput) -> bool:
    """X's answer for a media id it no longer keeps (24 h after finalize)."""
    text = f"{exc.info} {exc.details.get('errors', '')}".lower()
    return "expired" in text or "was not found" in text
