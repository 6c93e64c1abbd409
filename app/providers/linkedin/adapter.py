"""LinkedIn Posts and Images APIs: member and organization posts, OAuth 2 refresh.

Protocol: docs/providers.md section 3. A post is one
``POST /rest/posts`` (the publish step); a picture is first downloaded, then
registered with ``POST /rest/images?action=initializeUpload`` and sent whole in
one ``PUT`` to the returned ``uploadUrl``. The image URN (and whether its bytes
arrived) is saved in ``ctx.progress`` so a retried task neither uploads twice
nor creates a second image.
"""

from __future__ import annotations

import email.utils
import re
import time
from urllib.parse import quote

import requests

from app.providers.base import ProviderAdapter, PushContext, PushOutcome, TokenSet, publish_once, publish_started
from app.providers.capabilities import Deletes, ChecksExistence
from app.providers.errors import InvalidInput, OutcomeUnknown, ProcessingFailed, TransientError
from app.providers.linkedin.errors import translate
from app.providers.tokens import refresh_grant

MAX_PICTURE_BYTES = 5 * 1024 * 1024
#: Formats the Images API takes (reference §3.3); others are refused before any call.
PICTURE_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
#: Characters LinkedIn's "little text" reserves; unescaped they cut the text short.
RESERVED = "\\()[]{}<>@|*_~#"
UPLOAD_URL_MARGIN = 60  # seconds: an upload URL this close to expiry is not used
KINDS = ("post", "company/post")
#: Links are shown as written (an escape inside one breaks it); ``#word`` is a hashtag.
URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)
HASHTAG = re.compile(r"#\w")
#: Waiting for an uploaded picture to become AVAILABLE: GET polls (seconds between).
IMAGE_POLLS = (0.25, 0.5, 1, 2, 3, 5, 5, 5, 5, 5, 10, 10)
#: Where member tokens may not read images: a grace period, then the post is
#: retried on LinkedIn's "not yet available" answer after each of these waits.
IMAGE_GRACE = 1.0
POST_RETRIES = (2, 5, 10, 20)



