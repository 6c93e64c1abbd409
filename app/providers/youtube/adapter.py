"""YouTube Data API v3: Google OAuth refresh, resumable video upload, playlists, sections.

Protocol: docs/providers.md section 5. Kinds (app/push/endpoints.py):
``video`` (resumable upload, processing poll, optional thumbnail), ``playlist/video``
(playlistItems.insert), ``playlist`` (playlists.insert), ``channel/section``
(channelSections.insert). Ids created are saved in ``ctx.progress`` at once, so a
redelivered task never creates them twice.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time

import requests

from app.providers.base import ProviderAdapter, PushContext, PushOutcome, TokenSet, publish_once
from app.providers.capabilities import Deletes, ChecksExistence, ListsComments
from app.providers.errors import (
    InvalidInput,
    OutcomeUnknown,
    ProcessingFailed,
    ProviderError,
    RateLimited,
    TransientError,
)
from app.providers.youtube.errors import parse, translate
from app.providers.youtube.resumable import ResumableUpload, clamp_chunk

THUMBNAIL_MAX = 2 * 1024 * 1024
#: thumbnails.set tries per push before a transient failure becomes a warning.
THUMBNAIL_TRIES = 4
THUMBNAIL_WAIT_MAX = 60.0
WATCH_URL = "https://www.youtube.com/watch?v={}"
PLAYLIST_URL = "https://www.youtube.com/playlist?list={}"
CHANNEL_URL = "https://www.youtube.com/channel/{}"


class YouTubeAdapter(ProviderAdapter, Deletes, ChecksExistence, ListsComments):
    name = "youtube"
    staged_kinds = frozenset({"video"})
    #: videos.insert ``maxSize`` in the youtube/v3 discovery document: 256 GiB.
    max_video_bytes = 256 * 1024**3

    def __init__(self, *args, token_url: str = "https://oauth2.googleapis.com/token",
                 chunk_size: int = 8 * 1024 * 1024, poll_interval: float = 5.0, poll_max: float = 60.0,
                 processing_timeout: float = 3600.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.token_url = token_url
        self.chunk_size = clamp_chunk(chunk_size)
        self.poll_interval = poll_interval
        self.poll_max = poll_max
        self.processing_timeout = processing_timeout

    @classmethod
    def from_settings(cls, settings) -> "YouTubeAdapter":
        adapter = super().from_settings(settings)
        adapter.token_url = settings.youtube_token_url
        adapter.chunk_size = clamp_chunk(settings.youtube_chunk_size)
        adapter.poll_interval = settings.youtube_poll_interval
        adapter.poll_max = settings.youtube_poll_max
        adapter.processing_timeout = settings.youtube_processing_timeout
        return adapter

    # -- tokens -------------------------------------------------------------
    def refresh(self, refresh_token: str) -> TokenSet:
        """Google's refresh grant; the answer usually has no new refresh token, so the old one stays."""
        return self.oauth2_refresh(self.token_url, refresh_token, display="Google",
                                   translate=lambda resp: translate(resp, "the token refresh"), client_in_body=True)

    # -- pushes -------------------------------------------------------------
    def push(self, ctx: PushContext) -> PushOutcome:
        handlers = {"video": self.push_video, "playlist/video": self.add_to_playlist,
                    "playlist": self.create_playlist, "channel/section": self.create_section}
        if ctx.kind not in handlers:
            raise InvalidInput(f"YouTube has no '{ctx.kind}' push", reason="unsupported_kind")
        return handlers[ctx.kind](ctx)

    def push_video(self, ctx: PushContext) -> PushOutcome:
        """Upload (resumable), wait for processing, set the thumbnail if asked."""
        progress = ctx.progress
        if not progress.get("video_id"):
            video = ResumableUpload(self, ctx).run()
            progress.update(video_id=video["id"], created=time.time())
            progress.pop("session_uri", None)
            ctx.save_progress(progress)
        video_id = progress["video_id"]
        video = self._wait_processed(ctx, video_id)
        data = {"provider": "youtube", "object": "video", "video_id": video_id,
                "url": WATCH_URL.format(video_id),
                "date_creation": email.utils.formatdate(progress.get("created", time.time())),
                "privacy_status": (video.get("status") or {}).get("privacyStatus")}
        thumbnails = (video.get("snippet") or {}).get("thumbnails") or {}
        thumbnail = (thumbnails.get("high") or thumbnails.get("default") or {}).get("url")
        if ctx.payload.get("thumbnail_url"):
            result = self._thumbnail(ctx, video_id)
            thumbnail = result.get("url") or thumbnail
            if result.get("warning"):
                data["warnings"] = [result["warning"]]
        if thumbnail:
            data["thumbnail_url"] = thumbnail
        return PushOutcome(provider_ids={"video_id": video_id}, data=data)

    def _wait_processed(self, ctx: PushContext, video_id: str) -> dict:
        """Poll videos.list until ``uploadStatus`` is processed; failed/rejected are final.

        Each poll costs a unit of the project's shared daily quota, so the wait
        between polls starts at ``poll_interval`` and doubles up to ``poll_max``.
        """
        ctx.mark_processing()
        deadline = time.monotonic() + self.processing_timeout
        delay = self.poll_interval
        while True:
            resp = self.request("GET", "/youtube/v3/videos", tokens=ctx.tokens,
                                params={"part": "snippet,status,processingDetails", "id": video_id})
            items = self._json(resp, "the processing check").get("items") or []
            if not items:
                raise ProcessingFailed("YouTube no longer has the uploaded video (deleted while processing).",
                                       reason="video_deleted")
            status = items[0].get("status") or {}
            upload_status = status.get("uploadStatus")
            if upload_status == "processed":
                return items[0]
            if upload_status in ("failed", "rejected", "deleted"):
                raise _processing_failed(upload_status, status)
            if time.monotonic() > deadline:
                raise TransientError("YouTube is still processing the video; it will be checked again.",
                                     reason="processing_timeout")
            ctx.sleep(delay)
            delay = min(delay * 2, max(self.poll_max, self.poll_interval))

    def _thumbnail(self, ctx: PushContext, video_id: str) -> dict:
        """thumbnails.set (done once per push). A refused token is refreshed and the call
        sent again (``tokens``); a transient failure (5xx, rate limit, network) is tried
        again with backoff; only a permanent refusal, or a transient one that outlasts
        ``THUMBNAIL_TRIES``, becomes a warning instead of a failed push."""
        progress = ctx.progress
        if "thumbnail" in progress:
            return progress["thumbnail"]
        try:
            data, fmt = ctx.download(ctx.payload["thumbnail_url"], THUMBNAIL_MAX)
            if fmt not in ("jpeg", "png"):
                raise InvalidInput(f"YouTube thumbnails must be JPEG or PNG, not {fmt}.", reason="unsupported_thumbnail")
            result = self._set_thumbnail(ctx, video_id, data, fmt)
        except ProviderError as exc:
            result = {"warning": {"reason": exc.reason, "info": f"The video was uploaded but its thumbnail was "
                                                                  f"not set: {exc.info}"}}
        progress["thumbnail"] = result
        ctx.save_progress(progress)
        return result

    def _set_thumbnail(self, ctx: PushContext, video_id: str, data: bytes, fmt: str) -> dict:
        delay = 2.0
        for attempt in range(1, THUMBNAIL_TRIES + 1):
            try:
                resp = self.request("POST", "/upload/youtube/v3/thumbnails/set", params={"videoId": video_id},
                                    data=data, headers={"Content-Type": f"image/{fmt}"}, tokens=ctx.tokens)
                items = self._json(resp, "the thumbnail").get("items") or [{}]
                return {"url": (items[0].get("default") or {}).get("url")}
            except TransientError as exc:
                if attempt == THUMBNAIL_TRIES:
                    exc.info = f"{exc.info} (tried {THUMBNAIL_TRIES} times)"
                    raise
                wait = exc.retry_after if isinstance(exc, RateLimited) and exc.retry_after else delay
                if wait > THUMBNAIL_WAIT_MAX:  # e.g. the daily quota: do not hold the worker for hours
                    raise
                ctx.sleep(wait)
                delay *= 2
        raise AssertionError("unreachable")

    def add_to_playlist(self, ctx: PushContext) -> PushOutcome:
        """playlistItems.insert; ``position`` only for manually sorted playlists."""
        payload = ctx.payload
        snippet = {"playlistId": payload["playlist_id"],
                   "resourceId": {"kind": "youtube#video", "videoId": payload["video_id"]}}
        if payload.get("position") is not None:
            snippet["position"] = payload["position"]
        item = self._create(ctx, "/youtube/v3/playlistItems", "snippet", {"snippet": snippet}, "the playlist item")
        got = item.get("snippet") or {}
        data = {"provider": "youtube", "object": "video", "playlist_item_id": item["id"],
                "playlist_id": payload["playlist_id"], "video_id": payload["video_id"],
                "position": got.get("position"), "date_creation": email.utils.formatdate(),
                "url": f"{WATCH_URL.format(payload['video_id'])}&list={payload['playlist_id']}"}
        return PushOutcome({"playlist_item_id": item["id"], "playlist_id": payload["playlist_id"]}, data)

    def create_playlist(self, ctx: PushContext) -> PushOutcome:
        payload = ctx.payload
        snippet = {"title": payload["title"]}
        if payload.get("description") is not None:
            snippet["description"] = payload["description"]
        if payload.get("default_language"):
            snippet["defaultLanguage"] = payload["default_language"]
        body = {"snippet": snippet, "status": {"privacyStatus": payload.get("privacy_status") or "private"}}
        playlist = self._create(ctx, "/youtube/v3/playlists", "snippet,status", body, "the playlist")
        data = {"provider": "youtube", "object": "playlist", "playlist_id": playlist["id"],
                "url": PLAYLIST_URL.format(playlist["id"]), "title": payload["title"],
                "date_creation": email.utils.formatdate()}
        return PushOutcome({"playlist_id": playlist["id"]}, data)

    def create_section(self, ctx: PushContext) -> PushOutcome:
        payload = ctx.payload
        # snippet.style is no longer supported by YouTube: the contract still accepts it, it is not sent.
        snippet = {k: payload[k] for k in ("type", "title", "position") if payload.get(k) is not None}
        details = {k: payload[k] for k in ("playlists", "channels") if payload.get(k)}
        body, part = {"snippet": snippet}, "snippet"
        if details:
            body["contentDetails"], part = details, "snippet,contentDetails"
        section = self._create(ctx, "/youtube/v3/channelSections", part, body, "the channel section")
        channel_id = (section.get("snippet") or {}).get("channelId")
        data = {"provider": "youtube", "object": "section", "section_id": section["id"], "type": payload["type"],
                "date_creation": email.utils.formatdate()}
        if channel_id:
            data["url"] = CHANNEL_URL.format(channel_id)
        return PushOutcome({"section_id": section["id"]}, data)

    def _create(self, ctx: PushContext, path: str, part: str, body: dict, what: str) -> dict:
        """One insert: a publish step, so at most once across redeliveries (``publish_once``)."""

        def create() -> dict:
            resp = self.request("POST", path, publish=True, params={"part": part}, json=body,
                                tokens=ctx.tokens)
            if resp.status_code >= 500:
                raise _unknown_after(resp, what)  # a 5xx on a create: it may have happened
            resource = self._json(resp, what)
            return {"id": resource["id"], "snippet": resource.get("snippet") or {}}

        return publish_once(ctx, f"created:{path}", create, "YouTube")

    # -- optional hooks -----------------------------------------------------
    def delete(self, kind: str, provider_ids: dict, access_token: str) -> bool:
        """videos.delete for pushed videos; other kinds are not deleted here."""
        video_id = provider_ids.get("video_id")
        if kind != "video" or not video_id:
            return False
        resp = self.request("DELETE", "/youtube/v3/videos", params={"id": video_id},
                            headers={"Authorization": f"Bearer {access_token}"})
        if resp.status_code in (200, 204, 404):
            return True
        raise translate(resp, "the deletion")

    def exists(self, kind: str, provider_ids: dict, access_token: str) -> bool | None:
        video_id = provider_ids.get("video_id")
        if kind != "video" or not video_id:
            return None
        resp = self.request("GET", "/youtube/v3/videos", params={"part": "id", "id": video_id},
                            headers={"Authorization": f"Bearer {access_token}"})
        return bool(self._json(resp, "the existence check").get("items"))

    def list_comments(self, kind: str, provider_ids: dict, access_token: str, since: str | None = None) -> list[dict]:
        """commentThreads.list, newest first, paged until ``since`` (RFC 3339) is reached;
        returned oldest first. A video with comments disabled has none."""
        video_id = provider_ids.get("video_id")
        if kind != "video" or not video_id:
            return []
        found, page = [], None
        while True:
            params = {"part": "snippet", "videoId": video_id, "maxResults": 100, "order": "time",
                      "textFormat": "plainText", **({"pageToken": page} if page else {})}
            resp = self.request("GET", "/youtube/v3/commentThreads", params=params,
                                headers={"Authorization": f"Bearer {access_token}"})
            if resp.status_code == 403 and parse(resp)[0] == "commentsDisabled":
                return []
            body = self._json(resp, "the comment listing")
            fresh = [_comment(item) for item in body.get("items") or []]
            new = [c for c in fresh if since is None or _after(c["created_at"], since)]
            found.extend(new)
            page = body.get("nextPageToken")
            if not page or len(new) < len(fresh):
                return list(reversed(found))

    # -- responses ----------------------------------------------------------
    @staticmethod
    def _json(resp: requests.Response, what: str) -> dict:
        if resp.status_code >= 400:
            raise translate(resp, what)
        return resp.json() if resp.content else {}


