"""Stage 2: the provider work (upload, publish) through the provider's adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import random
import time
from dataclasses import replace

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from app import progress as sections
from app.events import bind_runtime, emit_upload
from app.faults import record_patiently
from app.identities.tokens import needs_refresh, token_holder
from app.limits import Limit
from app.logs import bind_request
from app.models import PushRequest, StageAttempt, utcnow
from app.ops.metrics import BYTES_MOVED
from app.pipeline.download import needs_download
from app.pipeline.heartbeat import bytes_writer, heartbeat
from app.pipeline.media import download_image
from app.pipeline.outcome import (
    SUCCEEDED_WHY,
    Retry,
    hold,
    merged_ids,
    open_stage,
    record_failure,
    retry_or_fail,
    succeed,
)
from app.pipeline.restage import restage, restaged
from app.providers.base import PushContext, StagedMedia
from app.providers.errors import InvalidInput, OutcomeUnknown, ProviderError, RateLimited
from app.staging.base import StagedObjectMissing, StagingError
from app.states import (
    PROCESSING,
    QUEUED,
    STAGING,
    SUCCEEDED,
    TRANSCODING,
    UPLOADING,
    WAITING,
    end_attempt,
    finish,
    transition,
)

if TYPE_CHECKING:
    from app.runtime import Runtime


def run_upload(rt: Runtime, request_id: int, task_id: str | None = None) -> str:
    """Run the adapter for the request; returns what it did.

    Three transactions for a text post: open the attempt (request and identity
    read in one locked query), the publish marker (``publish_once``), and the
    success with the created id, written by id without reading rows back.
    """
    with rt.db.session() as session:
        push = session.scalar(
            select(PushRequest).where(PushRequest.id == request_id)
            .options(joinedload(PushRequest.identity)).with_for_update(of=PushRequest)
        )
        if push is None or push.outcome or push.state not in (QUEUED, STAGING, TRANSCODING, WAITING, UPLOADING,
                                                              PROCESSING):
            return "skipped"
        bind_request(push)
        adapter = rt.adapter(push.provider)
        staged = needs_download(push.payload)
        if staged and not push.staged_key:
            return "skipped"  # a duplicate message ran ahead of staging; the real chain follows
        if staged and push.state in (STAGING, TRANSCODING, WAITING) and not sections.media_done(push.progress):
            # A duplicate ran ahead of the transcode stage (its chain follows), or a chain
            # without one (published before it existed): the sweeper republishes the whole chain.
            return "skipped"
        hold(push, "upload")  # scheduled for later, or parked and not due yet: wait (Retry)
        wait = _throttle(rt, push)
        if wait:
            raise Retry(wait, "throttled", "Pushwire's own per-identity or per-provider limit was reached.")
        # QUEUED/STAGING: the upload stage was never entered, so it has no attempts yet.
        # PROCESSING: a redelivery resumes the provider's processing poll, where it was.
        attempt = open_stage(rt, session, push, "upload", task_id, None if push.state == PROCESSING else UPLOADING,
                             "provider upload started",
                             first=push.state in (QUEUED, STAGING, TRANSCODING) and not restaged(push.progress))
        if attempt is None:
            return "failed"
        attempt_id, number = attempt.id, attempt.attempt
        identity = push.identity
        row = dict(push.progress or {})  # the adapter sees only its own section of it
        ctx_args = dict(
            request_token=push.token, kind=push.kind, payload=dict(push.payload),
            provider_user_id=identity.provider_user_id, profile=dict(identity.profile or {}),
            progress=sections.provider(row),
        )
        staged_media = None
        if staged:
            media = sections.download(row)
            staged_media = StagedMedia(rt.store, push.staged_key, push.staged_bytes, media["format"],
                                       media["mime_type"])
        identity_id = identity.id
        # The common case needs no second read: the token is fresh.
        token = None if needs_refresh(identity) else rt.cipher.decrypt(identity.access_token_enc)
        expires_at = identity.expires_at
        known_ids, has_callback, provider = dict(push.provider_ids or {}), bool(push.callback_url), push.provider
        started_in = push.state  # uploading, or processing when a redelivery resumes a poll
    hooks = UploadHooks(rt, request_id, attempt_id, started_in, provider, row)
    ctx = PushContext(access_token=None, staged=staged_media, tokens=token_holder(rt, identity_id, token, expires_at),
                      hooks=hooks, **ctx_args)
    try:
        with heartbeat(rt, attempt_id):
            outcome = adapter.run(ctx)  # refreshes the token whenever it expires (TokenHolder)
    except StagedObjectMissing:  # removed from the store under us: download it again, once
        if staged_media is None:
            raise
        staged_media.close()
        return restage(rt, request_id, attempt_id, "upload", staged_media.key)
    except OutcomeUnknown as exc:
        record_failure(rt, request_id, attempt_id, reason=exc.reason, info=exc.info, code=exc.status, unconfirmed=True)
        return "unconfirmed"
    except StagingError as exc:  # the staging store failed under the upload (S3 gone): resumes on retry
        info = f"Reading the staged video failed ({exc})."
        if exc.transient:
            retry_or_fail(rt, request_id, attempt_id, number, exc.reason or "staging_unavailable", info, code=503)
        else:
            record_failure(rt, request_id, attempt_id, reason="staging_failed", info=info, code=500)
        return "failed"
    except ProviderError as exc:
        if exc.transient:
            retry_or_fail(rt, request_id, attempt_id, number, exc.reason, exc.info,
                          retry_after=exc.retry_after if isinstance(exc, RateLimited) else None, code=exc.status)
        else:
            record_failure(rt, request_id, attempt_id, reason=exc.reason, info=exc.info, code=exc.status)
        _drop_staged(rt, staged_media)
        return "failed"
    def record_success() -> None:
        if staged_media is None:  # by id, on a plain connection: nothing to read back
            with rt.db.engine.begin() as conn:
                now = utcnow()
                conn.execute(_END_ATTEMPT, {"_id": attempt_id, "outcome": "succeeded", "ended_at": now})
                finish(conn, request_id, SUCCEEDED, SUCCEEDED_WHY, from_state=hooks.state,
                       callback=has_callback, result=outcome.data, progress=hooks.row_with(ctx.progress),
                       provider_ids=merged_ids(known_ids, outcome.provider_ids))
        else:
            with rt.db.session() as session:
                push = session.get(PushRequest, request_id)
                end_attempt(session.get(StageAttempt, attempt_id), "succeeded", bytes_moved=staged_media.size)
                push.progress = hooks.row_with(ctx.progress)
                succeed(session, push, outcome.data, outcome.provider_ids)
                emit_upload(bind_runtime(session, rt), push)

    # Published: the created ids exist only in memory until this commits, so a
    # database outage now is waited out instead of leaving the push unconfirmed.
    record_patiently(record_success, recorded=lambda: _has_outcome(rt, request_id))
    if staged_media is not None:
        BYTES_MOVED.labels(provider, "upload").inc(staged_media.size)
    _drop_staged(rt, staged_media)
    return "succeeded"


_REQUESTS, _ATTEMPTS = PushRequest.__table__, StageAttempt.__table__
_SAVE_PROGRESS = update(_REQUESTS).where(_REQUESTS.c.id == bindparam("_id")).values(progress=bindparam("progress"))
_END_ATTEMPT = (update(_ATTEMPTS).where(_ATTEMPTS.c.id == bindparam("_id"))
                .values(outcome=bindparam("outcome"), ended_at=bindparam("ended_at")))


def _throttle(rt: Runtime, push) -> float:
    """Seconds to wait under the fleet-wide identity and provider limits (0: go)."""
    s = rt.settings
    wait = rt.limiter.hit(f"identity:{push.identity_id}", Limit.parse(s.identity_rate_limit))
    if not wait:
        wait = rt.limiter.hit(f"provider:{push.provider}", Limit.parse(s.provider_rate_limit))
    return wait + random.uniform(0, 1) if wait else 0.0


class UploadHooks:
    """The upload stage's side of a push (``PushContext.hooks``, an
    app.providers.base.PushHooks): persists the adapter's
    section, reports bytes and processing, keeps the attempt alive while the adapter
    waits, and downloads pictures. ``state`` is the request's state as this task
    moved it; ``row`` the request's progress, the adapter's section aside."""

    def __init__(self, rt: Runtime, request_id: int, attempt_id: int, started_in: str, provider: str, row: dict):
        self.rt, self.request_id, self.attempt_id, self.provider = rt, request_id, attempt_id, provider
        self.state = started_in  # uploading, or processing when a redelivery resumes a poll
        self.row = row
        self._bytes = bytes_writer(rt, attempt_id)

    def row_with(self, state: sections.ProviderState) -> dict:
        """The progress row to write: the adapter's ``state`` under its key."""
        return sections.with_section(self.row, sections.PROVIDER, dict(state))

    def save_progress(self, progress: sections.ProviderState) -> None:
        # One UPDATE, no SELECT, no ORM session: publish_once's marker, or an id just
        # created (kept through a database outage: repeating this UPDATE is harmless).
        row = self.row_with(progress)

        def write() -> None:
            with self.rt.db.engine.begin() as conn:
                conn.execute(_SAVE_PROGRESS, {"_id": self.request_id, "progress": row})

        record_patiently(write)

    def report_bytes(self, total: int) -> None:
        self._bytes(total)

    def mark_processing(self) -> None:
        with self.rt.db.session() as session:
            push = session.get(PushRequest, self.request_id)
            if push.state == UPLOADING:
                transition(session, push, PROCESSING, "uploaded; the provider is processing the media")
            self.state = push.state

    def sleep(self, seconds: float) -> None:
        with self.rt.db.session() as session:
            session.execute(update(StageAttempt).where(StageAttempt.id == self.attempt_id).values(progress_at=utcnow()))
        time.sleep(seconds)

    def download(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        data, fmt, entry = _picture_for(self.rt, self.provider, url, max_bytes)
        if entry is not None:  # kept in the audit (the media section), saved with the adapter's next save
            media = sections.media(self.row)
            media.setdefault("pictures", []).append(entry)
            self.row = sections.with_section(self.row, sections.MEDIA, media)
        return data, fmt


#: The contract's picture limit: what a site may send, before any conversion.
PICTURE_SOURCE_CAP = 5 * 1024 * 1024


def _picture_for(rt: Runtime, provider: str, url: str, max_bytes: int) -> tuple[bytes, str, dict | None]:
    """Download a picture and make it one the network takes (app.media.pictures);
    returns it, its format and what was done, for the audit (``progress["media"]["pictures"]``)."""
    from app.media.pictures import inspect, prepare_picture
    from app.media.specs import picture_spec

    data, fmt = download_image(rt, url, max(max_bytes, PICTURE_SOURCE_CAP))
    spec = picture_spec(provider)
    if spec is None:
        if len(data) > max_bytes:
            raise InvalidInput(f"The picture is larger than {max_bytes // (1024 * 1024)} MB.",
                               reason="picture_too_large")
        return data, fmt, None
    spec = replace(spec, max_bytes=min(spec.max_bytes, max_bytes))
    try:
        probe = inspect(data)
    except InvalidInput as exc:
        probe = {"format": fmt, "error": exc.info}
    out, out_fmt, note = prepare_picture(data, fmt, spec)
    entry = {"probe": {**probe, "bytes": len(data)},
             "decision": {"action": "convert" if note else "pass", "why": [note or f"fits {spec.display}"]}}
    if note:
        entry["output"] = {"format": out_fmt, "bytes": len(out)}
    return out, out_fmt, entry


def _has_outcome(rt: Runtime, request_id: int) -> bool:
    with rt.db.engine.connect() as conn:
        return conn.execute(select(_REQUESTS.c.outcome).where(_REQUESTS.c.id == request_id)).scalar() is not None


def _drop_staged(rt: Runtime, staged: StagedMedia | None) -> None:
    """Delete the staged file once the push has ended (a Retry never gets here)."""
    if staged is not None:
        staged.store.delete(staged.key)