def escape_little_text(text: str) -> str:
    """Backslash-escape the reserved characters, except inside links (shown as written)
    and a ``#`` that starts a hashtag, so the text is shown as written."""
    out, pos = [], 0
    for match in URL.finditer(text):
        out.append(_escape(text[pos:match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


def _escape(piece: str) -> str:
    return "".join(
        ch if ch not in RESERVED or (ch == "#" and HASHTAG.match(piece, i)) else "\\" + ch
        for i, ch in enumerate(piece)
    )


class LinkedInAdapter(ProviderAdapter, Deletes, ChecksExistence):
    name = "linkedin"

    def __init__(self, *args, oauth_url: str = "https://www.linkedin.com", version: str = "202608", **kwargs):
        super().__init__(*args, **kwargs)
        self.oauth_url = oauth_url.rstrip("/")
        self.version = version

    @classmethod
    def from_settings(cls, settings) -> "LinkedInAdapter":
        adapter = super().from_settings(settings)
        adapter.oauth_url = settings.linkedin_oauth_url.rstrip("/")
        adapter.version = settings.linkedin_version
        return adapter

    # -- tokens -------------------------------------------------------------
    def refresh(self, refresh_token: str) -> TokenSet:
        """Refresh grant at ``/oauth/v2/accessToken`` (client credentials in the form).

        Only partner apps hold refresh tokens; LinkedIn returns the same refresh
        token (not extended by use), so the old one is kept when none comes back.
        """
        return refresh_grant(self, self.oauth_url + "/oauth/v2/accessToken", refresh_token, display="LinkedIn",
                                   translate=translate, client_in_body=True)

    # -- pushes -------------------------------------------------------------
    def push(self, ctx: PushContext) -> PushOutcome:
        """Publish a member (``post``) or organization (``company/post``) post."""
        if ctx.kind not in KINDS:
            raise InvalidInput(f"LinkedIn has no '{ctx.kind}' push", reason="unsupported_kind")
        author = self._author(ctx)
        headers = self._headers(ctx.access_token)
        image = self._image(ctx, headers, author) if ctx.payload.get("picture") else None
        body = post_body(author, ctx.payload, image)

        def create() -> str:
            resp = self.request("POST", "/rest/posts", publish=True, headers=headers, json=body)
            self._check(resp, ctx.kind)
            urn = resp.headers.get("x-restli-id") or resp.headers.get("x-linkedin-id")
            if not urn:  # accepted, yet we cannot name or find the post
                raise OutcomeUnknown(f"LinkedIn answered {resp.status_code} to the post without its id "
                                     "(x-restli-id); check the account before pushing again.")
            return urn

        if image and not publish_started(ctx, "post_urn"):
            readable = self._wait_available(ctx, headers, image)
            urn = self._publish_when_ready(ctx, create, readable)
        else:
            urn = publish_once(ctx, "post_urn", create, "LinkedIn", last=True)
        created = ctx.progress.setdefault("created", time.time())
        provider_ids = {"post_urn": urn, "author": author}
        if image:
            provider_ids["image_urn"] = image
        return PushOutcome(provider_ids=provider_ids, data={
            "provider": "linkedin",
            "object": "post",
            "post_id": urn,
            "author": author,
            "date_creation": email.utils.formatdate(created, localtime=False),
            "url": f"https://www.linkedin.com/feed/update/{urn}",
        })

    def _author(self, ctx: PushContext) -> str:
        if ctx.kind == "company/post":
            company = str(ctx.payload["company"])
            return company if company.startswith("urn:li:organization:") else f"urn:li:organization:{company}"
        return f"urn:li:person:{ctx.provider_user_id}"

    def _headers(self, access_token: str) -> dict:
        return {
            "Authorization": f"Bearer {access_token}",
            "LinkedIn-Version": self.version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    # -- images -------------------------------------------------------------
    def _image(self, ctx: PushContext, headers: dict, author: str) -> str:
        """The image URN for the post's picture, uploading it unless progress says it arrived."""
        progress = ctx.progress
        if progress.get("image_urn") and progress.get("image_owner") == author:
            if progress.get("image_uploaded"):
                return progress["image_urn"]
            if self._resume_image(ctx, headers):
                return progress["image_urn"]
        data, mime = self._download(ctx)
        if not self._upload_url_usable(progress, author):
            progress.update(self._initialize_image(headers, author, ctx.kind))
            ctx.save_progress(progress)
        self._put_image(ctx, data, mime)
        return progress["image_urn"]

    def _image_status(self, ctx: PushContext, headers: dict, urn: str) -> str | None:
        """The image's status, or None when this token may not read images (403)."""
        resp = self.request("GET", "/rest/images/" + quote(urn, safe=""), headers=headers)
        if resp.status_code == 403:
            return None
        self._check(resp, ctx.kind)
        return resp.json().get("status")

    def _wait_available(self, ctx: PushContext, headers: dict, urn: str) -> bool:
        """Poll ``GET /rest/images/{urn}`` until AVAILABLE: a post that uses an image
        still PROCESSING is refused. False when the token may not read the image
        (member tokens, reportedly): then the post waits a grace period and retries."""
        if ctx.progress.get("image_available") == urn:
            return True
        for delay in (0, *IMAGE_POLLS):
            if delay:
                ctx.sleep(delay)
            status = self._image_status(ctx, headers, urn)
            if status is None:
                return False
            if status == "AVAILABLE":
                ctx.progress["image_available"] = urn
                ctx.save_progress(ctx.progress)
                return True
            if status == "PROCESSING_FAILED":
                raise _picture_failed(urn)
            if status == "WAITING_UPLOAD":  # the bytes never arrived: upload them again
                ctx.progress["image_uploaded"] = False
                ctx.save_progress(ctx.progress)
                raise TransientError(f"LinkedIn did not receive the picture ({urn}); it is uploaded again.",
                                     reason="picture_upload_lost")
        raise TransientError(f"LinkedIn is still processing the picture ({urn}) after a minute; "
                             "the post is retried later.", reason="picture_processing")

    def _publish_when_ready(self, ctx: PushContext, create, readable: bool) -> str:
        """``publish_once`` for a post with a picture: where the picture's status could
        not be read, wait a grace period first and retry on LinkedIn's "not yet
        available" answer (a refusal: nothing was created, so sending again is safe)."""
        if not readable:
            ctx.sleep(IMAGE_GRACE)
        for delay in (*POST_RETRIES, None):
            try:
                return publish_once(ctx, "post_urn", create, "LinkedIn", last=True)
            except InvalidInput as exc:
                if exc.reason != "picture_not_ready":
                    raise
                if delay is None:
                    raise TransientError(f"{exc.info} The post is retried later.", reason="picture_processing",
                                         details=exc.details) from exc
                ctx.sleep(delay)
        raise AssertionError("unreachable")

    def _resume_image(self, ctx: PushContext, headers: dict) -> bool:
        """After an interrupted PUT, ask LinkedIn whether the bytes arrived (True: they did)."""
        resp = self.request("GET", "/rest/images/" + quote(ctx.progress["image_urn"], safe=""), headers=headers)
        if resp.status_code == 403:
            return False  # member tokens may not read images; upload again
        self._check(resp, ctx.kind)
        status = resp.json().get("status")
        if status == "PROCESSING_FAILED":
            raise _picture_failed(ctx.progress["image_urn"])
        if status in ("PROCESSING", "AVAILABLE"):
            ctx.progress["image_uploaded"] = True
            ctx.save_progress(ctx.progress)
            return True
        return False

    def _download(self, ctx: PushContext) -> tuple[bytes, str]:
        data, fmt = ctx.download(ctx.payload["picture"], MAX_PICTURE_BYTES)
        if fmt not in PICTURE_FORMATS:
            raise InvalidInput(
                f"LinkedIn accepts only JPEG, PNG or GIF pictures; this one is {fmt or 'of an unknown format'}. "
                "Convert it and push again.", reason="unsupported_picture_format",
            )
        return data, PICTURE_FORMATS[fmt]

    def _upload_url_usable(self, progress: dict, author: str) -> bool:
        return (progress.get("image_owner") == author and bool(progress.get("upload_url"))
                and progress.get("upload_expires_at", 0) > time.time() + UPLOAD_URL_MARGIN)

    def _initialize_image(self, headers: dict, author: str, kind: str) -> dict:
        resp = self.request("POST", "/rest/images", params={"action": "initializeUpload"}, headers=headers,
                            json={"initializeUploadRequest": {"owner": author}})
        self._check(resp, kind)
        value = resp.json()["value"]
        return {
            "image_urn": value["image"],
            "image_owner": author,
            "upload_url": value["uploadUrl"],
            "upload_expires_at": int(value.get("uploadUrlExpiresAt", 0)) / 1000,
            "image_uploaded": False,
        }

    def _put_image(self, ctx: PushContext, data: bytes, mime: str) -> None:
        """The whole file in one PUT: LinkedIn corrupts chunked image uploads."""
        resp = self.request("PUT", ctx.progress["upload_url"], data=data,
                            headers={"Authorization": f"Bearer {ctx.access_token}", "Content-Type": mime})
        self._check(resp, ctx.kind)
        ctx.progress["image_uploaded"] = True
        ctx.save_progress(ctx.progress)
        ctx.report_bytes(len(data))

    # -- other hooks --------------------------------------------------------
    def delete(self, kind: str, provider_ids: dict, access_token: str) -> bool:
        """``DELETE /rest/posts/{encoded urn}``; a post already gone counts as deleted."""
        urn = provider_ids.get("post_urn")
        if not urn:
            return False
        resp = self.request("DELETE", "/rest/posts/" + quote(urn, safe=""), headers=self._headers(access_token))
        if resp.status_code == 404:
            return True
        self._check(resp, kind)
        return True

    def exists(self, kind: str, provider_ids: dict, access_token: str) -> bool | None:
        """``GET /rest/posts/{encoded urn}``: True, False when 404, None when LinkedIn will not say."""
        urn = provider_ids.get("post_urn")
        if not urn:
            return None
        resp = self.request("GET", "/rest/posts/" + quote(urn, safe=""), headers=self._headers(access_token))
        if resp.status_code == 404:
            return False
        return True if resp.status_code == 200 else None

    def _check(self, resp: requests.Response, kind: str) -> None:
        if resp.status_code >= 400:
            raise translate(resp, kind)


def post_body(author: str, payload: dict, image: str | None) -> dict:
    """The ``POST /rest/posts`` body: commentary escaped, an article for a link
    (the picture as its thumbnail), else the picture as the post's media."""
    body = {
        "author": author,
        "commentary": escape_little_text(payload.get("message", "")),
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    if payload.get("link"):
        article = {"source": payload["link"], "title": payload.get("title") or payload["link"]}
        if payload.get("description"):
            article["description"] = payload["description"]
        if image:
            article["thumbnail"] = image
        body["content"] = {"article": article}
    elif image:
        media = {"id": image}
        if payload.get("title"):
            media["title"] = payload["title"]
        if payload.get("description"):
            media["altText"] = payload["description"][:4086]
        body["content"] = {"media": media}
    return body


def _picture_failed(urn: str) -> ProcessingFailed:
    return ProcessingFailed(f"LinkedIn could not process the picture ({urn}); try another image file.",
                            reason="picture_processing_failed")
