"""Stage between download and upload: make the staged video one the network takes.

Probe the staged file (``app.media.probe``), decide against the network's
limits (``app.media.specs``/``decide``), and pass it through, remux it,
transcode it, or refuse the push before any provider call. The probe, the
decision and its why, progress and the output's probe are kept in the request's
``progress["media"]`` (shown by the status API as ``media``).

Memory stays flat: FFmpeg reads the staged file from disk (a local store's own
file, or a temporary copy streamed from S3) and writes a temporary file that is
streamed into the store as a new object. The temporary folder (one per request)
is removed on success, failure, retry and interruption, and emptied first by a
redelivered task, which therefore starts clean.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from app import progress as sections
from app.logs import bind_request
from app.media import ffmpeg
from app.media.decide import decide
from app.media.encode import command
from app.media.probe import ProbeFailed, probe_video
from app.media.specs import video_spec
from app.models import PushRequest, StageAttempt, utcnow
from app.pipeline.account import account_tier
from app.pipeline.heartbeat import at_most_once_a_second, heartbeat
from app.pipeline.outcome import Retry, hold, open_stage, record_failure, retry_or_fail
from app.pipeline.restage import restage, restaged
from app.providers.errors import ProviderError
from app.sniff import SNIFF_BYTES
from app.staging.base import StagedObjectMissing
from app.states import STAGING, TRANSCODING, WAITING, end_attempt

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

PREPARED = "prepared.mp4"


class Interrupted(BaseException):
    """SIGTERM arrived while transcoding (a revoked task, a worker shutting down)."""


def work_root(settings) -> Path:
    return Path(settings.transcode_dir or os.path.join(tempfile.gettempdir(), "pushwire-transcode"))


def run_transcode(rt: Runtime, request_id: int, task_id: str | None = None, report=None) -> str:
    """Prepare the request's staged video; returns what it did.

    ``report(percent, seconds_done)`` is called as an encode advances (the
    Celery task turns it into a PROGRESS state for Flower).
    """
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id, with_for_update=True)
        if push is None or push.outcome or push.state not in (STAGING, TRANSCODING, WAITING) or not push.staged_key:
            return "skipped"
        if sections.media_done(push.progress):
            return "skipped"
        bind_request(push)
        hold(push, "transcode")  # parked (a long wait) and not due yet: wait (Retry)
        spec_provider = push.provider
        attempt = open_stage(rt, session, push, "transcode", task_id, TRANSCODING,
                             "preparing the video for the network",
                             first=push.state == STAGING and not restaged(push.progress))
        if attempt is None:
            return "failed"
        attempt_id, number = attempt.id, attempt.attempt
        token, key, fmt = push.token, push.staged_key, sections.download(push.progress)["format"]
        identity_id = push.identity_id
    workdir = work_root(rt.settings) / token
    with heartbeat(rt, attempt_id), _terminate_raises():
        shutil.rmtree(workdir, ignore_errors=True)  # a redelivery starts clean
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            return _prepare(rt, request_id, attempt_id, number, spec_provider, identity_id, token, key, fmt,
                            workdir, report)
        except Retry:
            raise
        except StagedObjectMissing:  # removed from the store under us: download it again, once
            return restage(rt, request_id, attempt_id, "transcode", key)
        except ProviderError as exc:  # reading the X account's tier
            if exc.transient:
                retry_or_fail(rt, request_id, attempt_id, number, exc.reason, exc.info, code=exc.status)
            else:
                record_failure(rt, request_id, attempt_id, reason=exc.reason, info=exc.info, code=exc.status)
                rt.store.delete(key)
            return "failed"
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def _prepare(rt: Runtime, request_id, attempt_id, number, provider, identity_id, token, key, fmt, workdir: Path,
             report) -> str:
    tier, tier_note = account_tier(rt, provider, identity_id)
    spec = video_spec(provider, tier)
    source = _local_copy(rt, key, workdir)
    with open(source, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    media: sections.Media = {"network": provider, "spec": spec.display if spec else None}
    if tier_note:
        media["account_tier"] = tier_note
    try:
        probe = probe_video(str(source), fmt, head)
    except ProbeFailed as exc:
        info = (f"The file could not be read as a {fmt or 'video'} file ({exc}); "
                "check that it plays and push it again.")
        media["decision"] = {"action": "refuse", "why": [info], "reason": "video_unreadable", "info": info}
        _save_media(rt, request_id, media)
        record_failure(rt, request_id, attempt_id, reason="video_unreadable", info=info, code=400)
        rt.store.delete(key)
        return "refused"
    media["probe"] = probe
    if spec is None:
        media["decision"] = {"action": "pass", "why": ["Pushwire prepares no files for this network"]}
        return _done(rt, request_id, attempt_id, media, None)
    decision = decide(probe, spec)
    media["decision"] = decision.as_dict()
    _save_media(rt, request_id, media)
    if decision.action == "refuse":
        record_failure(rt, request_id, attempt_id, reason=decision.reason, info=decision.info,
                       code=413 if decision.reason == "video_too_large" else 400)
        rt.store.delete(key)
        return "refused"
    if decision.action == "pass":
        return _done(rt, request_id, attempt_id, media, None)
    out = workdir / PREPARED
    s = rt.settings
    args = command(ffmpeg.demuxer_for(fmt, head), decision.plan, decision.action, str(out),
                   preset=s.transcode_preset, threads=s.transcode_threads,
                   interlaced=bool(probe["video"].get("interlaced")))
    duration = max(probe.get("duration") or 0.0, 0.001)
    limits = ffmpeg.Limits(
        cpu_seconds=int(max(60, duration * s.transcode_cpu_factor)),
        output_bytes=spec.max_bytes,
        wall_seconds=max(120.0, duration * s.transcode_cpu_factor),
    )
    started = time.monotonic()
    try:
        result = ffmpeg.run(args, str(source), cwd=str(workdir), limits=limits,
                            on_progress=_progress(rt, request_id, attempt_id, media, duration, report))
    except ffmpeg.FFmpegError as exc:
        return _encode_failed(rt, request_id, attempt_id, number, key, media, spec, exc)
    media["encode"] = {"seconds": round(time.monotonic() - started, 3), "cpu_seconds": result.cpu_seconds,
                       "encoder_peak_rss_kb": result.peak_rss_kb,
                       "args": " ".join(args[args.index("fd:") + 1:-1])}
    if source.parent == workdir:
        source.unlink(missing_ok=True)  # free the disk before the output is stored
    try:
        media["output"] = probe_video(str(out), "mpeg4")
    except ProbeFailed as exc:
        log.warning("could not probe our own output: %s", exc)
    new_key = f"{token}/prepared"
    with open(out, "rb") as fh:
        size = rt.store.write(new_key, iter(lambda: fh.read(s.staging_chunk_size), b""))
    return _done(rt, request_id, attempt_id, media, (new_key, size, key))


def _local_copy(rt: Runtime, key: str, workdir: Path) -> Path:
    """A path FFmpeg can read: the local store's own file, or a streamed copy from S3."""
    from app.staging.local import LocalStagingStore

    if isinstance(rt.store, LocalStagingStore):
        rt.store.size(key)  # StagedObjectMissing when it vanished (FFmpeg would call it unreadable)
        return Path(rt.store._path(key))
    path = workdir / "source"
    with open(path, "wb") as fh:
        for chunk in rt.store.iter_chunks(key, rt.settings.staging_chunk_size):
            fh.write(chunk)
    return path


