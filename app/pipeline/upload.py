"""Stage 2: the provider work (upload, publish) through the provider's adapter."""

from __future__ import annotations

import datetime as dt
import random
import time

from sqlalchemy import update

from app.events import emit_upload
from app.identities.tokens import access_token, needs_refresh
from app.limits import Limit
from app.logs import bind_request
from app.models import PushRequest, StageAttempt, utcnow
from app.ops.metrics import BYTES_MOVED
from app.pipeline.heartbeat import heartbeat
from app.pipeline.media import download_image
from app.pipeline.outcome import Retry, give_up_after_crashes, record_failure, retry_or_fail, succeed
from app.providers.base import PushContext, StagedMedia
from app.providers.errors import AuthExpired, OutcomeUnknown, ProviderError, RateLimited
from app.states import (
    PROCESSING,
    QUEUED,
    STAGING,
    UPLOADING,
    DuplicateTask,
    begin_attempt,
    end_attempt,
    transition,
)


def run_upload(rt, request_id: int, task_id: str | None = None) -> str:
    """Run the adapter for the request; returns what it did."""
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id, with_for_update=True)
        if push is None or push.outcome or push.state not in (QUEUED, STAGING, UPLOADING, PROCESSING):
            return "skipped"
        bind_request(push)
        adapter = rt.adapter(push.provider)
        staged = adapter.needs_staging(push.kind) and bool(push.payload.get("video_url"))
        if staged and not push.staged_key:
            return "skipped"  # a duplicate message ran ahead of staging; the real chain follows
        wait = _throttle(rt, push)
        if wait:
            raise Retry(wait, "throttled", "Pushwire's own per-identity or per-provider limit was reached.")
        try:
            attempt = begin_attempt(session, push, "upload", task_id, lease=dt.timedelta(seconds=rt.settings.attempt_lease))
        except DuplicateTask as exc:
            raise Retry(exc.wait + 1, "duplicate", str(exc)) from None
        if push.state != PROCESSING:
            transition(session, push, UPLOADING, "provider upload started")
        if give_up_after_crashes(session, push, attempt, rt.settings.max_redeliveries):
            return "failed"
        attempt_id, number = attempt.id, attempt.attempt
        identity = push.identity
        ctx_args = dict(
            request_token=push.token, kind=push.kind, payload=dict(push.payload),
            provider_user_id=identity.provider_user_id, profile=dict(identity.profile or {}),
            progress=dict(push.progress or {}),
        )
        staged_media = None
        if staged:
            staged_media = StagedMedia(rt.store, push.staged_key, push.staged_bytes,
                                       push.progress.get("format", ""), push.progress.get("mime_type", "video/mp4"))
        identity_id = identity.id
        # The common case needs no second read: the token is fresh.
        token = None if needs_refresh(identity) else rt.cipher.decrypt(identity.access_token_enc)
    ctx = PushContext(access_token="", staged=staged_media, **ctx_args)
    _wire_callbacks(rt, ctx, request_id, attempt_id)
    try:
        with heartbeat(rt, attempt_id):
            outcome = _push_with_refresh(rt, adapter, ctx, identity_id, token)
    except OutcomeUnknown as exc:
        record_failure(rt, request_id, attempt_id, reason=exc.reason, info=exc.info, code=exc.status, unconfirmed=True)
        return "unconfirmed"
    except ProviderError as exc:
        if exc.transient:
            retry_or_fail(rt, request_id, attempt_id, number, exc.reason, exc.info,
                          retry_after=exc.retry_after if isinstance(exc, RateLimited) else None, code=exc.status)
        else:
            record_failure(rt, request_id, attempt_id, reason=exc.reason, info=exc.info, code=exc.status)
        _drop_staged(rt, staged_media)
        return "failed"
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        end_attempt(session.get(StageAttempt, attempt_id), "succeeded",
                    bytes_moved=staged_media.size if staged_media else 0)
        push.progress = ctx.progress
        succeed(session, push, outcome.data, outcome.provider_ids)
        if staged_media is not None:
            emit_upload(session, push)
    if staged_media is not None:
        BYTES_MOVED.labels(push.provider, "upload").inc(staged_media.size)
    _drop_staged(rt, staged_media)
    return "succeeded"


def _throttle(rt, push) -> float:
    """Seconds to wait under the fleet-wide identity and provider limits (0: go)."""
    s = rt.settings
    wait = rt.limiter.hit(f"identity:{push.identity_id}", Limit.parse(s.identity_rate_limit))
    if not wait:
        wait = rt.limiter.hit(f"provider:{push.provider}", Limit.parse(s.provider_rate_limit))
    return wait + random.uniform(0, 1) if wait else 0.0


def _push_with_refresh(rt, adapter, ctx: PushContext, identity_id: int, token: str | None = None):
    """Push with a fresh token; on a 401, refresh once and push again."""
    ctx.access_token = token or access_token(rt, identity_id)
    try:
        return adapter.push(ctx)
    except AuthExpired:
        ctx.access_token = access_token(rt, identity_id, force_refresh=True, rejected=ctx.access_token)
        return adapter.push(ctx)


def _wire_callbacks(rt, ctx: PushContext, request_id: int, attempt_id: int) -> None:
    """Let the adapter persist resumable progress and report bytes and processing."""
    last = [0.0]

    def save_progress(progress: dict) -> None:
        # One UPDATE, no SELECT: publish_once calls this twice per post.
        with rt.db.session() as session:
            session.execute(update(PushRequest).where(PushRequest.id == request_id).values(progress=dict(progress)))

    def report_bytes(total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 1.0:
            return
        last[0] = now
        with rt.db.session() as session:
            row = session.get(StageAttempt, attempt_id)
            row.bytes_moved, row.progress_at = total, utcnow()

    def mark_processing() -> None:
        with rt.db.session() as session:
            push = session.get(PushRequest, request_id)
            if push.state == UPLOADING:
                transition(session, push, PROCESSING, "uploaded; the provider is processing the media")

    ctx.save_progress, ctx.report_bytes, ctx.mark_processing = save_progress, report_bytes, mark_processing
    def sleep(seconds: float) -> None:
        heartbeat()
        time.sleep(seconds)

    def heartbeat() -> None:
        with rt.db.session() as session:
            session.execute(update(StageAttempt).where(StageAttempt.id == attempt_id).values(progress_at=utcnow()))

    ctx.sleep = sleep
    ctx.download = lambda url, max_bytes: download_image(rt, url, max_bytes)


def _drop_staged(rt, staged: StagedMedia | None) -> None:
    """Delete the staged file once the push has ended (a Retry never gets here)."""
    if staged is not None:
        staged.store.delete(staged.key)
