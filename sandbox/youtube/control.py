"""YouTube-specific ``/_sandbox/`` control endpoints (the common ones live in sandbox.common).

POST /_sandbox/users             {"username"?, "user_id"?, "expires_in"?, "verified"?} -> 201 tokens + ids
POST /_sandbox/playlists         {"channel_id", "title"?, "manual_sort"?} -> 201 {"playlist_id"}
POST /_sandbox/tokens/expire     {"access_token"}
POST /_sandbox/tokens/revoke     {"refresh_token"}
POST /_sandbox/processing        {"outcome": "failed"|"rejected", "reason"?, "video_id"?}
POST /_sandbox/comments          {"video_id", "author_name", "text"} -> 201 {"id"}
POST /_sandbox/quota             {"model"?, "units"?, "insert_calls"?, "uploads_per_channel"?}
POST /_sandbox/flags             {"unverified_project"?, "testing_app"?, "processing_seconds"?,
                                  "session_lifetime"?, "expired_session_status"?}
GET  /_sandbox/videos/<id>       the video record with its upload session (ranges, sha256)
GET  /_sandbox/objects           creation counts, deleted video ids
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..control_common import error as _error, fake as _fake, json_body as _body

bp = Blueprint("yt_sandbox", __name__, url_prefix="/_sandbox")
FLAGS = {"unverified_project": bool, "testing_app": bool, "processing_seconds": (int, float),
         "session_lifetime": (int, float), "expired_session_status": int}


@bp.post("/users")
def add_user():
    body = _body()
    user = _fake().add_user(body.get("user_id"), body.get("username"), expires_in=int(body.get("expires_in", 3599)),
                            verified=bool(body.get("verified", True)))
    return jsonify(user), 201


@bp.post("/playlists")
def add_playlist():
    body = _body()
    if body.get("channel_id") not in _fake().channels:
        return _error(404, "unknown channel_id")
    playlist_id = _fake().add_playlist(body["channel_id"], body.get("title", "Playlist"),
                                       manual_sort=bool(body.get("manual_sort", True)))
    return jsonify({"playlist_id": playlist_id}), 201


@bp.post("/tokens/<action>")
def tokens(action: str):
    body, fake = _body(), _fake()
    try:
        if action == "expire":
            fake.expire_token(body.get("access_token"))
        elif action == "revoke":
            fake.revoke_refresh(body.get("refresh_token"))
        else:
            return _error(404, "action must be expire or revoke")
    except KeyError:
        return _error(404, "unknown token")
    return jsonify({action: True})


@bp.post("/processing")
def processing():
    body, fake = _body(), _fake()
    outcome, reason, video_id = body.get("outcome"), body.get("reason"), body.get("video_id")
    try:
        if video_id:
            fake.set_video_outcome(video_id, outcome, reason)
        elif outcome == "failed":
            fake.fail_next_video(reason or "codec")
        elif outcome == "rejected":
            fake.reject_next_video(reason or "duplicate")
        else:
            return _error(400, "without video_id, outcome must be failed or rejected")
    except KeyError:
        return _error(404, "unknown video id")
    except ValueError as exc:
        return _error(400, str(exc))
    return jsonify({"scripted": {"outcome": outcome, "reason": reason, "video_id": video_id}})


@bp.post("/comments")
def add_comment():
    body = _body()
    if body.get("video_id") not in _fake().videos:
        return _error(404, "unknown video id")
    thread_id = _fake().add_comment(body["video_id"], str(body.get("author_name", "Someone")), str(body.get("text", "")))
    return jsonify({"id": thread_id}), 201


@bp.post("/quota")
def quota():
    body = _body()
    try:
        _fake().set_quota(**{k: body[k] for k in ("model", "units", "insert_calls", "uploads_per_channel") if k in body})
    except (TypeError, ValueError) as exc:
        return _error(400, str(exc))
    fake = _fake()
    return jsonify({"model": fake.quota_model, "units": fake.quota_units, "insert_calls": fake.quota_insert_calls,
                    "uploads_per_channel": fake.uploads_per_channel})


@bp.post("/flags")
def flags():
    fake, body = _fake(), _body()
    for name, value in body.items():
        if name not in FLAGS or isinstance(value, bool) != (FLAGS[name] is bool) or not isinstance(value, FLAGS[name]):
            return _error(400, f"unknown flag or wrong type: {name}")
        setattr(fake, name, value)
    return jsonify({name: getattr(fake, name) for name in FLAGS})


@bp.get("/videos/<video_id>")
def video(video_id: str):
    fake = _fake()
    with fake.lock:
        item = fake.videos.get(video_id)
        if item is None:
            return _error(404, "unknown video id")
        session = fake.session_for_video(video_id)
        return jsonify({"id": item.id, "channel_id": item.channel_id, "size": item.size, "sha256": item.sha256,
                        "snippet": item.snippet, "status": item.status, "outcome": item.outcome,
                        "thumbnail": item.thumbnail,
                        "ranges": [list(r) for r in session.ranges] if session else []})


@bp.get("/objects")
def objects():
    fake = _fake()
    with fake.lock:
        return jsonify({"created": dict(fake.created), "deleted": list(fake.deleted)})
