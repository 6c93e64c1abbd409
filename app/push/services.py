"""Accepting a push: validate, persist, and hand over to the worker fleet."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from typing import NamedTuple

from pydantic import ValidationError
from sqlalchemy import bindparam, select, update

from app.api.auth import Caller
from app.api.errors import ApiError, bad_request, not_found
from app import states
from app.models import PushRequest, new_token, utcnow
from app.push.endpoints import Endpoint

IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)


def parse_body(endpoint: Endpoint, body: object, context: dict | None = None) -> dict:
    """Validate ``{"request": {"push": {<node>: {...}}}}``; 400 naming the field otherwise.
    ``context`` reaches the schema's validators (``horizon``: the latest ``publish_at``, seconds ahead)."""
    if not isinstance(body, dict) or not isinstance(body.get("request"), dict):
        raise bad_request('The body must be JSON of the form {"request": {"push": {"%s": {...}}}}.' % endpoint.node, "invalid_body")
    push = body["request"].get("push")
    if not isinstance(push, dict) or not isinstance(push.get(endpoint.node), dict):
        raise bad_request(f"request.push.{endpoint.node} is required and must be an object.", "missing_field")
    extra = set(push) - {endpoint.node}
    if extra:
        raise bad_request(f"request.push.{sorted(extra)[0]} is not a field of this endpoint; send request.push.{endpoint.node}.", "unknown_field")
    try:
        model = endpoint.schema.model_validate(push[endpoint.node], context=context)
    except ValidationError as exc:
        raise bad_request(_describe(endpoint.node, exc), _reason(exc)) from None
    return model.model_dump(exclude_none=True)


def _describe(node: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in ("request", "push", node, *first["loc"]))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"{where} is required."
    if first["type"] == "extra_forbidden":
        return f"{where} is not a field of this endpoint."
    return f"{where}: {message}."


def _reason(exc: ValidationError) -> str:
    kind = exc.errors()[0]["type"]
    return {"missing": "missing_field", "extra_forbidden": "unknown_field"}.get(kind, "invalid_field")


PATH_PARAMS = {"playlist_id": re.compile(r"^[A-Za-z0-9_-]{2,64}$")}


def path_params(params: dict) -> dict:
    """Check ids taken from the URL path (e.g. ``playlist_id``); 400 naming the one that is malformed."""
    for name, value in params.items():
        if not PATH_PARAMS[name].match(value):
            raise bad_request(f"{name} in the path ({value[:80]!r}) is not a well-formed id: "
                              "letters, digits, '-' and '_', 2 to 64 characters.", "invalid_field")
    return params


def identity_for(caller: Caller, identity_token: str, provider: str) -> int:
    """The id of the site's identity with that token, for that provider; 404 otherwise.

    Another site's identity is reported exactly like an unknown one, so tokens
    of other tenants cannot be probed.
    """
    if caller.identity_id is None:
        raise not_found(f"No identity {identity_token!r} belongs to this site. Import or connect it first.", "unknown_identity")
    if caller.identity_provider != provider:
        raise bad_request(
            f"Identity {identity_token!r} is a {caller.identity_provider} account; this endpoint needs a {provider} identity.",
            "identity_provider_mismatch",
        )
    return caller.identity_id


def body_hash(resource: str, payload: dict) -> str:
    canonical = json.dumps([resource, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Accepted(NamedTuple):
    """A push request as the gateway answers for it."""

    id: int
    token: str


_REQUESTS = PushRequest.__table__
_BY_KEY = select(_REQUESTS.c.id, _REQUESTS.c.token, _REQUESTS.c.created_at, _REQUESTS.c.body_hash).where(
    _REQUESTS.c.site_id == bindparam("site_id"), _REQUESTS.c.idempotency_key == bindparam("key"))
_FREE_KEY = update(_REQUESTS).where(_REQUESTS.c.id == bindparam("_id")).values(idempotency_key=None)


def find_replay(conn, site_id: int, key: str | None, digest: str) -> Accepted | None:
    """The earlier request with this Idempotency-Key, or None; 409 if the body differs."""
    if not key:
        return None
    if len(key) > 200:
        raise bad_request("The Idempotency-Key header is longer than 200 characters.", "invalid_idempotency_key")
    earlier = conn.execute(_BY_KEY, {"site_id": site_id, "key": key}).first()
    if earlier is None:
        return None
    created = earlier.created_at if earlier.created_at.tzinfo else earlier.created_at.replace(tzinfo=dt.timezone.utc)
    if utcnow() - created > IDEMPOTENCY_WINDOW:
        conn.execute(_FREE_KEY, {"_id": earlier.id})  # expired: free the key for this new request
        return None
    if earlier.body_hash != digest:
        raise ApiError(409, "This Idempotency-Key was already used with a different request body in the last 24 hours. Use a new key for a new push.", "idempotency_key_reused")
    return Accepted(earlier.id, earlier.token)


def request_row(site_id: int, identity_id: int, endpoint: Endpoint, resource: str, payload: dict,
                key: str | None, digest: str, publish_at: dt.datetime | None = None) -> dict:
    """The push_requests columns of a new request in state ``queued`` (``publish_at``: scheduled)."""
    now = utcnow()
    return {
        "publish_at": publish_at,
        "token": new_token(),
        "site_id": site_id,
        "identity_id": identity_id,
        "provider": endpoint.provider,
        "kind": endpoint.kind,
        "resource": resource,
        "payload": payload,
        "callback_url": payload.get("callback_url"),
        "idempotency_key": key,
        "body_hash": digest,
        "state": states.QUEUED,
        "created_at": now,
        "updated_at": now,
        "enqueued_at": now,  # cleared again if publishing fails (app.broker.publish.enqueue_push)
        "provider_ids": {},
        "progress": {},
        "callback_attempts_made": 0,
    }


def create_requests(conn, rows: list[dict]) -> list[Accepted]:
    """Persist new push requests (``request_row``) with their first audit rows, in
    order (the caller commits, then enqueues): ``app.states.create``."""
    return [Accepted(new.id, new.token) for new in states.create(conn, rows)]
