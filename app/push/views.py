"""The 19 push endpoints, one route each, generated from the endpoint table.

Example::

    POST /push/identities/<identity_token>/twitter/video.json
    {"request": {"push": {"video": {"video_url": "https://example.com/a.mp4",
                                    "callback_url": "https://example.com/cb"}}}}
    -> 200 {"response": {..., "result": {"data": {"object": "video",
            "request_token": "...", "result": "The video has been added to the queue ..."}}}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import time

from flask import Blueprint, current_app, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.api.auth import authenticate_push, forget_push_caller
from app.api.envelope import error, success
from app.api.errors import ApiError, bad_request
from app.models import PushRequest
from app.pipeline.download import needs_download
from app.push import services
from app.push.endpoints import ENDPOINTS, Endpoint
from app.push.intake import IntakeUnavailable
from app.states import FINAL_STATES

if TYPE_CHECKING:
    from app.runtime import Runtime

bp = Blueprint("push", __name__)

QUEUED_TEXT = {
    "video": "The video has been added to the queue and will be uploaded soon.",
}


def _make_view(endpoint: Endpoint):
    def view(identity_token: str, **params):
        rt = current_app.extensions["pushwire"]
        # The accept path is the gateway's hot path: no ORM, at most one autocommit
        # read (site and identity together), then the process's group-committing intake.
        caller = authenticate_push(rt, identity_token)
        payload = services.parse_body(endpoint, _json_body(), {"horizon": rt.settings.schedule_horizon})
        payload.update(services.path_params(params))  # e.g. playlist_id from the path
        identity_id = services.identity_for(caller, identity_token, endpoint.provider)
        publish_at = payload.pop("publish_at", None)  # a column, not an adapter field
        digest = services.body_hash(request.path, {**payload, "publish_at": publish_at.isoformat()}
                                    if publish_at else payload)
        key = request.headers.get("Idempotency-Key")
        staged, callback = needs_download(payload), bool(payload.get("callback_url"))
        try:
            push = _store(rt, caller, identity_id, endpoint, payload, key, digest, staged, callback, publish_at)
        except IntegrityError:
            # A remembered caller whose identity (or site) was deleted since: the
            # foreign keys refused the row. Re-check with a fresh read: 401/404 then.
            forget_push_caller(rt, identity_token)
            services.identity_for(authenticate_push(rt, identity_token, fresh=True), identity_token, endpoint.provider)
            raise
        if publish_at is not None:
            return _answer_scheduled(endpoint, push, publish_at)
        return _answer(rt, endpoint, push, wait=not staged)

    view.__name__ = "push_" + endpoint.path.replace("/", "_").replace("<", "").replace(">", "")
    view.__doc__ = f"POST {endpoint.path}.json (body node '{endpoint.node}')"
    return view


def _store(rt: Runtime, caller, identity_id: int, endpoint: Endpoint, payload: dict, key: str | None, digest: str,
           staged: bool, callback: bool, publish_at=None) -> services.Accepted:
    """Write and publish the push: through the process's intake (group commit),
    or, with an Idempotency-Key, in a transaction of its own with the replay check."""
    row = services.request_row(caller.site_id, identity_id, endpoint, request.path, payload, key, digest, publish_at)
    if not key:
        try:
            return rt.intake.accept(row, staged, callback)
        except IntakeUnavailable as exc:
            if exc.written_maybe:  # never invite a retry that could post twice
                raise ApiError(503, "Pushwire's database did not confirm the push in time; it may have been "
                               "accepted. Check GET /push/requests.json before pushing it again.",
                               "outcome_unknown") from None
            raise ApiError(503, "Pushwire could not store the push in time; nothing was accepted. Retry shortly.",
                           "temporarily_unavailable") from None
    with rt.db.engine.begin() as conn:
        push = services.find_replay(conn, caller.site_id, key, digest)
        if push is not None:
            return push  # the earlier request, already published
        push = services.create_requests(conn, [row])[0]
    rt.enqueue(push.id, staged=staged, callback=callback)
    return push


def _json_body():
    if not request.data:
        raise bad_request('The body is empty; send JSON: {"request": {"push": {...}}}.', "invalid_body")
    body = request.get_json(silent=True, force=True)
    if body is None:
        raise bad_request("The body is not valid JSON (or is nested more than 64 levels deep).", "invalid_json")
    return body


def _answer(rt: Runtime, endpoint: Endpoint, push: services.Accepted | PushRequest, wait: bool):
    """Videos answer at once; other pushes wait briefly for the worker's result."""
    if wait:
        try:
            push = _wait_final(rt, push.id, rt.settings.sync_wait_seconds)
        except SQLAlchemyError:  # stored and published already: answer 202, never invite a second push
            wait = False
    if wait and push.outcome == "succeeded":
        return success({**(push.result or {}), "request_token": push.token})
    if wait and push.outcome is not None:
        return error(push.error_code or 502, push.error_info or "The push failed.", push.error_reason or "push_failed")
    data = {"object": endpoint.object, "request_token": push.token}
    if endpoint.object == "video" and not wait:
        data["result"] = QUEUED_TEXT["video"]
        return success(data)
    data["result"] = f"The {endpoint.object} has been added to the queue and will be published soon."
    return success(data, code=202, info="Your request has been accepted and is being processed")


def _answer_scheduled(endpoint: Endpoint, push, publish_at):
    """A scheduled push answers at once: the queued envelope with its time (its
    video, if any, is fetched now; the publish step runs at ``publish_at``)."""
    when = publish_at.isoformat().replace("+00:00", "Z")
    data = {"object": endpoint.object, "request_token": push.token, "publish_at": when,
            "result": f"The {endpoint.object} has been added to the queue and will be published at {when}."}
    if endpoint.object == "video":
        return success(data)
    return success(data, code=202, info="Your request has been accepted and is scheduled")


def _wait_final(rt: Runtime, request_id: int, seconds: float) -> PushRequest:
    deadline = time.monotonic() + seconds
    delay = 0.05
    while True:
        with rt.db.session() as session:
            push = session.get(PushRequest, request_id)
            done = push.outcome is not None or push.state in FINAL_STATES
            if done or time.monotonic() > deadline:
                return push
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


for _ep in ENDPOINTS:
    bp.add_url_rule(
        f"/push/identities/<identity_token>/{_ep.path}.json",
        view_func=_make_view(_ep),
        methods=["POST"],
    )
