"""HTTP Basic authentication of sites: public key as user, private key as password."""

from __future__ import annotations

from flask import g, request
from sqlalchemy import select

from app.api.errors import ApiError
from app.crypto import hash_key, key_matches
from app.models import Site

# A constant hash to compare against when the public key is unknown, so timing
# does not reveal which public keys exist.
_DUMMY_HASH = hash_key("not-a-key")


def current_site(session) -> Site:
    """The authenticated site, or a 401 envelope."""
    if getattr(g, "site", None) is not None:
        return g.site
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        raise _unauthorized("Authenticate with HTTP Basic auth: your site's public key as user name and its private key as password.")
    site = session.scalar(select(Site).where(Site.public_key == auth.username))
    ok = key_matches(auth.password, site.private_key_hash if site else _DUMMY_HASH)
    if site is None or not ok:
        raise _unauthorized("The public key or private key is wrong. Check the keys printed by 'pushwire site create'.")
    _check_rate(site)
    g.site = site
    return site


def _check_rate(site: Site) -> None:
    """429 with Retry-After when the site exceeds PUSHWIRE_SITE_RATE_LIMIT."""
    from flask import current_app

    from app.limits import Limit

    rt = current_app.extensions["pushwire"]
    wait = rt.limiter.hit(f"site:{site.id}", Limit.parse(rt.settings.site_rate_limit))
    if wait:
        raise ApiError(429, f"Too many requests for this site; retry in {int(wait) + 1} seconds.",
                       "rate_limited", {"Retry-After": str(int(wait) + 1)})


def _unauthorized(info: str) -> ApiError:
    return ApiError(401, info, "invalid_credentials", {"WWW-Authenticate": 'Basic realm="pushwire"'})
