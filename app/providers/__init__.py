"""Provider adapters: one package per network, all listed in ``REGISTRY``.

Entries are import paths so that loading one adapter never imports the others.
"""

from __future__ import annotations

import importlib

from app.providers.base import ProviderAdapter

REGISTRY: dict[str, str] = {
    "facebook": "app.providers.facebook:FacebookAdapter",
    "linkedin": "app.providers.linkedin:LinkedInAdapter",
    "pinterest": "app.providers.pinterest:PinterestAdapter",
    "twitter": "app.providers.twitter:TwitterAdapter",
    "youtube": "app.providers.youtube:YouTubeAdapter",
}


def adapter_class(provider: str) -> type[ProviderAdapter]:
    """The adapter class registered for ``provider`` (KeyError if none)."""
    module, _, name = REGISTRY[provider].partition(":")
    return getattr(importlib.import_module(module), name)