def _progress(rt: Runtime, request_id: int, attempt_id: int, media: dict, duration: float, report):
    """Percent of the duration written to the audit (the media section and the attempt's
    proof of life, in one transaction) at most once a second."""

    def update(seconds: float) -> None:
        percent = max(0.0, min(100.0, round(100.0 * seconds / duration, 1)))
        media["percent"] = percent
        with rt.db.session() as session:
            _save_media_in(session, request_id, media)
            session.get(StageAttempt, attempt_id).progress_at = utcnow()
        if report is not None:
            report(percent, seconds)

    return at_most_once_a_second(update)


def _save_media(rt: Runtime, request_id: int, media: dict) -> None:
    with rt.db.session() as session:
        _save_media_in(session, request_id, media)


def _save_media_in(session, request_id: int, media: dict) -> None:
    push = session.get(PushRequest, request_id)
    push.progress = sections.with_section(push.progress, sections.MEDIA, dict(media))


def _done(rt: Runtime, request_id: int, attempt_id: int, media: dict, replaced: tuple | None) -> str:
    media["done"] = True
    if media.get("decision", {}).get("action") in ("remux", "transcode"):
        media["percent"] = 100.0
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        progress = sections.with_section(push.progress, sections.MEDIA, media)
        moved = push.staged_bytes
        if replaced is not None:
            new_key, size, old_key = replaced
            push.staged_key, push.staged_bytes = new_key, size
            progress = sections.with_section(progress, sections.DOWNLOAD,  # the file now staged
                                             sections.Downloaded(format="mpeg4", mime_type="video/mp4"))
            moved = size
        push.progress = progress
        end_attempt(session.get(StageAttempt, attempt_id), "succeeded", bytes_moved=moved)
    if replaced is not None:
        rt.store.delete(replaced[2])
    return media["decision"]["action"]


def _encode_failed(rt: Runtime, request_id, attempt_id, number, key, media, spec, exc: ffmpeg.FFmpegError) -> str:
    media["encode"] = {"failed": exc.why, "log": exc.log[-2000:]}
    _save_media(rt, request_id, media)
    if exc.why == "size_limit":
        info = (f"{spec.display} takes videos of at most {spec.max_bytes / 1024**3:.0f} GB; "
                "this one does not fit even after re-encoding.")
        record_failure(rt, request_id, attempt_id, reason="video_too_large", info=info, code=413)
    elif exc.why in ("cpu_limit", "timeout"):
        info = f"Preparing the video for {spec.display} took too long ({exc}); it was stopped."
        record_failure(rt, request_id, attempt_id, reason="transcode_too_slow", info=info, code=400)
    elif exc.why == "killed":
        retry_or_fail(rt, request_id, attempt_id, number, "transcode_interrupted", str(exc), code=500)
        return "failed"
    else:
        info = (f"FFmpeg could not convert this video for {spec.display}: "
                f"{(exc.log.strip().splitlines() or [str(exc)])[-1][:300]}")
        record_failure(rt, request_id, attempt_id, reason="video_unreadable", info=info, code=400)
    rt.store.delete(key)
    return "failed"


@contextmanager
def _terminate_raises():
    """While transcoding, SIGTERM (revoke with terminate, a stopping worker)
    raises Interrupted so the encoder is killed and temporary files removed;
    the previous handler comes back afterwards. Only the main thread can
    install handlers (prefork); elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except Interrupted:
        # Cleaned up (encoder killed, files removed): now die as SIGTERM meant.
        signal.signal(signal.SIGTERM, previous)
        os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
