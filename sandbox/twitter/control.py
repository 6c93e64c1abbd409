"""X-specific ``/_sandbox/`` control endpoints (the common ones live in sandbox.common).
Here ``/users``, ``/tokens/expire|revoke``, ``/media/`` and ``/processing`` come from ``sandbox.control_common``.

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

from flask import Blueprint, jsonify

from ..control_common import add_media_routes, add_token_routes, add_user_route
from ..control_common import error as _error, fake as _fake, json_body as _body
from .state import DEFAULT_SCOPE

bp = Blueprint("x_sandbox", __name__, url_prefix="/_sandbox")
add_user_route(bp, default_expires_in=7200, options=lambda body: {"scope": body.get("scope", DEFAULT_SCOPE)})
add_token_routes(bp)
add_media_routes(bp, expire="expire_media")


@bp.post("/tokens/app")
def app_token():
    return jsonify({"access_token": _fake().add_app_token(), "token_type": "bearer"}), 201


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
