"""Facebook-specific ``/_sandbox/`` control endpoints (common ones live in sandbox.common).
Here ``POST /users`` comes from ``control_common.add_user_route``.

POST /_sandbox/users              {"username", "user_id"?, "expires_in"?, "page"?: true} -> 201 tokens + page_id
POST /_sandbox/pages              {"name"?, "admins": {"<user_id>": ["CREATE_CONTENT", ...]}} -> 201 {"page_id"}
POST /_sandbox/groups             {"name"?, "members": [...]} -> 201 {"group_id"}
POST /_sandbox/legacy_groups      {"enabled": true|false}
POST /_sandbox/tokens/expire      {"access_token"} -> code 190/463 from now on
POST /_sandbox/tokens/kill        {"access_token"} -> code 190/460 from now on
POST /_sandbox/processing         {"message"?} -> the next finished video ends in status error
POST /_sandbox/usage              {"app_calls_per_hour"?, "page_calls_per_day"?}
POST /_sandbox/videos/<id>/comments {"author_name", "text", "hide_from"?} -> 201 {"id"}
GET  /_sandbox/videos/<id>        -> the video record (ranges, sha256, status)
GET  /_sandbox/content            -> {"posts", "photos", "videos", "deleted", "creations"}
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..control_common import add_user_route
from ..control_common import error as _error, fake as _fake, json_body as _body

bp = Blueprint("fb_sandbox", __name__, url_prefix="/_sandbox")
add_user_route(bp, default_expires_in=5184000, options=lambda body: {"page": bool(body.get("page", True))})


@bp.post("/pages")
def add_page():
    admins = _body().get("admins") or {}
    if not isinstance(admins, dict) or any(u not in _fake().users for u in admins):
        return _error(400, "admins must map known user ids to task lists")
    return jsonify({"page_id": _fake().add_page(_body().get("name"), admins=admins)}), 201


@bp.post("/groups")
def add_group():
    body = _body()
    return jsonify({"group_id": _fake().add_group(body.get("name"), members=body.get("members") or [])}), 201


@bp.post("/legacy_groups")
def legacy_groups():
    _fake().legacy_groups = bool(_body().get("enabled"))
    return jsonify({"legacy_groups": _fake().legacy_groups})


@bp.post("/tokens/<action>")
def tokens(action: str):
    fake = _fake()
    handler = {"expire": fake.expire_token, "kill": fake.kill_token}.get(action)
    if handler is None:
        return _error(404, "action must be expire or kill")
    try:
        handler(_body().get("access_token"))
    except KeyError:
        return _error(404, "unknown access_token")
    return jsonify({action: True})


@bp.post("/processing")
def processing():
    _fake().fail_next_video(_body().get("message") or "The video could not be processed.")
    return jsonify({"scripted": "error"})


@bp.post("/usage")
def usage():
    body = _body()
    _fake().set_usage_limits(body.get("app_calls_per_hour"), body.get("page_calls_per_day"))
    return jsonify({"app_calls_per_hour": _fake().app_call_limit, "page_calls_per_day": _fake().page_call_limit})


@bp.post("/videos/<video_id>/comments")
def add_comment(video_id: str):
    body = _body()
    try:
        comment_id = _fake().add_comment(video_id, body.get("author_name") or "Someone", body.get("text") or "",
                                         hide_from=bool(body.get("hide_from")))
    except KeyError:
        return _error(404, "unknown video id")
    return jsonify({"id": comment_id}), 201


@bp.get("/videos/<video_id>")
def get_video(video_id: str):
    video = _fake().videos.get(video_id)
    return jsonify(video.as_dict()) if video else _error(404, "unknown video id")


@bp.get("/content")
def content():
    fake = _fake()
    with fake.lock:
        strip = lambda d: {k: v for k, v in d.items() if not k.startswith("_")}  # noqa: E731
        return jsonify({"posts": [strip(p) for p in fake.posts.values()],
                        "photos": [strip(p) for p in fake.photos.values()],
                        "videos": [v.as_dict() for v in fake.videos.values()],
                        "deleted": list(fake.deleted), "creations": fake.creations()})
