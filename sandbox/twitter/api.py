"""HTTP routes of the fake X API v2: OAuth token, media upload, tweets.

Every API call goes through ``_call``: take a queued fault for the call's fault
endpoint, authenticate the Bearer user token, count the per-user rate bucket, run
the rule function, and put ``x-rate-limit-*`` headers on the answer.

Fault endpoints: token, initialize, append, finalize, status, image, metadata, tweets,
delete, lookup, me (``GET /2/users/me``). The command style (``POST /2/media/upload`` with ``command=INIT|APPEND|
FINALIZE``) uses the initialize/append/finalize fault names and the ``upload`` bucket.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Callable

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..common import DigestSink, Fault, apply_fault
from . import media, oauth, problems, tweets
from .problems import XProblem, invalid_request

bp = Blueprint("x_api", __name__)

MEDIA_SCOPES = frozenset({"media.write"})
WRITE_SCOPES = frozenset({"tweet.read", "tweet.write", "users.read"})
READ_SCOPES = frozenset({"tweet.read", "users.read"})

Work = Callable[[Any, str], tuple[int, dict]]


def _fake():
    return current_app.extensions["fake"]


def _json(status: int, body: dict) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    return resp


def _call(fault_name: str, bucket: str, scopes: frozenset, work: Work) -> Response:
    """Run ``work(fake, user_id)`` as one API call under faults, auth and rate limits."""
    fake = _fake()
    g.sandbox_endpoint = fault_name

    def run() -> Response:
        rate = None
        try:
            user_id = fake.authenticate(request.headers.get("Authorization"), scopes)
            rate = fake.take_rate(user_id, bucket)
            if not rate.allowed:
                raise problems.too_many_requests()
            daily, allowed = fake.take_daily(user_id, bucket)
            if not allowed:  # the 15-minute window still has room: only the 24-hour headers say why
                raise problems.too_many_requests(daily)
            resp = _json(*work(fake, user_id))
            resp.headers.update(daily)
        except XProblem as problem:
            resp = problem.response()
        if rate is not None:
            resp.headers.update(rate.headers())
        return resp

    def refuse(fault: Fault) -> Response:
        return _fault_response(fake, fault, bucket, _peek_user(fake, scopes))

    return apply_fault(fake.faults.take(fault_name), run, refuse)


def _peek_user(fake, scopes: frozenset) -> str | None:
    try:
        return fake.authenticate(request.headers.get("Authorization"), scopes)
    except XProblem:
        return None


def _fault_response(fake, fault: Fault, bucket: str | None, user_id: str | None) -> Response:
    """X's answer for an injected fault. A 429's reset is ``reset_in`` seconds ahead
    (default: ``retry_after``, else 1) so a client that sleeps until it stays fast.
    ``bucket`` None (the token endpoint) sends no limit header."""
    if fault.kind in ("429", "usage_capped"):
        retry_after = fault.param("retry_after")
        reset_in = fault.param("reset_in", retry_after if retry_after is not None else 1)
        reset = math.ceil(fake.now() + float(reset_in))
        # A usage cap is not the 15-minute window: it arrives with requests left there.
        remaining = "0" if fault.kind == "429" else str(max(1, fake.rate_limits.get(bucket, (2, 0))[0] - 1))
        headers = {"x-rate-limit-remaining": remaining, "x-rate-limit-reset": str(reset)}
        if bucket is not None:
            headers["x-rate-limit-limit"] = str(fake.rate_limits[bucket][0])
        if retry_after is not None:
            headers["Retry-After"] = str(math.ceil(retry_after))
        maker = problems.too_many_requests if fault.kind == "429" else problems.usage_capped
        return maker(headers).response()
    if fault.kind == "expired_token":
        return problems.unauthorized().response()
    resp = problems.server_error(int(fault.kind)).response()
    if user_id is not None and bucket is not None:  # X sends them on every answer to a user
        resp.headers.update(fake.peek_rate(user_id, bucket).headers())
    return resp


# --------------------------------------------------------------------------- inputs


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object (Content-Type: application/json).", body="")
    return body


def _b64(value: Any, name: str) -> DigestSink:
    try:
        if not isinstance(value, str):
            raise ValueError
        return DigestSink.of(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error):
        raise invalid_request(f"{name} must be base64-encoded bytes.", **{name: "..."}) from None


def _media_sink() -> DigestSink | None:
    """The uploaded bytes: multipart file part ``media``, JSON base64 ``media``, or
    the v1.1-style base64 form field ``media_data``."""
    if request.is_json:
        value = (request.get_json(silent=True) or {}).get("media")
        return None if value is None else _b64(value, "media")
    part = request.files.get("media")
    if part is not None:
        return part.stream
    if request.form.get("media_data"):
        return _b64(request.form["media_data"], "media_data")
    if "media" in request.form:
        # werkzeug decodes a part without filename as text, which corrupts binary data.
        raise invalid_request("media must be a file part (Content-Disposition with a filename).", media="")
    return None


def _upload_params() -> dict:
    """Non-file fields of ``POST /2/media/upload``: JSON body, or query + form."""
    if request.is_json:
        body = request.get_json(silent=True)
        params = dict(body) if isinstance(body, dict) else {}
    else:
        params = {key: value for key, value in request.values.items()}
    params.pop("media", None)
    params.pop("media_data", None)
    return params


# --------------------------------------------------------------------------- routes


@bp.post("/2/oauth2/token")
def token() -> Response:
    """Refresh grant: form ``grant_type=refresh_token&refresh_token=...`` plus Basic
    client auth (or ``client_id`` for public clients) -> new access + refresh token."""
    fake = _fake()
    g.sandbox_endpoint = "token"

    def run() -> Response:
        try:
            if request.mimetype != "application/x-www-form-urlencoded":
                raise problems.oauth_error(400, "invalid_request", "Body must be application/x-www-form-urlencoded.")
            fake.check_client(request.headers.get("Authorization"), request.form.get("client_id"))
            grant = request.form.get("grant_type")
            if not grant:
                raise problems.oauth_error(400, "invalid_request", "Missing required parameter [grant_type].")
            if grant == "authorization_code":
                return _json(200, oauth.exchange(fake, request.form))
            if grant != "refresh_token":
                raise problems.oauth_error(400, "unsupported_grant_type", f"grant_type {grant} is not supported here.")
            return _json(200, fake.refresh(request.form.get("refresh_token", "")))
        except XProblem as problem:
            return problem.response()

    def refuse(fault: Fault) -> Response:
        if fault.kind == "expired_token":  # as if the refresh token had died
            return problems.invalid_token().response()
        return _fault_response(fake, fault, None, None)

    return apply_fault(fake.faults.take("token"), run, refuse)


@bp.post("/2/media/upload/initialize")
def initialize() -> Response:
    return _call("initialize", "initialize", MEDIA_SCOPES, lambda f, u: media.initialize(f, u, _json_object()))


@bp.post("/2/media/upload/<media_id>/append")
def append(media_id: str) -> Response:
    def work(fake, user_id):
        index = _json_object().get("segment_index") if request.is_json else request.form.get("segment_index")
        return media.append(fake, user_id, media_id, index, _media_sink())

    return _call("append", "append", MEDIA_SCOPES, work)


@bp.post("/2/media/upload/<media_id>/finalize")
def finalize(media_id: str) -> Response:
    return _call("finalize", "finalize", MEDIA_SCOPES, lambda f, u: media.finalize(f, u, media_id))


@bp.get("/2/media/upload")
def status() -> Response:
    def work(fake, user_id):
        command = request.args.get("command")
        if command is not None and command != "STATUS":
            raise invalid_request("command must be STATUS on GET.", command=command)
        return media.status(fake, user_id, request.args.get("media_id"))

    return _call("status", "status", MEDIA_SCOPES, work)


@bp.post("/2/media/upload")
def upload() -> Response:
    """One-shot image, or the older command style (``command=INIT|APPEND|FINALIZE``)."""
    params = _upload_params()
    command = params.pop("command", None)
    if command is None:
        return _call("image", "upload", MEDIA_SCOPES, lambda f, u: media.upload_image(f, u, params, _media_sink()))
    if command == "INIT":
        from_form = not request.is_json
        return _call("initialize", "upload", MEDIA_SCOPES, lambda f, u: media.initialize(f, u, params, from_form))
    if command == "APPEND":
        media_id, index = params.get("media_id"), params.get("segment_index")
        return _call("append", "upload", MEDIA_SCOPES, lambda f, u: media.append(f, u, media_id, index, _media_sink()))
    if command == "FINALIZE":
        return _call("finalize", "upload", MEDIA_SCOPES, lambda f, u: media.finalize(f, u, params.get("media_id")))

    def unknown(fake, user_id):
        raise invalid_request("command must be INIT, APPEND or FINALIZE (STATUS is a GET).", command=command)

    return _call("image", "upload", MEDIA_SCOPES, unknown)


@bp.post("/2/media/metadata")
def media_metadata() -> Response:
    return _call("metadata", "metadata", MEDIA_SCOPES,
                 lambda f, u: media.set_metadata(f, u, request.get_json(silent=True)))


@bp.post("/2/tweets")
def create_tweet() -> Response:
    return _call("tweets", "tweets", WRITE_SCOPES, lambda f, u: tweets.create_tweet(f, u, request.get_json(silent=True)))


@bp.delete("/2/tweets/<tweet_id>")
def delete_tweet(tweet_id: str) -> Response:
    return _call("delete", "delete", WRITE_SCOPES, lambda f, u: tweets.delete_tweet(f, u, tweet_id))


@bp.get("/2/tweets/<tweet_id>")
def get_tweet(tweet_id: str) -> Response:
    return _call("lookup", "lookup", READ_SCOPES, lambda f, u: tweets.get_tweet(f, tweet_id))
