"""LinkedIn-specific ``/_sandbox/`` control endpoints (the common ones live in sandbox.common).
Here the ``/tokens/`` routes come from ``control_common.add_token_routes``.

POST /_sandbox/users               {"username", "user_id"?, "scope"?, "partner"?, "expires_in"?} -> 201 tokens
POST /_sandbox/organizations       {"user_id", "org_id"?, "role"?} -> 201 {"organization_id"}
POST /_sandbox/tokens/expire       {"access_token"}   -> 401 EXPIRED_ACCESS_TOKEN from now on
POST /_sandbox/tokens/revoke       {"refresh_token"}  -> the refresh grant answers 400
POST /_sandbox/partner             {"partner": bool}  -> app-level partner flag (refresh tokens)
POST /_sandbox/versions            {"oldest", "newest"} -> live LinkedIn-Version window
POST /_sandbox/community_management {"enabled": bool} -> the app may be granted organization scopes
POST /_sandbox/daily_limits        {"member"?, "app"?} -> calls per simulated UTC day
POST /_sandbox/images/fail         {"count"?} -> the next images end PROCESSING_FAILED
GET  /_sandbox/images/<urn>        -> the image record (bytes, sha256, each PUT)
GET  /_sandbox/posts               -> {"posts": [...], "deleted": [...]}
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..control_common import add_token_routes
from ..control_common import error as _error, fake as _fake, json_body as _body

bp = Blueprint("linkedin_sandbox", __name__, url_prefix="/_sandbox")
add_token_routes(bp)


@bp.post("/users")
def add_user():
    body = _body()
    kwargs = {k: body[k] for k in ("scope", "partner", "expires_in") if k in body}
    return jsonify(_fake().add_user(body.get("user_id"), body.get("username"), **kwargs)), 201


@bp.post("/organizations")
def add_organization():
    body = _body()
    try:
        org_id = _fake().add_organization(body.get("user_id"), body.get("org_id"), body.get("role", "ADMINISTRATOR"))
    except ValueError as exc:
        return _error(400, str(exc))
    return jsonify({"organization_id": org_id}), 201


@bp.post("/partner")
def set_partner():
    _fake().partner = bool(_body().get("partner", True))
    return jsonify({"partner": _fake().partner})


@bp.post("/community_management")
def set_community_management():
    _fake().community_management = bool(_body().get("enabled", True))
    return jsonify({"enabled": _fake().community_management})


@bp.post("/versions")
def set_versions():
    body = _body()
    _fake().set_live_versions(str(body.get("oldest")), str(body.get("newest")))
    return jsonify({"live": list(_fake().version_window())})


@bp.post("/daily_limits")
def set_daily_limits():
    body = _body()
    _fake().set_daily_limit(member=body.get("member"), app=body.get("app"))
    return jsonify(_fake().daily_limits)


@bp.post("/images/fail")
def fail_images():
    _fake().fail_next_image(int(_body().get("count", 1)))
    return jsonify({"scripted": True})


@bp.get("/images/<path:urn>")
def get_image(urn: str):
    image = _fake().images.get(urn)
    if image is None:
        return _error(404, "unknown image")
    return jsonify(image.as_dict())


@bp.get("/posts")
def list_posts():
    fake = _fake()
    with fake.lock:
        return jsonify({"posts": list(fake.posts), "deleted": list(fake.deleted_posts)})