def _unknown_after(resp: requests.Response, what: str) -> OutcomeUnknown:
    return OutcomeUnknown(f"YouTube answered {resp.status_code} while creating {what}; it may or may not "
                          "exist now. Check the channel before pushing again.", details={"status": resp.status_code})


def _processing_failed(upload_status: str, status: dict) -> ProcessingFailed:
    if upload_status == "rejected":
        why = status.get("rejectionReason", "unknown")
        return ProcessingFailed(f"YouTube rejected the video ({why}).", reason="video_rejected",
                                details={"rejectionReason": why})
    why = status.get("failureReason", upload_status)
    return ProcessingFailed(f"YouTube could not process the video ({why}).", reason="video_processing_failed",
                            details={"failureReason": why})


def _comment(item: dict) -> dict:
    top = ((item.get("snippet") or {}).get("topLevelComment") or {})
    snippet = top.get("snippet") or {}
    return {"id": top.get("id") or item.get("id"), "text": snippet.get("textOriginal") or snippet.get("textDisplay", ""),
            "created_at": snippet.get("publishedAt"),
            "author": {"name": snippet.get("authorDisplayName"), "profile_image_url": snippet.get("authorProfileImageUrl"),
                       "channel_id": (snippet.get("authorChannelId") or {}).get("value")}}


def _after(stamp: str | None, since: str) -> bool:
    """Whether RFC 3339 ``stamp`` is strictly later than ``since``."""
    return stamp is not None and _ts(stamp) > _ts(since)


def _ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
