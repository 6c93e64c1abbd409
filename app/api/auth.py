"""HTTP Basic authentication of sites: public key as user, private key as password."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, NamedTuple

from flask import g, request
from sqlalchemy import and_, bindparam, select

from app.api.errors import ApiError
from app.crypto import hash_key, key_matches
from app.models import Identity, Site

if TYPE_CHECKING:
    from app.runtime import Runtime

# A constant hash to compare against when the public key is unknown, so timing
# does not reveal which public keys exist.
_DUMMY_HASH = hash_key("not-a-key")


def current_site(session) -> Site:
    """The authenticated site, or a 401 envelope."""
    if getattr(g, "site", None) is not None:
        return g.site
    auth = _credentials()
    site = session.scalar(select(Site).where(Site.public_key == auth.username))
    _verify(auth.password, site.private_key_hash if site else None)
    _check_rate(site.id)
    g.site = site
    return site


class Caller(NamedTuple):
    """An authenticated site and what it holds under the identity token in the path."""

    site_id: int
    identity_id: int | None  # None: the site has no identity with that token
    identity_provider: str | None


_SITES, _IDENTITIES = Site.__table__, Identity.__table__
#: The push endpoints' one query: the site by public key, and its identity by token.
_SITE_AND_IDENTITY = (
    select(_SITES.c.id.label("site_id"), _SITES.c.private_key_hash,
           _IDENTITIES.c.id.label("identity_id"), _IDENTITIES.c.provider.label("identity_provider"))
    .select_from(_SITES.outerjoin(_IDENTITIES, and_(_IDENTITIES.c.site_id == _SITES.c.id,
                                                    _IDENTITIES.c.token == bindparam("identity_token"))))
    .where(_SITES.c.public_key == bindparam("public_key"))
)


def authenticate_push(rt: Runtime, identity_token: str, fresh: bool = False) -> Caller:
    """``current_site`` for the push endpoints: the site and the identity in the
    path, read in one statement (another site's identity is not found).

    A verified (keys, identity) combination is remembered for
    ``PUSHWIRE_AUTH_CACHE_SECONDS``, so a site pushing for the same account again
    costs no read. The cache holds no key, only its hash; the insert that follows
    still goes through the database's foreign keys, and the push endpoints
    re-check with ``fresh=True`` when it fails (a site or identity deleted within
    the window). The per-site rate limit is counted on every request.
    """
    auth = _credentials()
    ttl = rt.settings.auth_cache_seconds
    key = (auth.username, hash_key(auth.password), identity_token)
    cache = rt.auth_cache
    caller = None if fresh or ttl <= 0 else cache.get(key)
    if caller is None:
        row = rt.db.read(lambda conn: conn.execute(_SITE_AND_IDENTITY, {
            "public_key": auth.username, "identity_token": identity_token}).first())
        _verify(auth.password, row.private_key_hash if row else None)
        caller = Caller(row.site_id, row.identity_id, row.identity_provider)
        if ttl > 0 and caller.identity_id is not None:  # never remember "not found": it may be imported next
            cache.put(key, caller, ttl)
        elif fresh:
            cache.drop(key)
    _check_rate(caller.site_id)
    return caller


def forget_push_caller(rt: Runtime, identity_token: str) -> None:
    """Drop remembered callers of this identity token (the token failed a write)."""
    rt.auth_cache.drop_identity(identity_token)


class CallerCache:
    """A small TTL map from (public key, private key hash, identity token) to Caller
    (one per ``Runtime``: ``rt.auth_cache``)."""

    MAX_ITEMS = 10_000

    def __init__(self):
        self._lock = threading.Lock()
        self._items: dict[tuple, tuple[float, Caller]] = {}

    def get(self, key: tuple) -> Caller | None:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: tuple, caller: Caller, ttl: float) -> None:
        with self._lock:
            if len(self._items) >= self.MAX_ITEMS:
                self._items.clear()
            self._items[key] = (time.monotonic() + ttl, caller)

    def drop(self, key: tuple) -> None:
        with self._lock:
            self._items.pop(key, None)

    def drop_identity(self, identity_token: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[2] == identity_token]:
                del self._items[key]


def _credentials():
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        raise _unauthorized("Authenticate with HTTP Basic auth: your site's public key as user name and its private key as password.")
    return auth


def _verify(private_key: str, stored_hash: str | None) -> None:
    # An unknown public key is compared against a dummy hash: the same time either way.
    ok = key_matches(private_key, stored_hash or _DUMMY_HASH)
    if stored_hash is None or not ok:
        raise _unauthorized("The public key or private key is wrong. Check the keys printed by 'pushwire site create'.")


def _check_rate(site_id: int) -> None:
    """429 with Retry-After when the site exceeds PUSHWIRE_SITE_RATE_LIMIT."""
    from flask import current_app

    from app.limits import Limit

    rt = current_app.extensions["pushwire"]
    wait = rt.limiter.hit(f"site:{site_id}", Limit.parse(rt.settings.site_rate_limit))
    if wait:
        raise ApiError(429, f"Too many requests for this site; retry in {int(wait) + 1} seconds.",
                       "rate_limited", {"Retry-After": str(int(wait) + 1)})


def _unauthorized(info: str) -> ApiError:
    return ApiError(401, info, "invalid_credentials", {"WWW-Authenticate": 'Basic realm="pushwire"'})
