"""HTTP routes of the fake Graph API (graph.facebook.com: video uploads included).

The deprecated ``graph-video.facebook.com`` host is refused (HTTP 500, as Meta's
old host has been answering): a request whose ``Host`` is ``graph-video.*``
gets that answer unless ``fake.legacy_video_host`` is True.

Every call goes through ``_call``: take a queued fault for the call's fault
endpoint, authenticate the token (``access_token`` query/form parameter, or
``Authorization: Bearer|OAuth``), count usage (``X-App-Usage``, and for Page
tokens ``X-Business-Use-Case-Usage``; at 100 % the call is throttled with code 4
or 32), run the rule function, answer JSON.

Paths are versioned (``/v27.0/...``); an unversioned path is refused. Fault
endpoints: token, me, accounts, feed, photos, video_start, video_transfer,
video_finish, video_url, status, node, comments, delete.
"""

from __future__ import annotations

import json
import math
import re
from typing import Callable

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..common import Fault, apply_fault
from . import content, errors, oauth, videos
from .errors import GraphError

bp = Blueprint("fb_graph", __name__)
VERSION_RE = re.compile(r"^v[0-9]{1,2}\.0$")

Work = Callable[..., tuple[int, dict]]


def _fake():
    return current_app.extensions["fake"]


def _token() -> str | None:
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return request.args.get("access_token") or request.form.get("access_token")


def _call(endpoint: str, work: Work) -> Response:
    """Run ``work(fake, token_record)`` as one Graph call under faults, auth and usage."""
    fake = _fake()
    g.sandbox_endpoint = endpoint

    def run() -> Response:
        headers: dict = {}
        try:
            _check_host(fake)
            record = fake.authenticate(_token())
            headers = _usage(fake, record)
            status, body = work(fake, record)
            resp = jsonify(body)
            resp.status_code = status
        except GraphError as exc:
            resp = exc.response()
        resp.headers.update(headers)
        return resp

    fault = fake.faults.take(endpoint)
    if fault is not None and fault.kind == "processing_failed":
        fake.fail_next_video(str(fault.param("message", "The video could not be processed.")))
        fault = None
    return apply_fault(fault, run, lambda f: _refuse(fake, f).response())


def _check_host(fake) -> None:
    """The retired video host answers 500s (reported when it was deprecated)."""
    if request.host.lower().startswith("graph-video.") and not fake.legacy_video_host:
        raise GraphError(2, "graph-video.facebook.com is deprecated: call graph.facebook.com for video uploads",
                         status=500, transient=True)


