"""The per-process container of long-lived resources, built from settings.

The gateway keeps one in ``app.extensions["pushwire"]``; a worker process builds
one from the environment (``workers.worker``) and serves its Celery app, where
tasks find it again (``celery_app.pushwire_runtime``). Nothing here connects at
import time: every resource is built on first use, once (under a lock: a gateway
process serves many threads).

Everything a process keeps between requests or tasks lives here, never in module
globals: the database pools, the staging store, the Celery app, the rate limiter,
the remembered callers of the push endpoints (``auth_cache``), the stream event
publisher, the stream hub and limiter, the heartbeat thread and the intake thread.
Two runtimes in one process (tests) share nothing.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from app.config import Settings
from app.crypto import TokenCipher, resolve_secret_key, secure_data_dir
from app.db import Database

if TYPE_CHECKING:
    from celery import Celery

    from app.api.auth import CallerCache
    from app.events import Publisher
    from app.limits import Limiter
    from app.net import OutboundPolicy
    from app.pipeline.heartbeat import Heartbeats
    from app.providers.base import ProviderAdapter
    from app.push.intake import Intake
    from app.staging.base import StagingStore
    from app.stream.services import StreamServices

T = TypeVar("T")


class _built_once(cached_property, Generic[T]):
    """``cached_property`` whose first build runs under the runtime's lock, so threads
    racing on first use share one resource (one intake thread, one hub)."""

    def __init__(self, func: Callable[[Any], T]):
        super().__init__(func)

    def __get__(self, instance, owner=None) -> T:
        if instance is None:
            return self  # type: ignore[return-value]
        try:
            return instance.__dict__[self.attrname]
        except KeyError:
            with instance._lock:
                return super().__get__(instance, owner)


class Runtime:
    def __init__(self, settings: Settings, *, adapters: dict[str, ProviderAdapter] | None = None):
        self.settings = settings
        secure_data_dir(settings)  # embedded default: var/ 0700, its files 0600 from creation
        #: provider -> adapter instance used instead of the registered class (tests:
        #: ``app.providers.fake.FakeAdapter``).
        self._adapters = dict(adapters or {})
        self._lock = threading.RLock()

    @_built_once
    def db(self) -> Database:
        return Database(self.settings)

    @_built_once
    def heartbeats(self) -> Heartbeats:
        """The attempts running in this process and the one thread that keeps them alive."""
        from app.pipeline.heartbeat import Heartbeats

        return Heartbeats(self)

    @_built_once
    def intake(self) -> Intake:
        """The gateway process's group-committing intake of accepted pushes."""
        from app.push.intake import Intake

        return Intake(self, self.settings.intake_batch)

    @_built_once
    def cipher(self) -> TokenCipher:
        return TokenCipher(resolve_secret_key(self.settings.secret_key, self.settings.data_dir))

    @_built_once
    def store(self) -> StagingStore:
        from app.staging import open_store

        s = self.settings
        return open_store(
            s.resolved_staging_url(),
            s3_endpoint_url=s.s3_endpoint_url,
            s3_region=s.s3_region,
            s3_access_key_id=s.s3_access_key_id,
            s3_secret_access_key=s.s3_secret_access_key,
            chunk_size=s.staging_chunk_size,
            create_bucket=s.s3_create_bucket,
        )

    @_built_once
    def policy(self) -> OutboundPolicy:
        from app.net import OutboundPolicy

        s = self.settings
        return OutboundPolicy.from_setting(
            s.outbound_allow, connect_timeout=s.outbound_connect_timeout, read_timeout=s.outbound_read_timeout
        )

    @_built_once
    def limiter(self) -> Limiter:
        from app.limits import Limiter

        return Limiter(self.settings.redis_url, prefix=f"{self.settings.broker_key_prefix}pushwire:limit:")

    @_built_once
    def auth_cache(self) -> CallerCache:
        """Push callers verified in the last ``PUSHWIRE_AUTH_CACHE_SECONDS`` (``app.api.auth``)."""
        from app.api.auth import CallerCache

        return CallerCache()

    @_built_once
    def publisher(self) -> Publisher | None:
        """Publishes committed stream events on Redis (None without ``PUSHWIRE_REDIS_URL``)."""
        from app.events import Publisher

        return Publisher(self.settings.redis_url) if self.settings.redis_url else None

    @_built_once
    def stream(self) -> StreamServices:
        """The gateway process's stream hub and connection limiter (first stream request)."""
        from app.stream.services import open_stream_services

        return open_stream_services(self)

    @_built_once
    def celery(self) -> Celery:
        """This runtime's Celery app (``app.broker.factory``): the gateway publishes
        through it, a worker process serves it."""
        from app.broker.factory import make_celery

        return make_celery(self)

    def enqueue(self, request_id: int, *, staged: bool, callback: bool = True, mark_enqueued: bool = False) -> bool:
        """Publish the task chain of a committed request; False (and ``enqueued_at``
        cleared for the sweeper) when the broker did not take it."""
        from app.broker.publish import enqueue_push

        return enqueue_push(self, request_id, staged, mark_enqueued=mark_enqueued, callback=callback)

    def enqueue_callback(self, request_id: int, countdown: float = 0) -> None:
        """Publish one delivery attempt of a request's callback."""
        from app.broker.publish import enqueue_callback

        enqueue_callback(self, request_id, countdown)

    def close(self) -> None:
        """Release pooled connections (CLI commands, tests)."""
        if "db" in self.__dict__:
            self.db.engine.dispose()

    def adapter(self, provider: str) -> ProviderAdapter:
        """A configured adapter instance for ``provider``."""
        if provider in self._adapters:
            return self._adapters[provider]
        from app.providers import adapter_class

        return adapter_class(provider).from_settings(self.settings)
