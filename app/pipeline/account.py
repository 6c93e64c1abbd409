"""The posting account's tier, for networks whose limits follow the account (X).

An adapter that can tell (``app.providers.capabilities.ReadsAccountTier``) answers ``account_tier(access_token)`` with the fields
the network states (X: ``subscription_type``, ``verified_type``). The transcode
step reads the tier for every push of such a network (the longest video follows
it); the download step reads it only for a video larger than what every account
may post (``ProviderAdapter.max_video_bytes``), to learn whether this account may
post up to ``ProviderAdapter.video_ceiling`` (``account_cap``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.media.specs import video_spec
from app.providers.capabilities import ReadsAccountTier
from app.providers.errors import AuthExpired, ProviderError

if TYPE_CHECKING:
    from app.runtime import Runtime


def account_tier(rt: Runtime, provider: str, identity_id: int, *, strict: bool = False) -> tuple[str, dict | None]:
    """``(tier, note)``: ``"premium"`` or ``"default"``, and what the network said
    (None: it was not asked, the adapter cannot tell).

    A problem loading the identity's token raises its ProviderError (``reconnect_required``,
    ...), as does a transient refusal of the read (the caller retries). A permanent refusal
    of the read (a token without ``users.read``, ...) raises too when ``strict``; otherwise
    the tier is ``"default"``, the limits every account has."""
    adapter = rt.adapter(provider)
    if not isinstance(adapter, ReadsAccountTier):  # its limits are everyone's
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


def account_cap(rt: Runtime, provider: str, identity_id: int) -> tuple[int, str]:
    """The posting account's own video size cap: the adapter's ``video_ceiling`` for a
    premium account, its ``max_video_bytes`` otherwise; and how a refusal names it
    ("X lets this account post"). Raises ProviderError as ``account_tier(strict=True)``:
    the download retries a transient one and fails with a permanent one's reason."""
    adapter = rt.adapter(provider)
    tier, _ = account_tier(rt, provider, identity_id, strict=True)
    spec = video_spec(provider, tier)
    who = f"{spec.display} lets {spec.who or 'this account'} post" if spec else ""
    if tier == "premium" and adapter.video_ceiling:
        return max(adapter.video_ceiling, adapter.max_video_bytes), who
    return adapter.max_video_bytes, who
