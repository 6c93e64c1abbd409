"""Stage 3: deliver the result to the site's ``callback_url``, signed, at least once.

Signing follows Standard Webhooks (``webhook-id`` stable across retries,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``) using the
``standardwebhooks`` package with the site's signing secret. Attempts follow
``PUSHWIRE_CALLBACK_SCHEDULE`` (seconds after the first attempt, 24 h by default);
each is audited in ``callback_attempts`` and the next due time is kept on the
request, where the sweeper finds it even after a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt
import email.utils
import json
import time
import uuid

import requests
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from app.api.envelope import SUCCESS_INFO
from app.logs import bind_request
from app.models import CallbackAttempt, PushRequest, utcnow
from app.net import Transfer, TransferTimeout, UnsafeURLError, read_at_most, safe_request
from app.ops.metrics import CALLBACKS
from app.states import DELIVERING_CALLBACK, finish

if TYPE_CHECKING:
    from app.runtime import Runtime

LEASE_SLACK = 10.0  # seconds beyond the delivery's own timeouts
ANSWER_BYTES = 4096  # most bytes of a receiver's answer read; the rest is never read


def lease(settings) -> dt.timedelta:
    """How long a claimed delivery is left alone: one attempt's connect and answer
    timeouts plus slack. A worker killed mid-delivery delays the retry by this much,
    no more (the sweeper takes it up after); a delivery outliving it may be sent again
    with the same ``webhook-id``, which receivers deduplicate on."""
    return dt.timedelta(seconds=settings.outbound_connect_timeout + settings.callback_timeout + LEASE_SLACK)


def build_payload(push: PushRequest) -> dict:
    """The seed's callback body: success data, or the error envelope."""
    request_node = {
        "date": email.utils.formatdate(localtime=True),
        "resource": push.resource.lstrip("/"),
    }
    if push.outcome == "succeeded":
        request_node["status"] = {"flag": "success", "code": 200, "info": SUCCESS_INFO}
        data = {**(push.result or {}), "request_token": push.token}
        return {"response": {"request": request_node, "result": {"data": data}}}
    request_node["status"] = {
        "flag": "error",
        "code": push.error_code or 500,
        "info": push.error_info or "The push failed.",
        "reason": push.error_reason or "push_failed",
    }
    return {"response": {"request": request_node, "result": {"data": {"request_token": push.token}}}}


def claim(rt: Runtime, request_id: int) -> bool:
    """Take the lease on a due delivery, so duplicate messages do not deliver at once."""
    now = utcnow()
    with rt.db.session() as session:
        result = session.execute(
            update(PushRequest)
            .where(PushRequest.id == request_id, PushRequest.state == DELIVERING_CALLBACK,
                   PushRequest.next_callback_at <= now + dt.timedelta(seconds=1))
            .values(next_callback_at=now + lease(rt.settings))
        )
        return result.rowcount == 1


def run_callback(rt: Runtime, request_id: int) -> float | None:
    """Make one delivery attempt if due. Returns seconds until the next one, or None."""
    if not claim(rt, request_id):
        return None
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        bind_request(push)
        if not push.webhook_id:
            push.webhook_id = f"msg_{uuid.uuid4().hex}"
        body = json.dumps(build_payload(push), separators=(",", ":"))
        secret = rt.cipher.decrypt(push.site.signing_secret_enc)
        url, webhook_id, number = push.callback_url, push.webhook_id, push.callback_attempts_made + 1
    status, error, elapsed = _deliver(rt, url, webhook_id, secret, body)
    return _record(rt, request_id, number, webhook_id, status, error, elapsed)


def _deliver(rt: Runtime, url: str, webhook_id: str, secret: str, body: str):
    now = dt.datetime.now(dt.timezone.utc)
    signature = Webhook(secret).sign(webhook_id, now, body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Pushwire-Webhooks/1",
        "Accept-Encoding": "identity",  # the answer is never decompressed (nor read past a few KB)
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    started = time.monotonic()
    # The whole attempt (connect, redirects, status, the first few KB of the
    # answer) ends within PUSHWIRE_CALLBACK_TIMEOUT, however the receiver drips.
    transfer = Transfer(rt.settings.callback_timeout, reason="callback_timeout", what="the callback receiver")
    try:
        with transfer:
            resp = safe_request("POST", url, policy=rt.policy, data=body.encode(), headers=headers,
                                stream=True, transfer=transfer,
                                timeout=(rt.settings.outbound_connect_timeout, rt.settings.callback_timeout))
            with resp:
                read_at_most(resp, ANSWER_BYTES, transfer)
        return resp.status_code, None, time.monotonic() - started
    except TransferTimeout as exc:
        return None, f"{exc.reason}: {exc}", time.monotonic() - started
    except UnsafeURLError as exc:
        return None, f"refused: {exc}", time.monotonic() - started
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}", time.monotonic() - started


def _record(rt: Runtime, request_id, number, webhook_id, status, error, elapsed) -> float | None:
    delivered = status is not None and 200 <= status < 300
    delays = rt.settings.callback_delays()
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        first = _first_attempt_at(session, request_id) or utcnow()
        next_at = None
        if not delivered and number < len(delays) and not (error or "").startswith("refused"):
            next_at = first + dt.timedelta(seconds=delays[number])
        outcome = "delivered" if delivered else ("retrying" if next_at else "abandoned")
        CALLBACKS.labels(outcome).inc()
        session.add(CallbackAttempt(
            request_id=request_id, attempt=number, webhook_id=webhook_id, status_code=status,
            outcome=outcome,
            error=error or (None if delivered else f"HTTP {status}"),
            duration_ms=int(elapsed * 1000), next_attempt_at=next_at,
        ))
        push.callback_attempts_made = number
        push.next_callback_at = next_at
        if next_at is None:
            why = "callback delivered" if delivered else f"callback abandoned after {number} attempts"
            finish(session, push, push.outcome, why)
    if next_at is None:
        return None
    return max(0.0, (next_at - utcnow()).total_seconds())


def _first_attempt_at(session, request_id: int) -> dt.datetime | None:
    first = session.scalar(
        select(CallbackAttempt.at).where(CallbackAttempt.request_id == request_id).order_by(CallbackAttempt.id).limit(1)
    )
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=dt.timezone.utc)
    return first
