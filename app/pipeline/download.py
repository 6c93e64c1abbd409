"""Step 1, download: stream the source video into staging, checking it on the way.

Runs as task ``pushwire.download`` (formerly ``pushwire.stage``, still accepted) on
the ``staging`` queue. Its audit rows, metrics and log lines keep the name
``stage`` (``AUDIT_NAME``): the status API shows it to clients.

The download is never held in memory: chunks flow from the origin through the
checks into the staging store. Format (by container signature) and size cap are
checked while streaming, so a bad file fails after its first bytes, not after
the whole download.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable

import requests

from app import progress as sections
from app.logs import bind_request
from app.models import PushRequest, StageAttempt
from app.net import TransferTimeout, UnsafeURLError, download_seconds, download_transfer, iter_bounded, safe_get
from app.ops.metrics import BYTES_MOVED
from app.pipeline.account import account_cap
from app.pipeline.heartbeat import bytes_writer, heartbeat
from app.pipeline.outcome import hold, open_stage, record_failure, retry_or_fail
from app.pipeline.restage import download_failure
from app.providers.errors import ProviderError
from app.sniff import SNIFF_BYTES, detect_video_format, video_mime_type
from app.staging.base import StagingError
from app.states import CANCELLED, QUEUED, STAGING, WAITING, end_attempt

if TYPE_CHECKING:
    from app.runtime import Runtime

DOWNLOAD_CHUNK = 1024 * 1024
#: The step's name in ``stage_attempts.stage`` (the status API's audit), metrics and logs.
AUDIT_NAME = "stage"


def needs_download(payload: dict) -> bool:
    """Whether a push starts with this step: it names a ``video_url`` (every kind that
    takes one uploads from staging). The gateway answers such pushes at once."""
    return bool(payload.get("video_url"))


class SourceRefused(Exception):
    """A permanent problem with the source file (format, size, HTTP 4xx)."""

    def __init__(self, reason: str, info: str, code: int = 400):
        super().__init__(info)
        self.reason, self.info, self.code = reason, info, code


def run_download(rt: Runtime, request_id: int, task_id: str | None = None) -> str:
    """Download the request's ``video_url`` to staging. Returns what it did."""
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id, with_for_update=True)
        if push is None or push.state not in (QUEUED, STAGING, WAITING) or push.outcome or push.staged_key:
            return "skipped"
        bind_request(push)
        hold(push, "stage")  # parked (a long download backoff) and not due yet: wait (Retry)
        attempt = open_stage(rt, session, push, AUDIT_NAME, task_id, STAGING, "download started")
        if attempt is None:
            return "failed"
        attempt_id, number = attempt.id, attempt.attempt
        url, key = push.payload["video_url"], f"{push.token}/source"
        cap = size_cap(rt, push.provider, push.identity_id)
        progress = dict(push.progress or {})  # a re-download (restage) fails as staged_media_missing
    try:
        with heartbeat(rt, attempt_id):
            size, fmt = download(rt, url, key, cap, attempt_id)
    except (SourceRefused, UnsafeURLError) as exc:
        reason = getattr(exc, "reason", "unsafe_url")
        code = getattr(exc, "code", 400)
        info = exc.info if isinstance(exc, SourceRefused) else f"The video_url was refused: {exc}"
        reason, info = download_failure(progress, reason, info, rt)
        _finish(rt, request_id, attempt_id, reason=reason, info=info, code=code)
        return "failed"
    except ProviderError as exc:  # asking the network the account's own cap (a video past everyone's)
        rt.store.delete(key)
        reason, info = download_failure(progress, exc.reason, exc.info, rt)
        if exc.transient:
            retry_or_fail(rt, request_id, attempt_id, number, reason, info,
                          retry_after=getattr(exc, "retry_after", None), code=exc.status)
        else:
            record_failure(rt, request_id, attempt_id, reason=reason, info=info, code=exc.status)
        return "failed"
    except TransferTimeout as exc:
        info = f"Downloading the video was given up: {exc} (see the README's security section)."
        rt.store.delete(key)
        retry_or_fail(rt, request_id, attempt_id, number, *download_failure(progress, exc.reason, info, rt))
        return "failed"
    except (requests.RequestException, StagingError) as exc:
        info = f"Downloading the video failed ({type(exc).__name__}: {exc})."
        reason = getattr(exc, "reason", None) or "download_failed"
        retry_or_fail(rt, request_id, attempt_id, number, *download_failure(progress, reason, info, rt))
        rt.store.delete(key)
        return "failed"
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id, with_for_update=True)
        cancelled = push.state == CANCELLED  # cancelled while downloading (a scheduled push, say)
        if not cancelled:
            push.staged_key, push.staged_bytes = key, size
            push.progress = sections.with_section(  # the file's record, in this step's own section
                push.progress, sections.DOWNLOAD, sections.Downloaded(format=fmt, mime_type=video_mime_type(fmt)))
        end_attempt(session.get(StageAttempt, attempt_id), "cancelled" if cancelled else "succeeded",
                    bytes_moved=size)
    if cancelled:
        rt.store.delete(key)
        return "cancelled"
    BYTES_MOVED.labels(push.provider, AUDIT_NAME).inc(size)
    return "staged"


