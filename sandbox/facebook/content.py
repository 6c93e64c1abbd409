"""Graph API rules of the fake for everything but video uploads (reference §2.2–2.5).

Each function takes the ``FakeFacebook`` state, the caller's token record and the
parsed inputs, and returns ``(status, json_body)`` or raises ``GraphError``.
``publish_target`` decides who may post where: Pages need a Page token with
CREATE_CONTENT; user feeds are gone (code 200); groups are gone (code 200) unless
``fake.legacy_groups`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

import requests
from flask import request

from ..common import MiB
from . import errors
from .errors import GraphError
from .state import LONG_LIVED, Token

MAX_PHOTO = 4 * MiB
PHOTO_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
PAGE_POST_DENIED = ("If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin "
                    "with sufficient administrative permission")


def publish_target(fake, token: Token, node: str) -> tuple[str, str]:
    """``(kind, id)`` of the Page or (legacy) group ``token`` may publish to, or raise."""
    if node == "me":
        if token.kind == "page":
            node = token.page_id
        else:
            raise errors.profile_retired()
    if node in fake.users:
        raise errors.profile_retired()
    if node in fake.groups:
        if not fake.legacy_groups:
            raise errors.groups_retired()
        if token.kind != "user" or token.user_id not in fake.groups[node]["members"]:
            raise errors.permission("Requires app being installed in the group and the user being a member")
        return "group", node
    if node in fake.pages:
        if token.kind != "page" or token.page_id != node:
            raise errors.permission(PAGE_POST_DENIED)
        if "CREATE_CONTENT" not in fake.pages[node]["admins"].get(token.user_id, ()):
            raise errors.permission("The user must be an administrator or editor with the CREATE_CONTENT task "
                                    "on the Page to publish", code=10)
        return "page", node
    raise errors.unknown_object(node, "POST")


def _flag(value, default: bool) -> bool:
    if value is None:
        return default
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    raise errors.bad_param(f"Param published must be a boolean, got '{value}'")


# --------------------------------------------------------------------------- tokens, me, accounts


def exchange_token(fake, args) -> dict:
    """``GET /oauth/access_token?grant_type=fb_exchange_token&...`` (the only grant offered)."""
    if args.get("client_id") != fake.client_id:
        raise GraphError(101, "Error validating application. Invalid application ID.")
    if args.get("client_secret") != fake.client_secret:
        raise GraphError(1, "Error validating client secret.")
    if args.get("grant_type") != "fb_exchange_token":
        raise errors.bad_param(f"Unsupported grant_type '{args.get('grant_type')}'; use fb_exchange_token")
    old = fake.authenticate(args.get("fb_exchange_token"))
    if old.kind != "user":
        raise errors.bad_param("fb_exchange_token must be a user access token")
    with fake.lock:
        token = "EAAB" + secrets.token_urlsafe(40)
        fake.tokens[token] = Token("user", old.user_id, expires_at=fake.now() + LONG_LIVED)
    return {"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED}


def accounts(fake, token: Token, node: str, args) -> tuple[int, dict]:
    """``GET /me/accounts``: the Pages the user has a role on, each with its Page token."""
    if token.kind != "user" or node not in ("me", token.user_id):
        raise errors.bad_param("Tried accessing nonexisting field (accounts) on node type (Page)")
    with fake.lock:
        items = [{"access_token": page["tokens"][token.user_id], "category": page["category"],
                  "name": page["name"], "id": page["id"], "tasks": list(page["admins"][token.user_id])}
                 for page in fake.pages.values() if token.user_id in page["admins"]]
    return 200, paginate(items, args)


def paginate(items: list, args, default_limit: int = 25) -> dict:
    """Cursor paging as Graph does it: ``paging.cursors`` and ``next`` unless last page."""
    try:
        limit = int(args.get("limit", default_limit))
        start = int(base64.urlsafe_b64decode(args["after"]).decode()) if args.get("after") else 0
    except (ValueError, UnicodeDecodeError):
        raise errors.bad_param("Invalid limit or after cursor") from None
    if limit < 1 or limit > 100:
        raise errors.bad_param("limit must be between 1 and 100")
    chunk = items[start:start + limit]
    body: dict = {"data": chunk}
    if chunk:
        cursor = lambda i: base64.urlsafe_b64encode(str(i).encode()).decode()  # noqa: E731
        body["paging"] = {"cursors": {"before": cursor(start), "after": cursor(start + len(chunk))}}
        if start + len(chunk) < len(items):
            query = {k: v for k, v in args.items() if k not in ("after", "access_token")}
            query["after"] = cursor(start + len(chunk))
            body["paging"]["next"] = request.base_url + "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return body


# --------------------------------------------------------------------------- read, delete


def _object(fake, node: str) -> tuple[str, dict] | None:
    """``(type, fields)`` of any live object, or None."""
    if node in fake.deleted:
        return None
    if node in fake.videos:
        video = fake.videos[node]
        return "Video", {"id": node, "title": video.title, "description": video.description,
                         "created_time": fake.iso(video.created_time),
                         "permalink_url": f"/{video.target}/videos/{node}/",
                         "picture": f"https://scontent.xx.fbcdn.net/v/t15.5256-10/{node}_n.jpg",
                         "published": video.published, "status": video_status(fake, video)}
    for kind, table in (("Post", fake.posts), ("Photo", fake.photos)):
        if node in table:
            return kind, {k: v for k, v in table[node].items() if not k.startswith("_")}
    if node in fake.pages:
        return "Page", {"id": node, "name": fake.pages[node]["name"]}
    if node in fake.users:
        return "User", dict(fake.users[node])
    if node in fake.groups:
        return "Group", {"id": node, "name": fake.groups[node]["name"]}
    return None


def get_node(fake, token: Token, node: str, args) -> tuple[int, dict]:
    """``GET /{id}?fields=...``: only the fields asked for (plus id); unknown field -> 100."""
    with fake.lock:
        found = _object(fake, node)
        if found is None:
            raise errors.unknown_object(node, "GET")
        kind, fields = found
        wanted = [_field_name(f) for f in (args.get("fields") or "").split(",") if f] or [
            k for k in ("id", "name", "title", "message") if k in fields]
        for name in wanted:
            if name not in fields:
                raise errors.bad_param(f"Tried accessing nonexisting field ({name}) on node type ({kind})")
        if "status" in wanted and kind == "Video":
            fields["status"] = video_status(fake, fake.videos[node], poll=True)
        return 200, {"id": node, **{name: fields[name] for name in wanted}}


def _field_name(spec: str) -> str:
    """``picture.type(large)`` -> ``picture`` (field modifiers are accepted and ignored)."""
    return spec.split(".", 1)[0].split("{", 1)[0]


def video_status(fake, video, poll: bool = False) -> dict:
    """The ``status`` field; each poll after finish moves processing one step towards ready.

    As Facebook does, ``video_status`` passes intermediate values: ``upload_complete``
    once every byte is in (whether or not ``finish`` ran) and for the first
    ``upload_complete_polls`` polls after it, then ``processing``, then ``ready`` or
    ``error``. ``uploading_phase`` is complete as soon as the bytes are in; only
    ``publishing_phase`` (``in_progress`` after finish) shows that finish ran.
    """
    if poll and video.finished and video.status == "processing":
        video.polls += 1
        if video.polls > fake.upload_complete_polls + fake.processing_polls:
            video.status = "error" if video.fail_message else "ready"
    done = video.status in ("ready", "error")
    all_in = video.file_size > 0 and video.committed >= video.file_size
    shown = video.status
    if not video.finished and all_in:
        shown = "upload_complete"
    elif video.status == "processing" and video.polls <= fake.upload_complete_polls:
        shown = "upload_complete"
    publishing = "complete" if video.status == "ready" else (
        "in_progress" if video.finished and video.status == "processing" else "not_started")
    status = {
        "video_status": shown,
        "uploading_phase": {"status": "complete" if video.finished or all_in else "in_progress",
                            "bytes_transferred": video.committed},
        "processing_phase": {"status": {"ready": "complete", "error": "error"}.get(
            video.status, "in_progress" if video.finished else "not_started")},
        "publishing_phase": {"status": publishing,
                             "publish_status": "published" if video.status == "ready" and video.published
                             else "not_published"},
        "processing_progress": 100 if done else (50 if video.finished else 0),
    }
    if video.status == "error":
        status["processing_phase"]["errors"] = [{"code": 1363008, "message": video.fail_message}]
    return status


def delete_node(fake, token: Token, node: str) -> tuple[int, dict]:
    """``DELETE /{id}``: the owning Page's token (or the legacy group author) only."""
    with fake.lock:
        found = _object(fake, node)
        if found is None or found[0] not in ("Post", "Photo", "Video"):
            raise errors.unknown_object(node, "DELETE")
        if node in fake.videos:
            target = fake.videos[node].target
        else:
            target = (fake.posts.get(node) or fake.photos[node])["_target"]
        owner_ok = (token.kind == "page" and token.page_id == target) or \
                   (token.kind == "user" and target in fake.groups)
        if not owner_ok:
            raise errors.permission("Permissions error", code=200)
        fake.deleted.append(node)
    return 200, {"success": True}


