"""Pinterest-specific ``/_sandbox/`` control endpoints (the common ones live in sandbox.common).
Here ``/users``, ``/tokens/``, ``/media/`` and ``/processing`` come from ``sandbox.control_common``.

POST /_sandbox/users            {"username", "user_id"?, "expires_in"?, "scope"?} -> 201 tokens + board_id
POST /_sandbox/boards           {"user_id", "board_id"?, "name"?} -> 201 {"board_id"}
POST /_sandbox/tokens/expire    {"access_token"}  -> the token answers 401 from now on
POST /_sandbox/tokens/revoke    {"refresh_token"} -> the refresh grant answers 400
POST /_sandbox/processing       {"outcome": "failed"|"stuck"|"succeeded", "media_id"?, "message"?}
                                without media_id: applies to the next media uploaded
POST /_sandbox/media/<id>/expire -> its upload policy is expired (bucket answers 403)
GET  /_sandbox/media/<id>       -> the media record (status, uploads with size/sha256/range)
GET  /_sandbox/pins             -> {"pins": [...], "deleted": [...], "created": {...}}
POST /_sandbox/trial            {"daily_limit": n | null, "sandbox_host"?: bool} -> trial access on/off;
                                a Trial app's Pins are refused (403 code 29) unless sandbox_host
POST /_sandbox/legacy_app       {"legacy": bool} -> refresh needs continuous_refresh=true
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..control_common import add_media_routes, add_token_routes, add_user_route
from ..control_common import error as _error, fake as _fake, json_body as _body
from .state import ACCESS_TTL, DEFAULT_SCOPE

bp = Blueprint("pinterest_sandbox", __name__, url_prefix="/_sandbox")
add_user_route(bp, default_expires_in=ACCESS_TTL, options=lambda body: {"scope": body.get("scope", DEFAULT_SCOPE)})
add_token_routes(bp)
add_media_routes(bp, expire="expire_upload")


@bp.post("/boards")
def add_board():
    body = _body()
    if str(body.get("user_id")) not in _fake().users:
        return _error(404, "unknown user_id")
    board_id = _fake().add_board(str(body["user_id"]), body.get("board_id"), body.get("name", "Board"))
    return jsonify({"board_id": board_id}), 201


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
    sandbox_host = _body().get("sandbox_host")
    _fake().set_trial(limit, None if sandbox_host is None else bool(sandbox_host))
    return jsonify({"daily_limit": limit, "sandbox_host": _fake().sandbox_host})


@bp.post("/legacy_app")
def set_legacy():
    _fake().legacy_app = bool(_body().get("legacy", True))
    return jsonify({"legacy": _fake().legacy_app})
