"""``api_call``: one YouTube API call under faults, auth and quota.

Every route goes through it: take a queued fault for the call's endpoint name,
authenticate the Bearer token (one of the scopes given), charge the quota, and
run the rule function, which returns a Response or raises ``YouTubeError``.
Upload-only fault kinds (``reset_mid_chunk``, ``new_location``, ``session_expired``)
are handed to the rule function as ``fault`` instead of replacing the answer.
"""

from __future__ import annotations

from typing import Callable

from flask import Response, current_app, g, jsonify, request

from ..common import SERVER_ERROR_KINDS, Fault, apply_fault
from . import errors
from .errors import YouTubeError

UPLOAD_FAULTS = frozenset({"reset_mid_chunk", "new_location", "session_expired"})
READ_SCOPES = ("youtube", "youtube.force-ssl", "youtube.readonly", "youtube.upload")
WRITE_SCOPES = ("youtube", "youtube.force-ssl")
UPLOAD_SCOPES = ("youtube", "youtube.upload")


def fake():
    return current_app.extensions["fake"]


def json_response(status: int, body: dict | None = None, headers: dict | None = None) -> Response:
    resp = jsonify(body) if body is not None else Response(b"", status=status)
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def api_call(endpoint: str, scopes: tuple[str, ...] | None, work: Callable[..., Response],
             charge: bool = True) -> Response:
    """Run ``work(user, fault)``; ``scopes`` None means no Bearer token is needed.
    ``charge=False``: authenticated but free (the chunk PUTs of a resumable upload,
    which carry the Bearer token like every Google API call)."""
    state = fake()
    g.sandbox_endpoint = endpoint
    fault = state.faults.take(endpoint)
    special = fault if fault is not None and fault.kind in UPLOAD_FAULTS else None

    def run() -> Response:
        try:
            user = state.authenticate(request.headers.get("Authorization"), scopes) if scopes else None
            if scopes and charge:
                state.charge(endpoint)
            return work(user, special)
        except YouTubeError as exc:
            return exc.response()

    return apply_fault(None if special else fault, run, refuse)


def refuse(fault: Fault) -> Response:
    """Google's answer for an injected fault. ``retry_after`` adds a Retry-After
    header (Google documents none, so it is opt-in)."""
    kind = fault.kind
    if kind == "429":
        return errors.rate_limited("rateLimitExceeded", 429, fault.param("retry_after")).response()
    if kind in ("rateLimitExceeded", "userRateLimitExceeded"):
        return errors.rate_limited(kind, 403, fault.param("retry_after")).response()
    if kind == "quotaExceeded":
        return errors.quota_exceeded().response()
    if kind == "uploadLimitExceeded":
        return errors.upload_limit().response()
    if kind == "forbidden":
        return errors.forbidden().response()
    if kind == "expired_token":
        return errors.auth_error().response()
    if kind in SERVER_ERROR_KINDS:
        return errors.server_error(int(kind)).response()
    return errors.server_error(500).response()


def parts(allowed: set[str], required: bool = True) -> list[str]:
    """The ``part`` parameter, checked against the parts a method accepts."""
    raw = request.args.get("part", "")
    names = [p.strip() for p in raw.split(",") if p.strip()]
    if required and not names:
        raise errors.bad_request("required", "No filter selected. Expected one of: part")
    unknown = [p for p in names if p not in allowed]
    if unknown:
        raise errors.bad_request("unexpectedPart", f"'{unknown[0]}' is not a valid part for this method.")
    return names


def json_body() -> dict:
    """The request's JSON object; 400 parseError otherwise."""
    if request.mimetype != "application/json":
        raise errors.bad_request("parseError", "The request body must be JSON (Content-Type: application/json).")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise errors.bad_request("parseError", "Parse Error")
    return body
