"""The posting account's tier, for networks whose limits follow the account (X).

Read once per push, by the download step (its size cap depends on it), and kept in
that step's record (``progress["download"]["account_tier"]``); the transcode step
reuses it and asks the network only for a request downloaded before it was kept.
"""

from __future__ import annotations

from app.providers.errors import AuthExpired, ProviderError


def account_tier(rt, provider: str, identity_id: int) -> tuple[str, dict | None]:
    """``(tier, note)``: X limits follow the posting account, so read its tier from X
    (``"default"`` when X does not say). ``note`` is None when nothing was asked.

    A transient ProviderError is raised (the caller retries); so is a permanent one
    from the token itself (a revoked identity)."""
    if provider != "twitter":
        return "default", None
    from app.identities.tokens import access_token

    adapter = rt.adapter(provider)
    if not hasattr(adapter, "account_tier"):  # an adapter that cannot tell (a scripted stand-in)
        return "default", None
    token = access_token(rt, identity_id)
    try:
        try:
            fields = adapter.account_tier(token)
        except AuthExpired:  # refresh once, as the upload does
            token = access_token(rt, identity_id, force_refresh=True, rejected=token)
            fields = adapter.account_tier(token)
    except ProviderError as exc:
        if exc.transient:
            raise  # retried
        # X would not say (a token without users.read, ...): the default limits are the safe ones.
        return "default", {"tier": "default", "unknown": exc.info}
    tier = "premium" if is_premium(fields) else "default"
    return tier, {"tier": tier, **fields}


def is_premium(fields: dict) -> bool:
    return (fields.get("subscription_type") in ("Premium", "PremiumPlus")
            or fields.get("verified_type") in ("blue", "business", "government"))
