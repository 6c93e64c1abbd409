"""What an adapter may do besides ``push``, as small mixins.

Not every network lets Pushwire delete what it pushed, tell whether it still
exists, or read its comments. An adapter that can inherits the mixin and
implements its method::

    class LinkedInAdapter(ProviderAdapter, Deletes, ChecksExistence): ...

Callers (the DELETE endpoint, the stream's beat checks in ``app/stream/``) ask
``isinstance(adapter, Deletes)`` before calling, so a network without the
capability is never called for it, and its token is not even loaded.
``capabilities(adapter)`` names them (``{"delete", "exists", "comments",
"account_tier"}``).
"""

from __future__ import annotations

from typing import ClassVar


class Capability:
    """Base of the capability mixins; ``capability`` is the name ``capabilities()`` lists."""

    capability: ClassVar[str]


class Deletes(Capability):
    """The network can delete a pushed object (``DELETE /push/requests/<token>.json``)."""

    capability = "delete"

    def delete(self, kind: str, provider_ids: dict, access_token: str) -> bool:
        """Delete a pushed object at the provider: True once it is gone (already gone
        included); False when this kind, or a push that published nothing, has nothing
        to delete."""
        raise NotImplementedError


class ChecksExistence(Capability):
    """The network can tell whether a pushed object still exists (the stream's ``delete``)."""

    capability = "exists"

    def exists(self, kind: str, provider_ids: dict, access_token: str) -> bool | None:
        """Whether a pushed object still exists at the provider (None: cannot tell)."""
        raise NotImplementedError


class ListsComments(Capability):
    """The network can list comments on a pushed video (the stream's ``comment``)."""

    capability = "comments"

    def list_comments(self, kind: str, provider_ids: dict, access_token: str, since: str | None = None) -> list[dict]:
        """New comments on a pushed video, oldest first, each
        ``{"id", "text", "created_at", "author": {"name", "profile_image_url", ...}}``."""
        raise NotImplementedError


class ReadsAccountTier(Capability):
    """The network's limits follow the posting account, and it can say which tier the
    account has (X: Premium posts longer and larger videos). The transcode step reads
    it for every push; the download step only for a video past ``max_video_bytes``
    (``app.pipeline.account``)."""

    capability = "account_tier"

    def account_tier(self, access_token: str) -> dict:
        """What the network states about the account's tier (X: ``subscription_type``,
        ``verified_type``); raises ProviderError when it will not say."""
        raise NotImplementedError


#: Each mixin and the method it stands for.
METHODS = {Deletes: "delete", ChecksExistence: "exists", ListsComments: "list_comments",
           ReadsAccountTier: "account_tier"}


def require_mixins(cls: type) -> None:
    """Refuse an adapter class that defines a capability's method without its mixin:
    callers would never call it (``ProviderAdapter.__init_subclass__`` runs this)."""
    for mixin, method in METHODS.items():
        if hasattr(cls, method) and not issubclass(cls, mixin):
            raise TypeError(f"{cls.__name__}.{method} is never called without the {mixin.__name__} mixin "
                            f"(app.providers.capabilities): add it to the class's bases.")


def capabilities(adapter) -> frozenset[str]:
    """The capability names of an adapter (instance or class)."""
    cls = adapter if isinstance(adapter, type) else type(adapter)
    return frozenset(base.capability for base in cls.__mro__
                     if issubclass(base, Capability) and base is not Capability and "capability" in vars(base))