# --------------------------------------------------------------------------- comments


def comments(fake, token: Token, node: str, args) -> tuple[int, dict]:
    """``GET /{video_id}/comments`` with filter, order, summary, since, limit, after."""
    with fake.lock:
        video = fake.videos.get(node)
        if video is None or node in fake.deleted:
            raise errors.unknown_object(node, "GET")
        if token.kind != "page" or token.page_id != video.target:
            raise errors.permission("This endpoint requires the 'pages_read_engagement' permission or the "
                                    "'Page Public Content Access' feature", code=10)
        moderate = "MODERATE" in fake.pages[video.target]["admins"].get(token.user_id, ())
        items = sorted(fake.comments.get(node, []), key=lambda c: c["_ts"])
    if args.get("filter", "toplevel") not in ("toplevel", "stream"):
        raise errors.bad_param("filter must be toplevel or stream")
    order = args.get("order", "chronological")
    if order not in ("chronological", "reverse_chronological"):
        raise errors.bad_param("order must be chronological or reverse_chronological")
    if args.get("since"):
        try:
            since = float(args["since"])
        except ValueError:
            raise errors.bad_param("since must be a Unix timestamp") from None
        items = [c for c in items if c["_ts"] > since]
    if order == "reverse_chronological":
        items.reverse()
    fields = args.get("fields") or ""
    with_picture = "from{" in fields and "picture" in fields.split("from{", 1)[1].split("}", 1)[0]
    shaped = [_comment(c, moderate, with_picture) for c in items]
    body = paginate(shaped, args)
    if str(args.get("summary", "")).lower() in ("true", "1"):
        body["summary"] = {"total_count": len(items), "order": order, "can_comment": True}
    return 200, body


