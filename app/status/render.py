"""How a push request and its audit look in API answers (never secrets)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app import progress as sections
from app.models import CallbackAttempt, PushRequest, RequestTransition, StageAttempt


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()


def render_summary(push: PushRequest) -> dict:
    data = {
        "request_token": push.token,
        "identity_token": push.identity.token if push.identity else None,
        "provider": push.provider,
        "kind": push.kind,
        "resource": push.resource,
        "state": push.state,
        "outcome": push.outcome,
        "provider_ids": push.provider_ids or {},
        "date_creation": iso(push.created_at),
        "date_last_update": iso(push.updated_at),
        "date_finished": iso(push.finished_at),
    }
    if push.error_reason:
        data["error"] = {"code": push.error_code, "reason": push.error_reason, "info": push.error_info}
    if push.publish_at is not None:
        data["publish_at"] = iso(push.publish_at)
    if push.state == "waiting":
        data["waiting"] = {"until": iso(push.resume_at), "reason": push.wait_reason, "info": push.wait_info,
                           "resumes": push.resume_stage}
    return data


def render_request(session, push: PushRequest) -> dict:
    """Summary plus result, callback status and the full audit trail."""
    data = render_summary(push)
    data["result"] = push.result
    data["callback"] = {
        "url": push.callback_url,
        "webhook_id": push.webhook_id,
        "attempts": push.callback_attempts_made,
        "next_attempt_at": iso(push.next_callback_at) if push.state == "delivering_callback" else None,
    }
    stages = session.scalars(select(StageAttempt).where(StageAttempt.request_id == push.id).order_by(StageAttempt.id))
    callbacks = session.scalars(
        select(CallbackAttempt).where(CallbackAttempt.request_id == push.id).order_by(CallbackAttempt.id)
    )
    moves = session.scalars(
        select(RequestTransition).where(RequestTransition.request_id == push.id).order_by(RequestTransition.id)
    )
    media = (push.progress or {}).get(sections.MEDIA)  # as recorded (None before the transcode step)
    data["audit"] = {
        "media": media,
        "stages": [_stage(row) for row in stages],
        "callbacks": [_callback(row) for row in callbacks],
        "transitions": [
            {"from": m.from_state, "to": m.to_state, "at": iso(m.at), "reason": m.reason} for m in moves
        ],
    }
    return data


def _stage(row: StageAttempt) -> dict:
    return {
        "stage": row.stage, "attempt": row.attempt, "outcome": row.outcome,
        "started_at": iso(row.started_at), "ended_at": iso(row.ended_at),
        "bytes_moved": row.bytes_moved, "progress_at": iso(row.progress_at),
        "error_reason": row.error_reason, "error_info": row.error_info, "retry_at": iso(row.retry_at),
    }


def _callback(row: CallbackAttempt) -> dict:
    return {
        "attempt": row.attempt, "webhook_id": row.webhook_id, "at": iso(row.at),
        "status_code": row.status_code, "outcome": row.outcome, "error": row.error,
        "duration_ms": row.duration_ms, "next_attempt_at": iso(row.next_attempt_at),
    }
