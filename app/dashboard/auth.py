"""Dashboard sessions: a signed cookie naming the site, a CSRF token, and magic login links.

The signing key is derived from the first ``PUSHWIRE_SECRET_KEY`` (HMAC with a
fixed label), so it needs no setting of its own and changes when the key rotates.

    session_cookie(rt, site) -> str            value for the ``pushwire_dashboard`` cookie
    read_session(rt, cookie) -> dict | None    {"site": public_key, "csrf": token, "gen": n}
    magic_link_token(rt, public_key) -> str    for ``/dashboard/login/<token>`` (valid MAGIC_TTL s, once)
    use_magic_token(rt, token) -> str | None   the public key it names; the link is spent

Sessions are revocable: a cookie carries its site's ``dashboard_generation``, and
logging out bumps it, so every cookie issued before is refused. Magic links are
single use: each names a server-side nonce (only its hash is stored) that the
first login deletes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt
import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select, update

from app.crypto import hash_key, key_matches, resolve_secret_key
from app.models import MagicLink, Site, utcnow

if TYPE_CHECKING:
    from app.runtime import Runtime

COOKIE = "pushwire_dashboard"
SESSION_TTL = 12 * 3600
MAGIC_TTL = 300


def _serializer(rt: Runtime, purpose: str) -> URLSafeTimedSerializer:
    first = resolve_secret_key(rt.settings.secret_key, rt.settings.data_dir).split(",")[0].strip()
    key = hmac.new(first.encode(), b"pushwire-dashboard", hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt=f"pushwire-dashboard-{purpose}")


def session_cookie(rt: Runtime, site: Site) -> str:
    return _serializer(rt, "session").dumps({"site": site.public_key, "csrf": secrets.token_urlsafe(16),
                                             "gen": site.dashboard_generation})


def read_session(rt: Runtime, cookie: str | None) -> dict | None:
    if not cookie:
        return None
    try:
        data = _serializer(rt, "session").loads(cookie, max_age=SESSION_TTL)
    except BadSignature:
        return None
    return data if isinstance(data, dict) and "site" in data and "csrf" in data and "gen" in data else None


def session_valid(data: dict, site: Site) -> bool:
    """False once the site logged out after this session was issued."""
    return data.get("gen") == site.dashboard_generation


def revoke_sessions(session, site_id: int) -> None:
    """Log every browser of the site out (bumps the generation the cookies carry)."""
    session.execute(update(Site).where(Site.id == site_id)
                    .values(dashboard_generation=Site.dashboard_generation + 1))


def magic_link_token(rt: Runtime, public_key: str) -> str:
    """A signed login token naming a fresh server-side nonce (valid MAGIC_TTL s, once)."""
    nonce = secrets.token_urlsafe(16)
    now = utcnow()
    with rt.db.session() as session:
        site = session.scalar(select(Site).where(Site.public_key == public_key))
        if site is None:
            raise LookupError(public_key)
        session.execute(delete(MagicLink).where(MagicLink.expires_at <= now))  # spent links' leftovers
        session.add(MagicLink(nonce_hash=hash_key(nonce), site_id=site.id,
                              expires_at=now + dt.timedelta(seconds=MAGIC_TTL)))
    return _serializer(rt, "magic").dumps({"site": public_key, "nonce": nonce})


def use_magic_token(rt: Runtime, token: str) -> str | None:
    """The public key a valid, unused magic token names; the token is spent by this call."""
    try:
        data = _serializer(rt, "magic").loads(token, max_age=MAGIC_TTL)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("nonce"), str):
        return None
    with rt.db.session() as session:
        spent = session.execute(delete(MagicLink).where(MagicLink.nonce_hash == hash_key(data["nonce"]),
                                                        MagicLink.expires_at > utcnow()))
        return data.get("site") if spent.rowcount == 1 else None


def check_keys(session, public_key: str, private_key: str) -> Site | None:
    """The site when the key pair is right (constant-time), else None."""
    site = session.scalar(select(Site).where(Site.public_key == public_key)) if public_key else None
    ok = key_matches(private_key or "", site.private_key_hash if site else "0" * 64)
    return site if site is not None and ok else None


def find_site(session, public_key: str) -> Site | None:
    return session.scalar(select(Site).where(Site.public_key == public_key))


def login_csrf(rt: Runtime, nonce: str) -> str:
    """The login form's CSRF token, bound to a pre-login nonce cookie (double submit)."""
    return _serializer(rt, "login").dumps(nonce)


def check_login_csrf(rt: Runtime, token: str | None, nonce: str | None) -> bool:
    try:
        return bool(nonce) and hmac.compare_digest(
            str(_serializer(rt, "login").loads(token or "", max_age=3600)), nonce)
    except BadSignature:
        return False