class SizeCap:
    """A download's size cap in bytes (``limit``): what every account may post on the
    network (``ProviderAdapter.max_video_bytes``). Where the cap follows the account
    (``video_ceiling``), a video past it makes ``check`` ask the account's own cap
    (``ask() -> (bytes, who)``), once, and go on up to that; no call otherwise.
    ``who`` ("X lets this account post") is then named by a refusal."""

    def __init__(self, limit: int, ceiling: int | None = None,
                 ask: Callable[[], tuple[int, str]] | None = None):
        self.limit = limit
        self.ceiling = max(limit, ceiling or 0)
        self._ask = ask if self.ceiling > limit else None
        self.who = ""
        #: Called with the bytes the account's cap added (the transfer gets time for them).
        self.on_raise: Callable[[int], None] = lambda extra: None

    def check(self, size: int, partial: bool = False) -> None:
        """Raise SourceRefused (``video_too_large``) when ``size`` bytes (``partial``: a
        count so far, no Content-Length) pass the cap; a ProviderError from ``ask``."""
        if size <= self.limit:
            return
        if self._ask is not None and size <= self.ceiling:  # past the ceiling no account may post it
            ask, self._ask = self._ask, None
            limit, self.who = ask()
            if limit > self.limit:
                self.on_raise(limit - self.limit)
                self.limit = limit
            if size <= self.limit:
                return
        # Not asked: the ceiling is what the network takes from any account.
        limit = self.ceiling if self._ask is not None else self.limit
        raise SourceRefused("video_too_large", _too_large(size, limit, partial, self.who), 413)


def size_cap(rt: Runtime, provider: str, identity_id: int) -> SizeCap:
    adapter = rt.adapter(provider)
    return SizeCap(adapter.max_video_bytes, adapter.video_ceiling,
                   ask=functools.partial(account_cap, rt, provider, identity_id))


def download(rt: Runtime, url: str, key: str, cap: SizeCap, attempt_id: int) -> tuple[int, str]:
    """Stream ``url`` into the store under ``key``; returns (bytes, format)."""
    with download_transfer(rt.settings, cap.limit) as transfer:  # bounded in time and rate
        cap.on_raise = lambda extra: transfer.extend(download_seconds(rt.settings, extra))
        resp = safe_get(url, policy=rt.policy, stream=True, transfer=transfer,
                        headers={"Accept-Encoding": "identity"})
        with resp:
            _check_response(resp, cap)
            found: dict = {}
            chunks = _checked(iter_bounded(resp, transfer, DOWNLOAD_CHUNK), cap, found)
            size = rt.store.write(key, chunks, on_progress=bytes_writer(rt, attempt_id))
    if size == 0 or "format" not in found:
        raise SourceRefused("empty_video", "The video_url returned an empty file.")
    return size, found["format"]


def _check_response(resp: requests.Response, cap: SizeCap) -> None:
    if resp.status_code in (408, 429) or resp.status_code >= 500:
        raise requests.HTTPError(f"the origin answered HTTP {resp.status_code}")
    if resp.status_code >= 400:
        raise SourceRefused(
            "source_unavailable",
            f"The video_url answered HTTP {resp.status_code}; make sure the URL is public and correct.",
        )
    length = resp.headers.get("Content-Length")
    if length and length.isdigit():
        cap.check(int(length))


def _checked(chunks, cap: SizeCap, found: dict):
    """Pass chunks through while checking the container signature and the size cap."""
    head = b""
    total = 0
    for chunk in chunks:
        if not chunk:
            continue
        total += len(chunk)
        if total > cap.limit:
            cap.check(total, partial=True)
        if "format" not in found:
            head += chunk[: SNIFF_BYTES - len(head)]
            if len(head) >= SNIFF_BYTES or total >= SNIFF_BYTES:
                _detect(head, found)
        yield chunk
    if "format" not in found and head:
        _detect(head, found)


def _detect(head: bytes, found: dict) -> None:
    fmt = detect_video_format(head)
    if fmt is None:
        raise SourceRefused(
            "unsupported_video_format",
            "The file at video_url is not a video in a supported format "
            "(3gpp, avi, flv, mov, mpeg4, mpegps, webm, wmv); the format is read from the file's content.",
        )
    found["format"] = fmt


def _too_large(size: int, cap: int, partial: bool = False, who: str = "") -> str:
    if who:  # the account's own limit, in GB as the network states it
        unit, name = (1024**3, "GB") if cap >= 1024**3 else (1024**2, "MB")
        limit = f"{cap / unit:.0f} {name}"
        return f"{who} videos of at most {limit}; this one is " + (
            f"more than {limit}." if partial else f"{size / unit:.1f} {name}.")
    mb = cap / (1024 * 1024)
    got = f"more than {cap // (1024 * 1024)} MB" if partial else f"{size / (1024 * 1024):.1f} MB"
    return f"The video is {got}; this provider accepts at most {mb:.0f} MB."


def _finish(rt: Runtime, request_id: int, attempt_id: int, *, reason: str, info: str, code: int) -> None:
    record_failure(rt, request_id, attempt_id, reason=reason, info=info, code=code)
    rt.store.delete(f"{_token(rt, request_id)}/source")


def _token(rt: Runtime, request_id: int) -> str:
    with rt.db.session() as session:
        return session.get(PushRequest, request_id).token
