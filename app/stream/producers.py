"""Finding ``delete`` and ``comment`` events for pushed videos (run by beat tasks).

Each function takes the Runtime, does a bounded amount of work and returns a
count; each is safe to run twice at once (rows are locked with SKIP LOCKED on
PostgreSQL, and deletes/comments are remembered on the push so they are emitted
once). A "pushed video" is a push that emitted an ``upload`` event.

* ``delete_pushed_video(rt, session, push)``: the DELETE endpoint's work.
* ``expire_twitter_media(rt)``: X drops media never attached to a post after 24 h.
* ``check_vanished(rt)``: ``adapter.exists(...) is False`` -> ``delete``.
* ``poll_comments(rt)``: ``adapter.list_comments(...)`` -> one ``comment`` each.
* ``prune_events(rt)``: forget events older than the retention period.

Deleting, ``exists`` and ``list_comments`` are optional capabilities
(``app.providers.capabilities``): a network without one is not asked (nor its
token loaded); its videos are stamped as checked all the same.

Every provider call gets its token from a ``TokenHolder`` (one per identity and
run, as a push's calls do): a token near expiry is refreshed before the call,
and a call the provider refuses (AuthExpired: 401) gets the token refreshed and
is sent once more. A refresh the provider refuses (a dead refresh token:
``reconnect_required``; a refused client: ``provider_misconfigured``), or a fresh
token refused too (``token_expired``), is logged as a warning and kept on the push
(``progress["stream"]["stream_check_error"]``); the identity's other videos are skipped
for that run, everyone else's are checked.

What the producers remember on a push is in its own section of ``progress``
(``app.progress.StreamState``); they read nothing else of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt
import email.utils
import logging

from sqlalchemy import delete, exists, select

from app import progress as sections
from app.events import bind_runtime, emit_comment, emit_delete
from app.identities.tokens import token_holder, with_tokens
from app.models import Event, PushRequest, utcnow
from app.providers.base import TokenHolder
from app.providers.capabilities import ChecksExistence, Deletes, ListsComments
from app.providers.errors import AuthExpired, Misconfigured, ProviderError, ReconnectRequired

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 50
SEEN_IDS_KEPT = 200


def is_pushed_video(session, push: PushRequest) -> bool:
    """Whether ``push`` produced a stream ``video`` (an upload event)."""
    return bool(session.scalar(select(exists().where(Event.request_id == push.id, Event.kind == "upload"))))


def delete_pushed_video(rt: Runtime, session, push: PushRequest) -> bool:
    """Delete a finished video at the provider where possible, mark it deleted and
    emit the stream ``delete``. Returns whether the provider deleted it.

    Provider errors propagate (the caller answers them); NotFound counts as deleted.
    """
    from app.providers.errors import NotFound

    deleted = False
    adapter = rt.adapter(push.provider)
    if isinstance(adapter, Deletes) and push.identity_id is not None and not (push.result or {}).get("deleted_at"):
        try:
            deleted = with_tokens(token_holder(rt, push.identity_id), lambda token: adapter.delete(
                push.kind, dict(push.provider_ids or {}), token))
        except NotFound:
            deleted = True
    bind_runtime(session, rt)
    emit_delete(session, push, "api")
    return deleted


def _watched(session, settings) -> list[PushRequest]:
    """Pushed videos finished within the watch window and not deleted, locked for this run."""
    since = utcnow() - dt.timedelta(days=settings.stream_watch_days)
    query = (
        select(PushRequest)
        .where(PushRequest.outcome == "succeeded", PushRequest.finished_at >= since,
               PushRequest.identity_id.is_not(None),
               exists().where(Event.request_id == PushRequest.id, Event.kind == "upload"))
        .order_by(PushRequest.id)
    )
    pushes = session.scalars(_locked(session, query)).all()
    return [p for p in pushes if not (p.result or {}).get("deleted_at")]


def _locked(session, query):
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=PushRequest)
    return query


def expire_twitter_media(rt: Runtime) -> int:
    """Emit ``delete`` once for X videos uploaded but never attached, older than the media TTL."""
    ttl = rt.settings.stream_twitter_media_ttl
    now = utcnow()
    count = 0
    with rt.db.session() as session:
        bind_runtime(session, rt)
        since = now - dt.timedelta(seconds=ttl + rt.settings.stream_watch_days * 86400)
        query = (
            select(PushRequest)
            .where(PushRequest.provider == "twitter", PushRequest.outcome == "succeeded",
                   PushRequest.finished_at >= since,
                   exists().where(Event.request_id == PushRequest.id, Event.kind == "upload"))
            .order_by(PushRequest.id)
        )
        for push in session.scalars(_locked(session, query)).all():
            ids = push.provider_ids or {}
            if not ids.get("media_id") or ids.get("tweet_id") or ids.get("post_id"):
                continue
            if _media_created(push) <= now - dt.timedelta(seconds=ttl) and emit_delete(session, push, "expired"):
                count += 1
    return count


def _media_created(push: PushRequest) -> dt.datetime:
    """When X created the media: the ``date_creation`` its upload reported (the push's
    ``result``, as the callback had it); the push's end for a result without one."""
    try:
        value = email.utils.parsedate_to_datetime((push.result or {}).get("date_creation") or "")
    except (TypeError, ValueError):
        value = push.finished_at or push.created_at
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _state(push: PushRequest) -> sections.StreamState:
    return sections.stream(push.progress)


