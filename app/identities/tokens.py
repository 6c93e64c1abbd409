"""Reading identity tokens and refreshing them through the provider (one refresh at a time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt

from sqlalchemy import select

from app.models import Identity, utcnow
from app.providers.base import TokenHolder, TokenSet
from app.providers.errors import AuthExpired, ReconnectRequired

if TYPE_CHECKING:
    from app.runtime import Runtime

REFRESH_MARGIN = dt.timedelta(minutes=5)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def needs_refresh(identity: Identity) -> bool:
    expires = _aware(identity.expires_at)
    return expires is not None and expires - REFRESH_MARGIN <= utcnow()


def access_token(rt: Runtime, identity_id: int, *, force_refresh: bool = False, rejected: str | None = None) -> str:
    """The access token of ``token_set`` (see there)."""
    return token_set(rt, identity_id, force_refresh=force_refresh, rejected=rejected).access_token


def token_holder(rt: Runtime, identity_id: int, token: str | None = None, expires_at: dt.datetime | None = None) -> TokenHolder:
    """A ``TokenHolder`` for one push: it reloads the identity's token near expiry and
    refreshes it (once per refusal, shared with other workers) when the provider refuses it."""
    return TokenHolder(token, expires_at, load=lambda: token_set(rt, identity_id),
                       refresh=lambda rejected: token_set(rt, identity_id, force_refresh=True, rejected=rejected))


def with_tokens(tokens: TokenHolder, call):
    """``call(token)`` for a provider call made with a bare token (the stream checks,
    a profile read): the token comes from ``tokens`` (refreshed first when near
    expiry); refused (AuthExpired, a 401) -> refreshed and the call sent once more.
    Only for calls that change nothing when refused (reads, deletes)."""
    token = tokens.get()
    try:
        return call(token)
    except AuthExpired:
        fresh = tokens.refresh(rejected=token)
        if fresh is None:
            raise
    return call(fresh)


def token_set(rt: Runtime, identity_id: int, *, force_refresh: bool = False, rejected: str | None = None) -> TokenSet:
    """A usable access token for the identity, refreshing it first if it expires soon.

    The identity row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL) while
    refreshing: providers rotate refresh tokens, so two workers refreshing at
    once would leave one holding a spent token. ``rejected`` is the token the
    provider just refused: if the stored one differs, another worker already
    refreshed and its token is used instead of refreshing again.
    """
    with rt.db.session() as session:
        identity = session.get(Identity, identity_id)
        if not force_refresh and not needs_refresh(identity):
            return TokenSet(rt.cipher.decrypt(identity.access_token_enc), expires_at=_aware(identity.expires_at))
    with rt.db.session() as session:
        identity = session.scalar(select(Identity).where(Identity.id == identity_id).with_for_update())
        if not force_refresh and not needs_refresh(identity):
            return TokenSet(rt.cipher.decrypt(identity.access_token_enc), expires_at=_aware(identity.expires_at))
        current = rt.cipher.decrypt(identity.access_token_enc)
        if rejected is not None and current != rejected:
            return TokenSet(current, expires_at=_aware(identity.expires_at))
        refresh_token = rt.cipher.decrypt(identity.refresh_token_enc)
        if not refresh_token:
            raise ReconnectRequired(
                f"The {identity.provider} access token has expired and there is no refresh token; "
                "the user must reconnect their account.",
            )
        tokens = rt.adapter(identity.provider).refresh(refresh_token)
        identity.access_token_enc = rt.cipher.encrypt(tokens.access_token)
        identity.refresh_token_enc = rt.cipher.encrypt(tokens.refresh_token or refresh_token)
        identity.expires_at = tokens.expires_at
        identity.updated_at = utcnow()
        return TokenSet(tokens.access_token, expires_at=_aware(tokens.expires_at))
