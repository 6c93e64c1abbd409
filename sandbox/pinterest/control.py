"""Pinterest-specific ``/_sandbox/`` control endpoints (the common ones live in sandbox.common).

POST /_sandbox/users            {"username", "user_id"?, "expires_in"?, "scope"?} -> 201 tokens + board_id
POST /_sandbox/boards           {"user_id", "board_id"?, "name"?} -> 201 {"board_id"}
POST /_sandbox/tokens/expire    {"access_token"}  -> the token answers 401 from now on
POST /_sandbox/tokens/revoke    {"refresh_token"} -> the refresh grant answers 400
POST /_sandbox/processing       {"outcome": "failed"|"stuck"|"succeeded", "media_id"?, "message"?}
                                without media_id: applies to the next media uploaded
POST /_sandbox/media/<id>/expire -> its upload policy is expired (bucket answers 403)
GET  /_sandbox/media/<id>       -> the media record (status, uploads with size/sha256/range)
GET  /_sandbox/pins             -> {"pins": [...], "deleted": [...], "created": {...}}
POST /_sandbox/trial            {"daily_limit": n | null} -> trial access on/off
POST /_sandbox/legacy_app       {"legacy": bool} -> refresh needs continuous_refresh=true
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from .state import ACCESS_TTL, DEFAULT_SCOPE

bp = Blueprint("pinterest_sandbox", __name__, url_prefix="/_sandbox")


def _fake():
    return current_app.extensions["fake"]


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _error(status: int, message: str):
    return jsonify({"error": message}), status


@bp.post("/users")
def add_user():
    body = _body()
    expires_in = body.get("expires_in", ACCESS_TTL)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        return _error(400, "expires_in must be a positive integer")
    user = _fake().add_user(body.get("user_id"), body.get("username"), expires_in=expires_in,
                            scope=body.get("scope", DEFAULT_SCOPE))
    return jsonify(user), 201


@bp.post("/boards")
def add_board():
    body = _body()
    if str(body.get("user_id")) not in _fake().users:
        return _error(404, "unknown user_id")
    board_id = _fake().add_board(str(body["user_id"]), body.get("board_id"), body.get("name", "Board"))
    return jsonify({"board_id": board_id}), 201


@bp.post("/tokens/expire")
def expire_token():
    try:
        _fake().expire_token(_body().get("access_token"))
    except KeyError:
        return _error(404, "unknown access_token")
    return jsonify({"expired": True})


@bp.post("/tokens/revoke")
def revoke_refresh():
    try:
        _fake().revoke_refresh(_body().get("refresh_token"))
    except KeyError:
        return _error(404, "unknown refresh_token")
    return jsonify({"revoked": True})


@bp.post("/processing")
def script_processing():
    body = _body()
    outcome, media_id, message = body.get("outcome"), body.get("media_id"), body.get("message")
    fake = _fake()
    try:
        if media_id is not None:
            fake.set_media_outcome(media_id, outcome, message)
        elif outcome == "failed":
            fake.fail_next_media(message or "The video could not be processed.")
        elif outcome == "stuck":
            fake.stick_next_media()
        else:
            return _error(400, "without media_id, outcome must be failed or stuck")
    except KeyError:
        return _error(404, "unknown media id")
    except ValueError as exc:
        return _error(400, str(exc))
    return jsonify({"scripted": {"outcome": outcome, "media_id": media_id}})


@bp.post("/media/<media_id>/expire")
def expire_upload(media_id: str):
    try:
        _fake().expire_upload(media_id)
    except KeyError:
        return _error(404, "unknown media id")
    return jsonify({"expired": True})


@bp.get("/media/<media_id>")
def get_media(media_id: str):
    item = _fake().media.get(media_id)
    if item is None:
        return _error(404, "unknown media id")
    return jsonify(item.as_dict())


@bp.get("/pins")
def list_pins():
    fake = _fake()
    with fake.lock:
        return jsonify({"pins": list(fake.pins.values()), "deleted": list(fake.deleted_pins),
                        "created": dict(fake.created)})


@bp.post("/trial")
def set_trial():
    limit = _body().get("daily_limit", 1000)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        return _error(400, "daily_limit must be an integer >= 0 or null")
    _fake().set_trial(limit)
    return jsonify({"daily_limit": limit})


@bp.post("/legacy_app")
def set_legacy():
    _fake().legacy_app = bool(_body().get("legacy", True))
    return jsonify({"legacy": _fake().legacy_app})
