"""``FakeAdapter``: a scripted adapter beside the base class, with no network at all.

Like httpx's ``MockTransport`` beside its real transports, it lets the pipeline
(``app/pipeline``, ``app/states.py``) be exercised on its own: give a ``Runtime`` a
fake for a provider (``Runtime(settings, adapters={"twitter": FakeAdapter()})``) and
script what each ``push`` does. It is not in ``REGISTRY``: no setting selects it.

Each scripted step is one call of ``push``: a ``PushOutcome`` to return, an
exception to raise (``TransientError``, ``OutcomeUnknown``, ...), or a callable
``step(ctx)`` doing either. Without a step, ``push`` does what a real adapter
does: reads the staged file (reporting bytes), marks processing, and publishes
once through ``publish_once`` (the id saved with the success, as adapters do).
"""

from __future__ import annotations

import itertools
from typing import Callable, ClassVar, Iterable, Union

from app.providers.base import ProviderAdapter, PushContext, PushOutcome, TokenSet, publish_once

Step = Union[PushOutcome, BaseException, Callable[[PushContext], PushOutcome]]


class FakeAdapter(ProviderAdapter):
    name: ClassVar[str] = "fake"
    staged_kinds: ClassVar[frozenset[str]] = frozenset({"video"})

    def __init__(self, script: Iterable[Step] = (), *, max_video_bytes: int = 64 * 1024 * 1024,
                 video_ceiling: int | None = None):
        super().__init__("http://fake.invalid")
        self.script: list[Step] = list(script)
        self.max_video_bytes = max_video_bytes
        self.video_ceiling = video_ceiling
        self.calls: list[PushContext] = []  # every push, in order
        self.published: list[str] = []  # every id a publish step created
        self.refreshed: list[str] = []  # refresh tokens spent
        self._ids = itertools.count(1000)

    def push(self, ctx: PushContext) -> PushOutcome:
        self.calls.append(ctx)
        step = self.script.pop(0) if self.script else self.publish
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, PushOutcome):
            return step
        return step(ctx)

    def publish(self, ctx: PushContext) -> PushOutcome:
        """The default step: upload what is staged, then publish once."""
        if ctx.staged is not None:
            total = 0
            for chunk in ctx.staged.store.iter_chunks(ctx.staged.key, 64 * 1024):
                total += len(chunk)
                ctx.report_bytes(total)
            ctx.mark_processing()
        post_id = publish_once(ctx, "post_id", self._create, "fake", last=True)
        obj = "video" if ctx.staged is not None else "post"
        return PushOutcome({"post_id": post_id}, {"provider": "fake", "object": obj, "post_id": post_id})

    def _create(self) -> str:
        created = str(next(self._ids))
        self.published.append(created)
        return created

    def refresh(self, refresh_token: str) -> TokenSet:
        self.refreshed.append(refresh_token)
        return TokenSet(f"fresh-{len(self.refreshed)}", refresh_token)
