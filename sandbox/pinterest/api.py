"""HTTP routes of the fake Pinterest API v5, plus the media-upload bucket.

Every API call goes through ``_call``: take a queued fault for its endpoint name,
authenticate the Bearer token (scopes per endpoint, reference §4.1), count the
rate limit (trial daily counter or per-second), run the rule function.

Fault endpoints: token, boards, pins, pin_get, pin_delete, media_create, media_get,
upload. Fault kinds: the common ones plus ``quota`` (trial daily limit 429) and
``expired_policy`` (the bucket's 403).
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..common import Fault, apply_fault
from . import errors, media, oauth, pins
from .errors import PinterestError, s3_error

bp = Blueprint("pinterest_api", __name__)

PIN_WRITE = frozenset({"boards:read", "boards:write", "pins:read", "pins:write"})
PIN_READ = frozenset({"boards:read", "pins:read"})
MEDIA_WRITE = frozenset({"pins:read", "pins:write"})
MEDIA_READ = frozenset({"pins:read"})
BOARDS_READ = frozenset({"boards:read"})

Work = Callable[[Any, str], tuple[int, Any]]


def _fake():
    return current_app.extensions["fake"]


def _answer(status: int, body: Any) -> Response:
    if body is None:
        return Response(status=status)
    resp = jsonify(body)
    resp.status_code = status
    return resp


def _refuse(fault: Fault) -> Response:
    """Pinterest's answer for an injected fault (no rate headers unless ``retry_after``)."""
    if fault.kind == "429":
        return errors.rate_limited(retry_after=fault.param("retry_after")).response()
    if fault.kind == "quota":
        return errors.rate_limited("You have exceeded your daily trial limit of requests. Try again tomorrow.",
                                   fault.param("retry_after")).response()
    if fault.kind == "expired_token":
        return errors.unauthorized().response()
    if fault.kind == "expired_policy":
        return errors.forbidden().response()
    return errors.server_error(int(fault.kind)).response()


def _call(endpoint: str, scopes: frozenset, work: Work) -> Response:
    """Run ``work(fake, user_id)`` as one API call under faults, auth and rate limits."""
    fake = _fake()
    g.sandbox_endpoint = endpoint

    def run() -> Response:
        try:
            user_id = fake.authenticate(request.headers.get("Authorization"), scopes)
            fake.take_rate(user_id)
            return _answer(*work(fake, user_id))
        except PinterestError as exc:
            return exc.response()

    return apply_fault(fake.faults.take(endpoint), run, _refuse)


def _json_body() -> Any:
    if not request.is_json:
        raise errors.invalid("The body must be JSON (Content-Type: application/json).")
    body = request.get_json(silent=True)
    if body is None:
        raise errors.invalid("The body is not valid JSON.")
    return body


# --------------------------------------------------------------------------- OAuth


@bp.post("/v5/oauth/token")
def token() -> Response:
    """Refresh grant: Basic client auth, form ``grant_type=refresh_token&refresh_token
    &continuous_refresh=true`` -> new access + refresh token (reference §4.1)."""
    fake = _fake()
    g.sandbox_endpoint = "token"

    def run() -> Response:
        try:
            fake.check_client(request.headers.get("Authorization"))
            if request.mimetype != "application/x-www-form-urlencoded":
                raise errors.invalid("The body must be application/x-www-form-urlencoded.")
            form = request.form
            if form.get("grant_type") == "authorization_code":
                return _answer(200, oauth.exchange(fake, form))
            if form.get("grant_type") != "refresh_token":
                raise errors.invalid("grant_type must be authorization_code or refresh_token.")
            if not form.get("refresh_token"):
                raise errors.invalid("refresh_token is required.")
            continuous = form.get("continuous_refresh", "").lower() == "true"
            return _answer(200, fake.refresh(form["refresh_token"], continuous))
        except PinterestError as exc:
            return exc.response()

    def refuse(fault: Fault) -> Response:
        if fault.kind == "expired_token":  # as if the refresh token had died
            return errors.invalid("Invalid refresh token.").response()
        return _refuse(fault)

    return apply_fault(fake.faults.take("token"), run, refuse)


# --------------------------------------------------------------------------- boards, pins


@bp.get("/v5/boards")
def list_boards() -> Response:
    """The caller's boards, one page (``page_size`` up to 250; ``bookmark`` null)."""
    def work(fake, user_id):
        size = request.args.get("page_size", "25")
        if not size.isdigit() or not 1 <= int(size) <= 250:
            raise errors.invalid("page_size must be 1 to 250.")
        with fake.lock:
            items = [{k: v for k, v in b.items() if k != "owner"} for b in fake.boards.values()
                     if b["owner"] == user_id]
        return 200, {"items": items[: int(size)], "bookmark": None}

    return _call("boards", BOARDS_READ, work)


@bp.post("/v5/pins")
def create_pin() -> Response:
    return _call("pins", PIN_WRITE, lambda f, u: pins.create_pin(f, u, _json_body()))


@bp.get("/v5/pins/<pin_id>")
def get_pin(pin_id: str) -> Response:
    return _call("pin_get", PIN_READ, lambda f, u: pins.get_pin(f, u, pin_id))


@bp.delete("/v5/pins/<pin_id>")
def delete_pin(pin_id: str) -> Response:
    return _call("pin_delete", PIN_WRITE, lambda f, u: pins.delete_pin(f, u, pin_id))


# --------------------------------------------------------------------------- media


@bp.post("/v5/media")
def register_media() -> Response:
    return _call("media_create", MEDIA_WRITE, lambda f, u: media.register(f, u, _json_body(), request.host_url))


@bp.get("/v5/media/<media_id>")
def media_status(media_id: str) -> Response:
    return _call("media_get", MEDIA_READ, lambda f, u: media.status(f, u, media_id))


@bp.post("/")
def bucket() -> Response:
    """The S3 bucket ``upload_url`` points at (``pinterest-media-upload``'s root)."""
    fake = _fake()
    g.sandbox_endpoint = "upload"

    def refuse(fault: Fault) -> Response:
        media.drain()  # read the refused body, so the client sees the answer and not a reset
        if fault.kind == "expired_policy":
            return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        if fault.kind == "expired_token":
            return s3_error(400, "ExpiredToken", "The provided token has expired.")
        if fault.kind in ("429", "quota", "503"):
            return s3_error(503, "SlowDown", "Please reduce your request rate.")
        return s3_error(int(fault.kind), "InternalError", "We encountered an internal error. Please try again.")

    def run() -> Response:
        return media.bucket_post(fake)

    return apply_fault(fake.faults.take("upload"), run, refuse)
