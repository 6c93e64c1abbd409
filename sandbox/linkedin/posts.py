"""Posts API rules of the fake LinkedIn (reference §3.2, §3.6): create, read, delete.

``create(fake, record, body)`` validates the body like Rest.li does (unknown
fields, enums, required fields: 422), checks the author and the media owner,
refuses duplicates (422) and answers 201 with the URN in ``x-restli-id`` and an
empty body. A reserved character left unescaped truncates the stored text (or is
refused with ``fake.unescaped = "reject"``); the post records ``truncated``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, jsonify

from . import errors
from .authors import ORGANIZATION, check_author, hashtags, urls, visible_text

FIELDS = {"author", "commentary", "visibility", "distribution", "lifecycleState", "isReshareDisabledByAuthor",
          "content", "contentLandingPage", "contentCallToActionLabel", "container", "reshareContext"}
VISIBILITY = {"PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"}
FEED = {"MAIN_FEED", "NONE"}
LIFECYCLE = {"PUBLISHED", "DRAFT"}
CONTENT_KINDS = {"media", "article", "multiImage", "poll", "reference", "carousel"}
MAX_COMMENTARY = 3000
POSTABLE_IMAGE = {"AVAILABLE"}


def create(fake, record, body: dict) -> Response:
    _check_shape(body)
    author = check_author(fake, record, body.get("author"))
    commentary = body.get("commentary", "")
    text, truncated = visible_text(commentary)
    if truncated and fake.unescaped == "reject":
        raise errors.unprocessable("ERROR :: /commentary :: reserved characters must be escaped with a backslash")
    media = _check_content(fake, body.get("content"), author)
    with fake.lock:
        if fake.reject_duplicates and (text or media):
            for post in fake.posts:
                if post["author"] == author and post["text"] == text and post["media"] == media:
                    raise errors.duplicate(post["id"])
        urn = f"urn:li:share:{fake.new_digits()}"
        fake.posts.append({
            "id": urn, "author": author, "by": record.user_id, "commentary": commentary, "text": text,
            "truncated": truncated, "hashtags": hashtags(commentary), "urls": urls(text), "visibility": body["visibility"], "lifecycleState": body["lifecycleState"],
            "content": body.get("content"), "media": media, "created_at": fake.now(),
        })
    return Response(b"", status=201, headers={"x-restli-id": urn})


def _check_shape(body: dict) -> None:
    extra = sorted(set(body) - FIELDS)
    if extra:
        raise errors.unprocessable(f"ERROR :: /{extra[0]} :: unrecognized field found but not allowed")
    for name, allowed in (("visibility", VISIBILITY), ("lifecycleState", LIFECYCLE)):
        if body.get(name) not in allowed:
            raise errors.unprocessable(f"ERROR :: /{name} :: must be one of {sorted(allowed)}")
    distribution = body.get("distribution")
    if not isinstance(distribution, dict) or distribution.get("feedDistribution") not in FEED:
        raise errors.unprocessable("ERROR :: /distribution/feedDistribution :: field is required (MAIN_FEED or NONE)")
    commentary = body.get("commentary", "")
    if not isinstance(commentary, str):
        raise errors.unprocessable("ERROR :: /commentary :: must be a string")
    if len(visible_text(commentary)[0]) > MAX_COMMENTARY:  # escapes do not count (unconfirmed)
        raise errors.unprocessable(f"ERROR :: /commentary :: longer than {MAX_COMMENTARY} characters")
    reshare = body.get("isReshareDisabledByAuthor", False)
    if not isinstance(reshare, bool):
        raise errors.unprocessable("ERROR :: /isReshareDisabledByAuthor :: must be a boolean")


def _check_content(fake, content, author: str) -> list[str]:
    """Validate ``content``; return the media URNs it references (checked for owner/state)."""
    if content is None:
        return []
    if not isinstance(content, dict) or len(content) != 1 or next(iter(content)) not in CONTENT_KINDS:
        raise errors.unprocessable(f"ERROR :: /content :: exactly one of {sorted(CONTENT_KINDS)} is required")
    kind, node = next(iter(content.items()))
    if not isinstance(node, dict):
        raise errors.unprocessable(f"ERROR :: /content/{kind} :: must be an object")
    if kind == "media":
        _only(node, "media", {"id", "title", "altText"})
        urns = [node.get("id")]
    elif kind == "article":
        _only(node, "article", {"source", "title", "description", "thumbnail", "thumbnailAltText"})
        _check_article(node)
        urns = [node["thumbnail"]] if "thumbnail" in node else []
    else:
        raise errors.unprocessable(f"ERROR :: /content/{kind} :: not supported by this sandbox")
    for urn in urns:
        _check_image(fake, urn, author)
    return urns


def _only(node: dict, kind: str, allowed: set) -> None:
    extra = sorted(set(node) - allowed)
    if extra:
        raise errors.unprocessable(f"ERROR :: /content/{kind}/{extra[0]} :: unrecognized field found but not allowed")


def _check_article(node: dict) -> None:
    source = node.get("source")
    parts = urlsplit(source) if isinstance(source, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.unprocessable("ERROR :: /content/article/source :: an absolute http(s) URL is required")
    if not isinstance(node.get("title"), str) or not node["title"]:
        raise errors.unprocessable("ERROR :: /content/article/title :: field is required")


def _check_image(fake, urn, author: str) -> None:
    if not isinstance(urn, str) or not urn.startswith("urn:li:image:"):
        raise errors.unprocessable(f"ERROR :: /content :: {urn!r} is not an image URN")
    with fake.lock:
        image = fake.images.get(urn)
        status = fake.image_status(image) if image else None
    if image is None:
        raise errors.unprocessable(f"Media {urn} does not exist")
    if image.owner != author:
        raise errors.forbidden(f"Forbidden: access to the media resource {urn} is forbidden (its owner is not the author)")
    if status == "PROCESSING_FAILED":
        raise errors.unprocessable(f"Media {urn} has status PROCESSING_FAILED and cannot be posted")
    if status == "PROCESSING":
        raise errors.media_not_ready(urn, status)
    if status not in POSTABLE_IMAGE:
        raise errors.unprocessable(f"Media {urn} has status {status}: upload it before posting")


def read(fake, record, urn: str) -> Response:
    post = fake.find_post(urn)
    if post is None:
        raise errors.not_found(f"{urn} does not exist")
    return jsonify({"id": urn, "author": post["author"], "commentary": post["commentary"],
                    "visibility": post["visibility"], "lifecycleState": post["lifecycleState"],
                    "content": post["content"], "createdAt": int(post["created_at"] * 1000)})


def delete(fake, record, urn: str) -> Response:
    post = fake.find_post(urn)
    if post is None:
        raise errors.not_found(f"{urn} does not exist")
    org = ORGANIZATION.match(post["author"])
    if post["by"] != record.user_id and not (org and fake.role(record.user_id, org.group(1)) == "ADMINISTRATOR"):
        raise errors.forbidden(f"Not enough permissions to delete {urn}")
    with fake.lock:
        fake.posts.remove(post)
        fake.deleted_posts.append({**post, "deleted_at": fake.now()})
    return Response(b"", status=204)
