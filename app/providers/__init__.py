"""Provider adapters: one module per network, all listed in ``REGISTRY``."""

from __future__ import annotations

from app.providers.base import ProviderAdapter
from app.providers.twitter import TwitterAdapter

REGISTRY: dict[str, type[ProviderAdapter]] = {
    "twitter": TwitterAdapter,
}


def adapter_class(provider: str) -> type[ProviderAdapter]:
    """The adapter class registered for ``provider`` (KeyError if none)."""
    return REGISTRY[provider]