def _usage(fake, record) -> dict:
    """Count the call; raise a throttle error when a budget is used up."""
    page_id = record.page_id if record.kind == "page" else None
    app_pct, page_pct = fake.count_call(page_id)
    headers = {"X-App-Usage": json.dumps({"call_count": app_pct, "total_cputime": app_pct // 2,
                                          "total_time": app_pct // 2})}
    if page_id is not None:
        headers["X-Business-Use-Case-Usage"] = _buc(page_id, page_pct, 0 if page_pct < 100 else 60)
    if app_pct >= 100:
        raise errors.throttled(4, 60, headers)
    if page_pct is not None and page_pct >= 100:
        raise errors.throttled(32, 60, headers)
    return headers


def _buc(page_id: str, pct: int, minutes: int) -> str:
    return json.dumps({page_id: [{"type": "pages", "call_count": pct, "total_cputime": pct // 2,
                                  "total_time": pct // 2, "estimated_time_to_regain_access": minutes}]})


def _refuse(fake, fault: Fault) -> GraphError:
    """Facebook's answer for an injected fault kind."""
    kind = fault.kind
    if kind == "429":
        record = fake.tokens.get(_token() or "")
        page_id = record.page_id if record is not None and record.kind == "page" else None
        code = int(fault.param("code", 32 if page_id else 4))
        minutes = int(fault.param("minutes", 1))
        headers = {"X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 40, "total_time": 40})}
        if page_id:
            headers["X-Business-Use-Case-Usage"] = _buc(page_id, 100, minutes)
        if fault.param("retry_after") is not None:  # opt-in: Facebook sends no Retry-After
            headers["Retry-After"] = str(math.ceil(fault.param("retry_after")))
        return errors.throttled(code, minutes, headers)
    if kind in ("500", "502", "503", "504"):
        return errors.server_error(int(kind))
    if kind == "expired_token":
        return errors.expired_token()
    if kind == "token_dead":
        return errors.dead_token()
    if kind in ("1363030", "1363019"):
        return errors.upload_transient(int(kind))
    if kind == "permission":
        return errors.permission(str(fault.param("message", "Requires pages_manage_posts permission to manage "
                                                 "the object")), code=int(fault.param("code", 200)))
    if kind == "duplicate":
        return GraphError(506, "(#506) Duplicate status message", user_title="Duplicate post",
                          user_msg="This status update is identical to the last one you posted.")
    if kind == "blocked":
        return GraphError(368, "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
                          user_title="Blocked", user_msg="You're temporarily blocked from posting.")
    raise ValueError(kind)


def _check_version(version: str) -> None:
    if not VERSION_RE.match(version):
        raise errors.bad_param(f"Unknown path components: /{version}; call a versioned path such as /v27.0/me")


def _versioned(endpoint: str, version: str, work: Work) -> Response:
    if not VERSION_RE.match(version):
        g.sandbox_endpoint = endpoint
        try:
            _check_version(version)
        except GraphError as exc:
            return exc.response()
    return _call(endpoint, work)


def _fail(exc: GraphError) -> Work:
    def work(fake, record):
        raise exc

    return work


# --------------------------------------------------------------------------- routes


@bp.get("/<version>/oauth/access_token")
def access_token(version: str) -> Response:
    """``grant_type=fb_exchange_token``: short-lived -> long-lived user token. No refresh grant."""
    fake = _fake()
    g.sandbox_endpoint = "token"

    def run() -> Response:
        try:
            _check_version(version)
            if request.args.get("code") and not request.args.get("grant_type"):
                return jsonify(oauth.exchange(fake, request.args))
            return jsonify(content.exchange_token(fake, request.args))
        except GraphError as exc:
            return exc.response()

    return apply_fault(fake.faults.take("token"), run, lambda f: _refuse(fake, f).response())


@bp.route("/<version>/<node>", methods=["GET", "POST", "DELETE"])
def node(version: str, node: str) -> Response:
    if request.method == "DELETE":
        return _versioned("delete", version, lambda f, t: content.delete_node(f, t, node))
    if request.method == "POST":
        return _versioned("node", version, _fail(errors.unknown_object(node, "POST")))
    if node == "me":
        return _versioned("me", version, lambda f, t: content.get_node(f, t, t.page_id or t.user_id, request.args))
    endpoint = "status" if node in _fake().videos else "node"
    return _versioned(endpoint, version, lambda f, t: content.get_node(f, t, node, request.args))


@bp.route("/<version>/<node>/<edge>", methods=["GET", "POST"])
def edge(version: str, node: str, edge: str) -> Response:
    method = request.method
    if method == "GET" and edge == "accounts":
        return _versioned("accounts", version, lambda f, t: content.accounts(f, t, node, request.args))
    if method == "GET" and edge == "comments":
        return _versioned("comments", version, lambda f, t: content.comments(f, t, node, request.args))
    if method == "POST" and edge == "feed":
        return _versioned("feed", version, lambda f, t: content.post_feed(f, t, node, request.form))
    if method == "POST" and edge == "photos":
        return _versioned("photos", version,
                          lambda f, t: content.post_photo(f, t, node, request.form, request.files.get("source")))
    if method == "POST" and edge == "videos":
        phase = request.form.get("upload_phase") or request.args.get("upload_phase")
        endpoint = {"start": "video_start", "transfer": "video_transfer", "finish": "video_finish"}.get(
            phase or "", "video_url")
        return _versioned(endpoint, version, lambda f, t: videos.post_videos(f, t, node, phase))
    return _versioned("node", version, _fail(GraphError(2500, f"Unknown path components: /{edge}")))
