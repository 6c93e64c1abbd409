"""Creating or updating the identity a finished connect flow yields."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.connect.flows import Account, Grant
from app.models import Identity, utcnow

if TYPE_CHECKING:
    from app.runtime import Runtime


def save_identity(session, rt: Runtime, *, site_id: int, provider: str, grant: Grant, account: Account) -> Identity:
    """Create the identity, or update the known one (same site, provider and account).

    A reconnect keeps the ``identity_token``; a stored refresh token is kept when the
    provider sends none (Google omits it without fresh consent, Facebook has none).
    """
    identity = session.scalar(select(Identity).where(
        Identity.site_id == site_id, Identity.provider == provider,
        Identity.provider_user_id == account.provider_user_id).with_for_update())
    if identity is None:
        identity = Identity(site_id=site_id, provider=provider, provider_user_id=account.provider_user_id,
                            refresh_token_enc=None, profile={})
        session.add(identity)
    identity.access_token_enc = rt.cipher.encrypt(grant.access_token)
    if grant.refresh_token:
        identity.refresh_token_enc = rt.cipher.encrypt(grant.refresh_token)
    identity.expires_at = utcnow() + dt.timedelta(seconds=grant.expires_in) if grant.expires_in else None
    identity.profile = {**(identity.profile or {}), **account.profile}
    identity.updated_at = utcnow()
    session.flush()
    return identity
