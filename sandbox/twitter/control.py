"""X-specific ``/_sandbox/`` control endpoints (the common ones live in sandbox.common).

POST /_sandbox/users            {"username", "user_id"?, "expires_in"?, "scope"?} -> 201 tokens
POST /_sandbox/tokens/expire    {"access_token"}  -> the token answers 401 from now on
POST /_sandbox/tokens/revoke    {"refresh_token"} -> the refresh grant answers 400
POST /_sandbox/tokens/app       -> {"access_token"} of an app-only token (403 on API)
GET  /_sandbox/media/<id>       -> the media record (sizes, hashes, state)
POST /_sandbox/media/<id>/expire
POST /_sandbox/processing       {"outcome": "failed"|"stuck"|"succeeded", "media_id"?, "message"?}
                                without media_id: applies to the next video/GIF finalized
GET  /_sandbox/tweets           -> {"tweets": [...], "deleted": [...]}
POST /_sandbox/rate_limits      {"endpoint": bucket, "limit": n, "window"?: seconds}
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from .state import DEFAULT_SCOPE

bp = Blueprint("x_sandbox", __name__, url_prefix="/_sandbox")


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
    expires_in = body.get("expires_in", 7200)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        return _error(400, "expires_in must be a positive integer")
    user = _fake().add_user(
        body.get("user_id"), body.get("username"), expires_in=expires_in, scope=body.get("scope", DEFAULT_SCOPE)
    )
    return jsonify(user), 201


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


@bp.post("/tokens/app")
def app_token():
    return jsonify({"access_token": _fake().add_app_token(), "token_type": "bearer"}), 201


@bp.get("/media/<media_id>")
def get_media(media_id: str):
    item = _fake().media.get(media_id)
    if item is None:
        return _error(404, "unknown media id")
    return jsonify(item.as_dict())


@bp.post("/media/<media_id>/expire")
def expire_media(media_id: str):
    try:
        _fake().expire_media(media_id)
    except KeyError:
        return _error(404, "unknown media id")
    return jsonify({"expired": True})


@bp.post("/processing")
def script_processing():
    body = _body()
    outcome, media_id, message = body.get("outcome"), body.get("media_id"), body.get("message")
    fake = _fake()
    try:
        if media_id is not None:
            fake.set_media_outcome(media_id, outcome, message)
        elif outcome == "failed":
            fake.fail_next_media(message or "Unsupported video format")
        elif outcome == "stuck":
            fake.stick_next_media()
        else:
            return _error(400, "without media_id, outcome must be failed or stuck")
    except KeyError:
        return _error(404, "unknown media id")
    except ValueError as exc:
        return _error(400, str(exc))
    return jsonify({"scripted": {"outcome": outcome, "media_id": media_id}})


@bp.get("/tweets")
def list_tweets():
    fake = _fake()
    with fake.lock:
        return jsonify({"tweets": list(fake.tweets), "deleted": list(fake.deleted_tweets)})


@bp.post("/rate_limits")
def set_rate_limit():
    body = _body()
    limit, window = body.get("limit"), body.get("window", 900)
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in (limit, window)):
        return _error(400, "limit and window must be integers >= 0")
    try:
        _fake().set_rate_limit(body.get("endpoint"), limit, window)
    except KeyError:
        return _error(400, f"endpoint must be one of {sorted(_fake().rate_limits)}")
    return jsonify({"endpoint": body.get("endpoint"), "limit": limit, "window": window})