def _keep(push: PushRequest, state: sections.StreamState) -> None:
    push.progress = sections.with_section(push.progress, sections.STREAM, dict(state))


def check_vanished(rt: Runtime) -> int:
    """Ask the provider whether each watched video still exists; ``False`` -> ``delete``."""
    count = 0
    holders: dict[int, TokenHolder | ProviderError] = {}
    with rt.db.session() as session:
        bind_runtime(session, rt)
        for push in _due(session, rt.settings, "exists_checked_at", rt.settings.stream_exists_interval):
            answer = _ask(rt, holders, push, ChecksExistence,
                          lambda adapter, token: adapter.exists(push.kind, dict(push.provider_ids), token))
            _stamp(push, "exists_checked_at")
            if answer is False and emit_delete(session, push, "vanished"):
                count += 1
    return count


def poll_comments(rt: Runtime) -> int:
    """Emit each new provider comment on watched videos once (remembered in ``progress``)."""
    count = 0
    holders: dict[int, TokenHolder | ProviderError] = {}
    with rt.db.session() as session:
        bind_runtime(session, rt)
        for push in _due(session, rt.settings, "comments_checked_at", rt.settings.stream_comment_interval):
            since = _state(push).get("comments_seen")
            comments = _ask(rt, holders, push, ListsComments, lambda adapter, token: adapter.list_comments(
                push.kind, dict(push.provider_ids), token, since))
            state = _state(push)  # as _ask left it (a check error recorded or cleared)
            seen = list(state.get("comment_ids") or [])
            for comment in comments or []:
                comment_id = str(comment.get("id"))
                if comment_id in seen:
                    continue
                emit_comment(session, push, comment)
                seen.append(comment_id)
                state["comments_seen"] = comment_id
                count += 1
            state["comment_ids"] = seen[-SEEN_IDS_KEPT:]
            _keep(push, state)
            _stamp(push, "comments_checked_at")
    return count


def _due(session, settings, stamp: str, interval: float) -> list[PushRequest]:
    """Watched videos whose last ``stamp`` check is older than ``interval`` (oldest first)."""
    now = utcnow().timestamp()
    due = [p for p in _watched(session, settings) if now - _state(p).get(stamp, 0) >= interval]
    due.sort(key=lambda p: _state(p).get(stamp, 0))
    return due[:BATCH]


def _stamp(push: PushRequest, key: str) -> None:
    _keep(push, {**_state(push), key: utcnow().timestamp()})


def _ask(rt: Runtime, holders: dict, push: PushRequest, capability: type, call):
    """Run one provider call for ``push`` through its identity's TokenHolder (shared by
    the identity's videos in this run); None, without a call, when the network lacks
    the ``capability`` the call needs. Provider errors give None: a passing one is
    logged; one the token refresh raised (the user must reconnect, or the operator must
    fix the app) is logged as a warning, recorded on the push, and the identity's
    other videos are skipped in this run, not the other identities'."""
    adapter = rt.adapter(push.provider)
    if not isinstance(adapter, capability):
        return None
    holder = holders.get(push.identity_id)
    if holder is None:
        holder = holders[push.identity_id] = token_holder(rt, push.identity_id)
    if isinstance(holder, ProviderError):
        _record(push, holder)
        return None
    try:
        answer = with_tokens(holder, lambda token: call(adapter, token))
    except (ReconnectRequired, Misconfigured, AuthExpired) as exc:
        if isinstance(exc, AuthExpired) and not holder.refreshes:  # nothing to refresh with: as any error
            log.info("stream check of request %s skipped: %s (%s)", push.id, exc.reason, exc.info)
            _record(push, exc)
            return None
        holders[push.identity_id] = exc  # refused refresh, or a fresh token refused too
        log.warning("stream checks of identity %s (%s) skipped for this run: %s (%s)", push.identity_id, push.provider,
                    exc.reason, exc.info)
        _record(push, exc)
        return None
    except ProviderError as exc:
        log.info("stream check of request %s skipped: %s (%s)", push.id, exc.reason, exc.info)
        _record(push, exc)
        return None
    state = _state(push)
    if state.pop("stream_check_error", None):
        _keep(push, state)
    return answer


def _record(push: PushRequest, exc: ProviderError) -> None:
    _keep(push, {**_state(push), "stream_check_error": sections.CheckError(
        reason=exc.reason, info=exc.info, at=utcnow().timestamp())})


def prune_events(rt: Runtime) -> int:
    """Delete events older than the retention period; returns how many."""
    cutoff = utcnow() - dt.timedelta(days=rt.settings.stream_retention_days)
    with rt.db.session() as session:
        return session.execute(delete(Event).where(Event.created_at < cutoff)).rowcount or 0
