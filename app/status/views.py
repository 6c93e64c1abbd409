"""``GET /push/requests/<token>.json``, ``GET /push/requests.json``, ``DELETE`` to cancel.

Example::

    GET /push/requests/5f0c...json
    -> {"response": {..., "result": {"data": {"request": {"request_token": "5f0c...",
        "state": "succeeded", "provider_ids": {"media_id": "1234"},
        "audit": {"stages": [...], "callbacks": [...], "transitions": [...]}}}}}}
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from sqlalchemy import func, select

from app import progress as sections
from app.api.auth import current_site
from app.api.envelope import success
from app.api.errors import ApiError, bad_request, not_found
from app.api.paging import paging
from app.models import Identity, PushRequest
from app.providers.errors import ProviderError
from app.states import CANCELLED, QUEUED, STAGING, STATES, WAITING, InvalidTransition, transition
from app.status.render import render_request, render_summary
from app.stream.producers import delete_pushed_video, is_pushed_video

bp = Blueprint("status", __name__)

#: States a push can be cancelled in: its publish step has not started.
CANCELLABLE = (QUEUED, STAGING, WAITING)


def _own_request(session, site, token: str, lock: bool = False) -> PushRequest:
    query = select(PushRequest).where(PushRequest.token == token, PushRequest.site_id == site.id)
    push = session.scalar(query.with_for_update() if lock else query)
    if push is None:
        raise not_found(f"No push request {token!r} belongs to this site.", "unknown_request")
    return push


@bp.get("/push/requests/<token>.json")
def show(token: str):
    """The request's state, provider ids and full audit trail."""
    rt = current_app.extensions["pushwire"]
    with rt.db.session() as session:
        push = _own_request(session, current_site(session), token)
        return success({"request": render_request(session, push)})


@bp.get("/push/requests.json")
def index():
    """Requests of this site, newest first; filters identity_token, provider, state; page, per_page."""
    rt = current_app.extensions["pushwire"]
    page, per_page = paging()
    with rt.db.session() as session:
        site = current_site(session)
        query = select(PushRequest).where(PushRequest.site_id == site.id)
        if token := request.args.get("identity_token"):
            query = query.join(Identity, PushRequest.identity_id == Identity.id).where(Identity.token == token)
        if provider := request.args.get("provider"):
            query = query.where(PushRequest.provider == provider)
        if state := request.args.get("state"):
            if state not in STATES:
                raise bad_request(f"state must be one of {', '.join(STATES)}.", "invalid_filter")
            query = query.where(PushRequest.state == state)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(PushRequest.id.desc()).offset((page - 1) * per_page).limit(per_page)
        ).all()
        entries = [render_summary(push) for push in rows]
    return success({"requests": {"pagination": {"current_page": page, "per_page": per_page,
                                                 "total_entries": total}, "entries": entries}})


@bp.delete("/push/requests/<token>.json")
def cancel(token: str):
    """Cancel a push whose publish step has not started (queued, downloading, or
    waiting: scheduled or parked on a provider's limit); for a finished video push,
    delete the video at the provider (where it allows it), mark it deleted
    (``result.deleted_at``) and emit the stream ``delete``."""
    rt = current_app.extensions["pushwire"]
    staged_key = None
    with rt.db.session() as session:
        push = _own_request(session, current_site(session), token, lock=True)
        if push.outcome == "succeeded" and is_pushed_video(session, push):
            try:
                deleted = delete_pushed_video(rt, session, push)
            except ProviderError as exc:
                raise ApiError(exc.status if exc.status in (400, 403, 422, 429) else 502,
                               f"The video could not be deleted: {exc.info}", exc.reason) from None
            return success({"request": {**render_summary(push), "deleted_at_provider": deleted}})
        if push.state not in CANCELLABLE or _reached_provider(push):
            raise ApiError(409, f"The request is {push.state} and its publish step has started; only queued, "
                           "staging or waiting requests that reached no provider yet can be cancelled.",
                           "not_cancellable")
        try:
            transition(session, push, CANCELLED, "cancelled by the site")
        except InvalidTransition:  # a worker took it first (the row lock makes this rare)
            raise ApiError(409, f"The request moved to {push.state} meanwhile; it can no longer be cancelled.",
                           "not_cancellable") from None
        staged_key, body = push.staged_key, success({"request": render_summary(push)})
    if staged_key:
        rt.store.delete(staged_key)  # the video fetched ahead of a scheduled time
    return body


def _reached_provider(push: PushRequest) -> bool:
    """Whether anything was created at the provider (a parked push's earlier steps)."""
    return bool(push.provider_ids) or sections.reached_provider(sections.provider(push.progress))
