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

``RecordingHooks`` is the stage's side for an adapter run on its own (a
``PushContext``'s required ``hooks``): it records what the adapter saved and
reported, and answers ``download`` and ``sleep`` as a test scripts them.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Iterable, Union

from app.progress import ProviderState
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


@dataclass
class RecordingHooks:
    """A ``PushHooks`` that records: each saved section (a deep copy, as it was when
    saved), each byte count reported, each processing mark, each sleep and download.

    ``fetch(url, max_bytes) -> (bytes, format)`` answers ``download`` (without one a
    download fails the test); ``wait(seconds)`` runs after a sleep is recorded (a
    fake clock's ``advance``, say; without one a sleep returns at once).
    """

    fetch: Callable[[str, int], tuple[bytes, str]] | None = None
    wait: Callable[[float], object] | None = None
    saved: list[ProviderState] = field(default_factory=list)
    reported: list[int] = field(default_factory=list)
    processing: int = 0  # mark_processing calls
    slept: list[float] = field(default_factory=list)
    fetched: list[tuple[str, int]] = field(default_factory=list)

    def save_progress(self, progress: ProviderState) -> None:
        self.saved.append(copy.deepcopy(progress))

    def report_bytes(self, total: int) -> None:
        self.reported.append(total)

    def mark_processing(self) -> None:
        self.processing += 1

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.wait is not None:
            self.wait(seconds)

    def download(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        self.fetched.append((url, max_bytes))
        if self.fetch is None:
            raise AssertionError(f"the adapter downloaded {url}, and no fetch was given to RecordingHooks")
        return self.fetch(url, max_bytes)
