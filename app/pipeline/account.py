"""The posting account's tier, for networks whose limits follow the account (X).

An adapter that can tell answers ``account_tier(access_token)`` with the fields
the network states (X: ``subscription_type``, ``verified_type``). The transcode
step reads the tier for every push of such a network (the longest video follows
it).
"""

from __future__ import annotations

from app.providers.errors import AuthExpired, ProviderError


def account_tier(rt, provider: str, identity_id: int, *, strict: bool = False) -> tuple[str, dict | None]:
    """``(tier, note)``: ``"premium"`` or ``"default"``, and what the network said
    (None: it was not asked, the adapter cannot tell).

    A problem loading the identity's token raises its ProviderError (``reconnect_required``,
    ...), as does a transient refusal of the read (the caller retries). A permanent refusal
    of the read (a token without ``users.read``, ...) raises too when ``strict``; otherwise
    the tier is ``"default"``, the limits every account has."""
    adapter = rt.adapter(provider)
    if not hasattr(adapter, "account_tier"):  # its limits are everyone's (or a scripted stand-in)
        return "default", None
    from app.identities.tokens import access_token

    token = access_token(rt, identity_id)
    try:
        try:
            fields = adapter.account_tier(token)
        except AuthExpired:  # refresh once, as the upload does
            token = access_token(rt, identity_id, force_refresh=True, rejected=token)
            fields = adapter.account_tier(token)
    except ProviderError as exc:
        if exc.transient or strict:
            raise
        # X would not say: the default limits are the safe ones.
        return "default", {"tier": "default", "unknown": exc.info}
    tier = "premium" if is_premium(fields) else "default"
    return tier, {"tier": tier, **fields}


def is_premium(fields: dict) -> bool:
    return (fields.get("subscription_type") in ("Premium", "PremiumPlus")
            or fields.get("verified_type") in ("blue", "business", "government"))

