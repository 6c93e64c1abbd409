"""HTTP routes of the fake LinkedIn: OAuth refresh, userinfo, organization ACLs,
Images API (initialize, upload, read) and Posts API (create, read, delete).

Every ``/rest/*`` call goes through ``_call``: take a queued fault, check the
``LinkedIn-Version`` and ``X-Restli-Protocol-Version`` headers, authenticate the
Bearer token, count the daily limits, then run the rule function, which returns a
Response or raises ``LinkedInError``.

Fault endpoints: token, userinfo, acls, images_init, image_upload, image_get,
posts, post_get, post_delete.
"""

from __future__ import annotations

import math
from typing import Callable
from urllib.parse import unquote

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..common import Fault, apply_fault
from . import errors, images, oauth, posts
from .errors import LinkedInError

bp = Blueprint("linkedin_api", __name__)

Work = Callable[..., Response]


def _fake():
    return current_app.extensions["fake"]


def _call(fault_name: str, work: Work, *, rest: bool = True, scopes: frozenset = frozenset()) -> Response:
    """Run ``work(fake, token_record)`` as one API call under faults, headers, auth, limits."""
    fake = _fake()
    g.sandbox_endpoint = fault_name

    def run() -> Response:
        try:
            if rest:
                _check_headers(fake)
            record = fake.authenticate(request.headers.get("Authorization"), scopes)
            exhausted = fake.count_call(record.user_id)
            if exhausted:
                raise errors.too_many(exhausted)
            return work(fake, record)
        except LinkedInError as exc:
            return exc.response()

    fault = fake.faults.take(fault_name)
    if fault is not None and fault.kind == "processing_failed":
        g.sandbox_fault = fault.kind
        fake.fail_next_image()  # the call itself succeeds; the image fails later
        fault = None
    return apply_fault(fault, run, lambda fault: _fault_response(fake, fault).response())


def _path_urn(urn: str) -> str:
    """A URN from the path, which must arrive URL-encoded (reference §3.1)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    if "urn:li:" in raw.split("?", 1)[0]:
        raise errors.bad_request("URNs in the path must be URL-encoded (urn%3Ali%3A...)", code="ILLEGAL_ARGUMENT")
    return unquote(urn)


def _check_headers(fake) -> None:
    """Both headers on every ``/rest/*`` call (reference §3.1, §3.6)."""
    version = request.headers.get("LinkedIn-Version")
    if not version:
        raise errors.version_missing()
    if not fake.version_live(version):
        raise errors.version_sunset(version)
    if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
        raise errors.restli_missing()


def _fault_response(fake, fault: Fault) -> LinkedInError:
    """LinkedIn's answer for an injected fault. A 429 carries no headers unless the
    fault has ``retry_after`` (the opt-in knob). ``429`` is an infrastructure-protection
    throttle that clears in minutes; ``quota`` the member's daily limit (00:00 UTC)."""
    kind = fault.kind
    if kind in ("429", "quota"):
        retry_after = fault.param("retry_after")
        headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after is not None else None
        return errors.too_many("MEMBER", headers) if kind == "quota" else errors.throttled(headers)
    if kind == "expired_token":
        return errors.expired_token()
    if kind == "426":
        return errors.version_sunset(request.headers.get("LinkedIn-Version", ""))
    if kind == "403":
        return errors.forbidden(fault.param("message", "Not enough permissions to access: partnerApiPostsExternal.CREATE"))
    if kind == "422":
        return errors.duplicate(fault.param("original", "urn:li:share:7250000000000000000"))
    return errors.server_error(int(kind))


# --------------------------------------------------------------------------- OAuth, profile


@bp.post("/oauth/v2/accessToken")
def token() -> Response:
    """Refresh grant: form ``grant_type=refresh_token&refresh_token&client_id&client_secret``."""
    fake = _fake()
    g.sandbox_endpoint = "token"

    def run() -> Response:
        try:
            if request.mimetype != "application/x-www-form-urlencoded":
                raise errors.oauth_error(400, "invalid_request", "Body must be application/x-www-form-urlencoded")
            if request.form.get("grant_type") == "authorization_code":
                return jsonify(oauth.exchange(fake, request.form))
            return jsonify(fake.refresh(request.form.to_dict()))
        except LinkedInError as exc:
            return exc.response()

    def refuse(fault: Fault) -> Response:
        if fault.kind == "expired_token":  # as if the refresh token had died
            return errors.invalid_grant().response()
        return _fault_response(fake, fault).response()

    return apply_fault(fake.faults.take("token"), run, refuse)


@bp.get("/v2/userinfo")
def userinfo() -> Response:
    def work(fake, record):
        user = fake.users[record.user_id]
        return jsonify({"sub": record.user_id, "name": user["username"], "given_name": user["username"],
                        "family_name": "", "locale": {"country": "US", "language": "en"}, "email_verified": True})

    return _call("userinfo", work, rest=False, scopes=frozenset({"openid", "profile"}))


@bp.get("/rest/organizationAcls")
def organization_acls() -> Response:
    """``?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED``: the caller's organizations."""
    def work(fake, record):
        if request.args.get("q") != "roleAssignee":
            raise errors.bad_request("q must be roleAssignee", code="ILLEGAL_ARGUMENT")
        role = request.args.get("role")
        with fake.lock:
            elements = [
                {"roleAssignee": f"urn:li:person:{record.user_id}", "state": "APPROVED", "role": r,
                 "organization": f"urn:li:organization:{org['id']}"}
                for org in fake.organizations.values()
                for member, r in org["roles"].items()
                if member == record.user_id and (role is None or r == role)
            ]
        return jsonify({"elements": elements, "paging": {"count": len(elements), "start": 0, "links": []}})

    return _call("acls", work)


# --------------------------------------------------------------------------- images


@bp.post("/rest/images")
def images_action() -> Response:
    """``?action=initializeUpload`` with ``{"initializeUploadRequest": {"owner": URN}}``."""
    def work(fake, record):
        if request.args.get("action") != "initializeUpload":
            raise errors.bad_request("action must be initializeUpload", code="ILLEGAL_ARGUMENT")
        return images.initialize(fake, record, _json_object(), request.host_url.rstrip("/"))

    return _call("images_init", work)


@bp.get("/rest/images/<path:urn>")
def image_get(urn: str) -> Response:
    return _call("image_get", lambda fake, record: images.read(fake, record, _path_urn(urn)))


@bp.put("/dms-uploads/sp/v2/<upload_id>/uploaded-image/0")
def image_upload(upload_id: str) -> Response:
    """The upload host: the whole file in one PUT with Bearer auth (reference §3.3)."""
    def work(fake, record):
        return images.upload(fake, record, upload_id, request.args.get("ut", ""))

    return _call("image_upload", work, rest=False)


# --------------------------------------------------------------------------- posts


@bp.post("/rest/posts")
def create_post() -> Response:
    return _call("posts", lambda fake, record: posts.create(fake, record, _json_object()))


@bp.get("/rest/posts/<path:urn>")
def get_post(urn: str) -> Response:
    return _call("post_get", lambda fake, record: posts.read(fake, record, _path_urn(urn)))


@bp.delete("/rest/posts/<path:urn>")
def delete_post(urn: str) -> Response:
    return _call("post_delete", lambda fake, record: posts.delete(fake, record, _path_urn(urn)))


def _json_object() -> dict:
    if request.mimetype != "application/json":
        raise errors.bad_request("Content-Type must be application/json", code="ILLEGAL_ARGUMENT")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object", code="ILLEGAL_ARGUMENT")
    return body
