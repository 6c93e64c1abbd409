"""The per-process container of long-lived resources, built from settings.

The gateway keeps one in ``app.extensions["pushwire"]``; a worker process builds
one from the environment (``workers.worker``) and serves its Celery app, where
tasks find it again (``celery_app.pushwire_runtime``). Nothing here connects at
import time: every resource is built on first use.
"""

from __future__ import annotations

from functools import cached_property

from app.config import Settings
from app.crypto import TokenCipher, resolve_secret_key, secure_data_dir
from app.db import Database


class Runtime:
    def __init__(self, settings: Settings, *, adapters: dict | None = None):
        self.settings = settings
        secure_data_dir(settings)  # embedded default: var/ 0700, its files 0600 from creation
        #: provider -> adapter instance used instead of the registered class (tests:
        #: ``app.providers.fake.FakeAdapter``).
        self._adapters = dict(adapters or {})

    @cached_property
    def db(self) -> Database:
        return Database(self.settings)

    @cached_property
    def heartbeats(self):
        """The attempts running in this process and the one thread that keeps them alive."""
        from app.pipeline.heartbeat import Heartbeats

        return Heartbeats(self)

    @cached_property
    def intake(self):
        """The gateway process's group-committing intake of accepted pushes."""
        from app.push.intake import Intake

        return Intake(self, self.settings.intake_batch)

    @cached_property
    def cipher(self) -> TokenCipher:
        return TokenCipher(resolve_secret_key(self.settings.secret_key, self.settings.data_dir))

    @cached_property
    def store(self):
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

    @cached_property
    def policy(self):
        from app.net import OutboundPolicy

        s = self.settings
        return OutboundPolicy.from_setting(
            s.outbound_allow, connect_timeout=s.outbound_connect_timeout, read_timeout=s.outbound_read_timeout
        )

    @cached_property
    def limiter(self):
        from app.limits import Limiter

        return Limiter(self.settings.redis_url, prefix=f"{self.settings.broker_key_prefix}pushwire:limit:")

    @cached_property
    def celery(self):
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

    def adapter(self, provider: str):
        """A configured adapter instance for ``provider``."""
        if provider in self._adapters:
            return self._adapters[provider]
        from app.providers import adapter_class

        return adapter_class(provider).from_settings(self.settings)