def _comment(entry: dict, moderate: bool, with_picture: bool = False) -> dict:
    """One comment; ``from{...,picture}`` adds the author's picture URL as Graph hands it out
    (a signed CDN address: the bare ``/{id}/picture`` edge answers nothing without a token)."""
    out = {k: v for k, v in entry.items() if not k.startswith("_") and v is not None}
    if with_picture and out.get("from"):
        author_id = out["from"].get("id")
        out["from"] = {**out["from"], "picture": {"data": {
            "url": f"https://platform-lookaside.fbsbx.com/platform/profilepic/?asid={author_id}&ext=1&hash=sandbox",
            "is_silhouette": False}}}
    if not moderate:
        out.pop("id", None)
    return out


# --------------------------------------------------------------------------- feed, photos


def post_feed(fake, token: Token, node: str, form) -> tuple[int, dict]:
    """``POST /{page_id}/feed`` with message, link, published, scheduled_publish_time, attached_media."""
    kind, target = publish_target(fake, token, node)
    message, link = form.get("message"), form.get("link")
    media = _attached_media(form)
    if not (message or link or media):
        raise errors.bad_param("Missing message or attachment")
    if link and not link.startswith(("http://", "https://")):
        raise GraphError(100, "(#100) The link is not a valid URL", subcode=1609005)
    published = _flag(form.get("published"), True)
    scheduled = _schedule(fake, form.get("scheduled_publish_time"), published)
    with fake.lock:
        for fbid in media:
            photo = fake.photos.get(fbid)
            if photo is None or photo["_target"] != target or photo["published"] or fbid in fake.deleted:
                raise errors.bad_param(f"attached_media {fbid} must be an unpublished photo of this Page")
        for post in fake.posts.values():
            if post["_target"] == target and not media and (post.get("message"), post.get("link")) == (message, link):
                raise GraphError(506, "(#506) Duplicate status message", user_title="Duplicate post",
                                 user_msg="This status update is identical to the last one you posted.")
        post_id = f"{target}_{fake.new_id()}"
        for fbid in media:
            fake.photos[fbid]["published"] = True
            fake.photos[fbid]["_attached_to"] = post_id
        fake.posts[post_id] = {"id": post_id, "message": message, "link": link, "created_time": fake.iso(),
                               "attached_media": media, "published": published, "type": "status",
                               "scheduled_publish_time": scheduled, "_target": target, "_author": token.user_id,
                               "permalink_url": f"https://www.facebook.com/{target}/posts/{post_id.split('_')[1]}"}
    return 200, {"id": post_id}


