"""``FacebookAdapter``: posts, photos and videos on Pages through the Graph API.

Protocol: docs/providers.md §2 (and §6 for the retired targets); every call, video
uploads included, goes to one host (``graph.facebook.com``: ``graph-video`` is deprecated).
Page kinds (``page/post`` ...) exchange the user token for the Page's token with
``GET /me/accounts``; user kinds (``post`` ...) publish to ``/me`` and group kinds
to ``/{group_id}``, which Facebook now refuses: those errors become permanent
PermissionDenied with a reason saying to use a Page. There is no refresh grant.
"""

from __future__ import annotations

import email.utils
import json
import time

from app.providers.base import ProviderAdapter, PushContext, PushOutcome, TokenSet, publish_once, publish_started
from app.providers.capabilities import Deletes, ChecksExistence, ListsComments
from app.providers.errors import InvalidInput, NotFound, PermissionDenied, ReconnectRequired
from app.providers.facebook import video
from app.providers.facebook.errors import translate

MAX_PHOTO = 4 * 1024 * 1024  # Facebook: photos under 4 MB
DOWNLOAD_CAP = 5 * 1024 * 1024  # the contract's picture limit
PHOTO_TYPES = {"jpeg": ("picture.jpg", "image/jpeg"), "png": ("picture.png", "image/png")}
WEB = "https://www.facebook.com"


