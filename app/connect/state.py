"""Single-use flow state, the browser binding cookie, and one-time connection tokens.

A flow is bound twice: the ``state`` sent to the provider names a server-side
``ConnectFlow`` row (stored as a hash), and that row also holds the hash of a random
nonce kept in a signed, HttpOnly, SameSite=Lax cookie of the browser that started it.
A provider redirect is accepted only when both match, the row is unused and fresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select, update

from app.crypto import resolve_secret_key
from app.limits import Limit
from app.models import ConnectFlow, Connection, MagicLink, SiteCallbackUrl, utcnow

if TYPE_CHECKING:
    from app.runtime import Runtime

COOKIE = "pushwire_connect"


class FlowRefused(Exception):
    """A connect step that must stop with an HTML page: ``status``, ``title``, ``info``, ``reason``."""

    def __init__(self, status: int, title: str, info: str, reason: str):
        super().__init__(info)
        self.status, self.title, self.info, self.reason = status, title, info, reason


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _serializer(settings) -> URLSafeTimedSerializer:
    key = resolve_secret_key(settings.secret_key, settings.data_dir).split(",")[0].strip()
    return URLSafeTimedSerializer(key, salt="pushwire-connect-browser")


def sign_nonce(settings, nonce: str) -> str:
    """The cookie value for ``nonce``."""
    return _serializer(settings).dumps(nonce)


def read_nonce(settings, cookie: str | None) -> str | None:
    """The nonce in a cookie we signed within the flow lifetime, else None."""
    if not cookie:
        return None
    try:
        return _serializer(settings).loads(cookie, max_age=int(settings.connect_flow_ttl))
    except BadSignature:
        return None


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def callback_registered(session, site_id: int, callback_uri: str) -> bool:
    """Exact match against the site's registered callback URLs."""
    return session.scalar(select(SiteCallbackUrl.id).where(
        SiteCallbackUrl.site_id == site_id, SiteCallbackUrl.url == callback_uri)) is not None


def start_flow(session, rt: Runtime, *, site_id: int, provider: str, callback_uri: str, site_state: str | None,
               nonce: str, pkce: bool) -> tuple[str, str | None]:
    """Record a new flow; returns ``(state, code_verifier)`` to send to the provider."""
    from oauthlib.oauth2 import WebApplicationClient

    state = secrets.token_urlsafe(32)
    verifier = WebApplicationClient("").create_code_verifier(64) if pkce else None
    session.add(ConnectFlow(
        state_hash=digest(state), browser_hash=digest(nonce), site_id=site_id, provider=provider,
        callback_uri=callback_uri, site_state=site_state, code_verifier_enc=rt.cipher.encrypt(verifier),
        expires_at=utcnow() + dt.timedelta(seconds=rt.settings.connect_flow_ttl)))
    return state, verifier


def claim_flow(session, *, state: str | None, provider: str, nonce: str | None) -> ConnectFlow:
    """Take the flow named by ``state`` for this browser, marking it used; or FlowRefused.

    Marked used before the code is exchanged, so a replayed redirect is refused even
    when the first one is still running.
    """
    if not state:
        raise FlowRefused(400, "Missing state", "The provider sent you back without the state parameter, "
                          "so this connection cannot be verified. Start again from the site.", "missing_state")
    flow = session.scalar(select(ConnectFlow).where(ConnectFlow.state_hash == digest(state)).with_for_update())
    if flow is None or flow.provider != provider:
        raise FlowRefused(400, "Unknown connection attempt", "This link does not belong to a connection "
                          "started here (unknown state). Start again from the site.", "unknown_state")
    if flow.used_at is not None:
        raise FlowRefused(400, "Link already used", "This authorization link was already used. For your safety "
                          "it works only once; start again from the site.", "state_already_used")
    if _aware(flow.expires_at) <= utcnow():
        raise FlowRefused(400, "Connection attempt expired", "Too much time passed since the connection started. "
                          "Start again from the site.", "state_expired")
    if nonce is None or not secrets.compare_digest(digest(nonce), flow.browser_hash):
        raise FlowRefused(400, "Different browser", "This connection was started in another browser (or cookies "
                          "are blocked), so it cannot be completed here. Start again from the site in this "
                          "browser.", "browser_mismatch")
    flow.used_at = utcnow()
    return flow


def issue_connection(session, rt: Runtime, site_id: int, identity_id: int) -> str:
    """A fresh one-time connection token for the identity."""
    row = Connection(site_id=site_id, identity_id=identity_id,
                     expires_at=utcnow() + dt.timedelta(seconds=rt.settings.connect_token_ttl))
    session.add(row)
    session.flush()
    return row.token


def redeem_connection(session, site_id: int, token: str) -> Connection:
    """The connection, marked read; FlowRefused 404 (unknown) or 410 (read before, expired).

    The conditional UPDATE makes two concurrent reads yield exactly one success.
    """
    row = session.scalar(select(Connection).where(Connection.token == token, Connection.site_id == site_id))
    if row is None:
        raise FlowRefused(404, "", f"No connection {token!r} belongs to this site.", "unknown_connection")
    if row.used_at is None and _aware(row.expires_at) <= utcnow():
        raise FlowRefused(410, "", "This connection_token has expired (they are readable for "
                          f"{int((row.expires_at - row.created_at).total_seconds())} s); connect again.",
                          "connection_token_expired")
    claimed = session.execute(update(Connection).where(Connection.id == row.id, Connection.used_at.is_(None))
                              .values(used_at=utcnow())).rowcount
    if not claimed:
        raise FlowRefused(410, "", "This connection_token was already read; it works once. Keep the "
                          "identity_token from the first read.", "connection_token_used")
    return row


def check_start_rate(rt: Runtime, ip: str, site_public_key: str) -> None:
    """Count one flow start against ``PUSHWIRE_CONNECT_RATE_LIMIT`` per client IP and per
    site; FlowRefused 429 when either is used up (anonymous pages must not fill tables)."""
    limit = Limit.parse(rt.settings.connect_rate_limit)
    for scope, key in (("address", f"connect:ip:{ip}"), ("site", f"connect:site:{digest(site_public_key)[:32]}")):
        wait = rt.limiter.hit(key, limit)
        if wait > 0:
            raise FlowRefused(429, "Too many connection attempts",
                              f"Too many connections were started from this {scope} recently (at most "
                              f"{limit.count} per {limit.seconds:g} s); try again in {int(wait) + 1} s.",
                              "connect_rate_limited")


def prune(session, now: dt.datetime | None = None) -> int:
    """Delete connect flows and connection tokens past their expiry, and spent dashboard
    magic links (the sweeper runs this); returns the rows removed."""
    now = now or utcnow()
    removed = 0
    for table, column in ((ConnectFlow, ConnectFlow.expires_at), (Connection, Connection.expires_at),
                          (MagicLink, MagicLink.expires_at)):
        removed += session.execute(delete(table).where(column < now)).rowcount or 0
    return removed


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