def _attached_media(form) -> list[str]:
    raw = form.get("attached_media")
    entries = []
    try:
        if raw:
            entries = json.loads(raw)
        else:
            keys = sorted((k for k in form if k.startswith("attached_media[")), key=lambda k: int(k[15:-1]))
            entries = [json.loads(form[k]) for k in keys]
        if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("media_fbid") for e in entries):
            raise ValueError
    except (ValueError, TypeError):
        raise errors.bad_param('attached_media must be a list of {"media_fbid": "<photo id>"}') from None
    return [str(e["media_fbid"]) for e in entries]


def _schedule(fake, value, published: bool) -> int | None:
    if value is None:
        return None
    if published:
        raise errors.bad_param("Scheduled posts must be unpublished (published=false)")
    try:
        when = int(value)
    except ValueError:
        raise errors.bad_param("scheduled_publish_time must be a Unix timestamp in this sandbox") from None
    if not fake.now() + 600 <= when <= fake.now() + 30 * 86400:
        raise errors.bad_param("The specified scheduled publish time is invalid (10 minutes to 30 days ahead)")
    return when


def post_photo(fake, token: Token, node: str, form, source) -> tuple[int, dict]:
    """``POST /{page_id}/photos`` with a multipart ``source`` or a public ``url``."""
    kind, target = publish_target(fake, token, node)
    size, head, digest = _photo_bytes(form.get("url"), source)
    if size >= MAX_PHOTO or not head.startswith(PHOTO_SIGNATURES):
        raise GraphError(100, "(#100) Photo is too large or its file type is not supported", subcode=1366046,
                         user_title="Invalid photo", user_msg="Photos must be JPG or PNG files under 4 MB.")
    published = _flag(form.get("published"), True)
    with fake.lock:
        photo_id = fake.new_id()
        photo = {"id": photo_id, "caption": form.get("caption") or form.get("message"), "published": published,
                 "created_time": fake.iso(), "size": size, "sha256": digest,
                 "format": "png" if head.startswith(b"\x89PNG") else "jpeg", "_target": target,
                 "link": f"https://www.facebook.com/photo.php?fbid={photo_id}"}
        fake.photos[photo_id] = photo
        body = {"id": photo_id}
        if published:
            post_id = f"{target}_{fake.new_id()}"
            fake.posts[post_id] = {"id": post_id, "message": photo["caption"], "created_time": fake.iso(),
                                   "type": "photo", "object_id": photo_id, "published": True, "_target": target,
                                   "_author": token.user_id}
            photo["post_id"] = body["post_id"] = post_id
    return 200, body


def _photo_bytes(url: str | None, source) -> tuple[int, bytes, str]:
    """(size, first bytes, sha256) of the uploaded ``source`` part or the fetched ``url``."""
    if source is not None:
        sink = source.stream
        return sink.size, bytes(sink.head), sink.hexdigest
    if not url:
        raise GraphError(324, "(#324) Requires upload file")
    try:
        resp = requests.get(url, timeout=10)
        resp.raise_for_status()
    except requests.RequestException:
        raise GraphError(100, "(#100) url should represent a valid URL", subcode=2061006) from None
    return len(resp.content), resp.content[:16], hashlib.sha256(resp.content).hexdigest()