class FacebookAdapter(ProviderAdapter, Deletes, ChecksExistence, ListsComments):
    name = "facebook"
    staged_kinds = frozenset({"video", "group/video", "page/video"})
    max_video_bytes = 2 * 1024**3

    def __init__(self, *args, version: str = "v27.0", poll_max: float = 15.0,
                 processing_timeout: float = 3600.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.poll_max, self.processing_timeout = poll_max, processing_timeout

    @classmethod
    def from_settings(cls, settings) -> "FacebookAdapter":
        adapter = super().from_settings(settings)
        adapter.version = settings.facebook_graph_version
        adapter.poll_max = settings.facebook_poll_max
        adapter.processing_timeout = settings.facebook_processing_timeout
        return adapter

    # -- transport ----------------------------------------------------------
    def graph(self, method: str, path: str, token: str, kind: str, *, publish: bool = False, **kwargs) -> dict:
        """One Graph call (``path`` without the version); the JSON body, or a translated error."""
        url = path if path.startswith("http") else f"{self.base_url}/{self.version}{path}"
        headers = {"Authorization": f"Bearer {token}"}
        resp = self.request(method, url, publish=publish, headers=headers, **kwargs)
        if resp.status_code >= 400:
            raise translate(resp, kind, publish)
        try:
            return resp.json()
        except ValueError:
            return {}

    # -- tokens -------------------------------------------------------------
    def refresh(self, refresh_token: str) -> TokenSet:
        """Facebook has no refresh grant: the user must log in again."""
        raise ReconnectRequired(
            "Facebook tokens cannot be refreshed (Facebook has no refresh grant); "
            "the user must reconnect Facebook to continue publishing.", reason="facebook_reconnect_required")

    def page_token(self, user_token: str, page_id: str, kind: str) -> str:
        """The Page access token for ``page_id`` from ``GET /me/accounts`` (all pages followed)."""
        path: str | None = "/me/accounts?fields=id,name,access_token,tasks&limit=100"
        while path:
            body = self.graph("GET", path, user_token, kind)
            for page in body.get("data", []):
                if str(page.get("id")) == str(page_id) and page.get("access_token"):
                    return page["access_token"]
            path = (body.get("paging") or {}).get("next")
        raise PermissionDenied(
            f"The connected Facebook user does not manage Page {page_id} (or did not grant it to this app); "
            "a Page admin must reconnect Facebook and select that Page.", reason="facebook_page_not_managed")

    # -- pushes -------------------------------------------------------------
    def push(self, ctx: PushContext) -> PushOutcome:
        """Dispatch on ``ctx.kind``: [page/|group/]post|picture|video."""
        scope, _, what = ctx.kind.rpartition("/")
        handler = {"post": self._post, "picture": self._picture, "video": self._video}.get(what)
        if handler is None or scope not in ("", "page", "group"):
            raise InvalidInput(f"Facebook has no '{ctx.kind}' push", reason="unsupported_kind")
        target = str(ctx.payload["id"]) if scope else "me"
        token = self.page_token(ctx.access_token, target, ctx.kind) if scope == "page" else ctx.access_token
        ids = {f"{scope}_id": target} if scope else {}
        return handler(ctx, target, token, ids)

    def _post(self, ctx: PushContext, target: str, token: str, ids: dict) -> PushOutcome:
        """``POST /{target}/feed`` with message, link or attached (unpublished) photos:
        the publish step, so at most once (see ``publish_once``)."""
        p = ctx.payload

        def create() -> str:
            form = {k: p[k] for k in ("message", "link") if p.get(k)}
            if p.get("attachments"):
                form["attached_media"] = json.dumps([{"media_fbid": str(i)} for i in p["attachments"]])
            body = self.graph("POST", f"/{target}/feed", token, ctx.kind, data=form, publish=True)
            ctx.progress["created"] = time.time()
            return body["id"]

        post_id = publish_once(ctx, "post_id", create, "Facebook", last=True)
        owner, _, local = post_id.partition("_")
        return PushOutcome({"post_id": post_id, **ids}, self._data(ctx, "post", post_id=post_id,
                                                                  url=f"{WEB}/{owner}/posts/{local}"))

    def _picture(self, ctx: PushContext, target: str, token: str, ids: dict) -> PushOutcome:
        """Upload the picture bytes as ``source`` (we fetch it: Meta cannot reach private URLs)."""
        p = ctx.payload
        create_post = p.get("create_post", True)
        upload = None
        if not publish_started(ctx, "picture_id"):
            data, fmt = ctx.download(p["url"], DOWNLOAD_CAP)  # before the marker: its faults are plain
            if fmt not in PHOTO_TYPES:
                raise InvalidInput(f"Facebook accepts only JPG and PNG photos; this picture is {fmt}. "
                                   "Convert it and push again.", reason="unsupported_picture_format")
            if len(data) >= MAX_PHOTO:
                raise InvalidInput("Facebook accepts photos under 4 MB; this picture is larger.",
                                   reason="picture_too_large")
            name, mime = PHOTO_TYPES[fmt]
            upload = (name, data, mime)

        def create() -> str:
            form = {"published": "true" if create_post else "false"}
            if p.get("description"):
                form["caption"] = p["description"]
            body = self.graph("POST", f"/{target}/photos", token, ctx.kind, data=form,
                              files={"source": upload}, publish=create_post)
            ctx.progress["created"] = time.time()
            if body.get("post_id"):
                ctx.progress["post_id"] = body["post_id"]
            return body["id"]

        if create_post:
            publish_once(ctx, "picture_id", create, "Facebook", last=True)
        elif not ctx.progress.get("picture_id"):  # an unpublished photo: a retry makes nothing public
            ctx.progress["picture_id"] = create()
        picture_id, post_id = ctx.progress["picture_id"], ctx.progress.get("post_id")
        extra = {"post_id": post_id} if post_id else {}
        return PushOutcome({"picture_id": picture_id, **extra, **ids},
                           self._data(ctx, "picture", picture_id=picture_id, **extra,
                                      url=f"{WEB}/photo.php?fbid={picture_id}"))

    def _video(self, ctx: PushContext, target: str, token: str, ids: dict) -> PushOutcome:
        """Chunked upload of the staged video, then wait until Facebook has processed it."""
        return video.push_video(self, ctx, target, token, ids)

    # -- helpers ------------------------------------------------------------
    @staticmethod
    def _data(ctx: PushContext, obj: str, **fields) -> dict:
        created = ctx.progress.get("created", time.time())
        return {"provider": "facebook", "object": obj, **fields,
                "date_creation": email.utils.formatdate(created, localtime=False)}

    # -- optional hooks -----------------------------------------------------
    def _owner_token(self, kind: str, provider_ids: dict, access_token: str) -> str:
        if provider_ids.get("page_id"):
            return self.page_token(access_token, provider_ids["page_id"], kind)
        return access_token

    @staticmethod
    def _object_id(provider_ids: dict) -> str | None:
        return provider_ids.get("video_id") or provider_ids.get("post_id") or provider_ids.get("picture_id")

    def delete(self, kind: str, provider_ids: dict, access_token: str) -> bool:
        """``DELETE /{id}`` with the owning Page's token; False when nothing was published."""
        object_id = self._object_id(provider_ids)
        if not object_id:
            return False
        token = self._owner_token(kind, provider_ids, access_token)
        return bool(self.graph("DELETE", f"/{object_id}", token, kind).get("success"))

    def exists(self, kind: str, provider_ids: dict, access_token: str) -> bool | None:
        """``GET /{id}?fields=id``; an unknown object (code 100/33) means it is gone."""
        object_id = self._object_id(provider_ids)
        if not object_id:
            return None
        try:
            self.graph("GET", f"/{object_id}?fields=id", self._owner_token(kind, provider_ids, access_token), kind)
        except NotFound:
            return False
        return True

    def list_comments(self, kind: str, provider_ids: dict, access_token: str, since: str | None = None) -> list[dict]:
        """Comments on a pushed video, oldest first, newer than ``since`` (ISO 8601) when given."""
        return video.list_comments(self, kind, provider_ids, self._owner_token(kind, provider_ids, access_token),
                                   since)
