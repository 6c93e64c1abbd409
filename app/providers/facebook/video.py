"""Facebook video: the chunked ``upload_phase`` protocol (on graph.facebook.com, like
every call), the status poll, and comments (docs/providers.md §2.4, §2.5).

Progress lives in ``ctx.progress["upload"]`` (target, video id, session id and
the server's current window) and is saved after every acknowledged window, so a
re-run resumes where Facebook stopped; if Facebook committed more than we knew
(a reset after commit), its 1363037 answer carries the offsets to resume from.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time

from app.providers.base import PushContext, PushOutcome
from app.providers.errors import InvalidInput, OutcomeUnknown, ProcessingFailed, TransientError
from app.providers.facebook.errors import RESYNC_SUBCODE

WEB = "https://www.facebook.com"
MAX_RESYNCS = 5


def push_video(adapter, ctx: PushContext, target: str, token: str, ids: dict) -> PushOutcome:
    """Upload ``ctx.staged`` to ``/{target}/videos``, finish, poll until ready."""
    up = ctx.progress.get("upload") or {}
    if up.get("target") != target or not up.get("upload_session_id"):
        up = _start(adapter, ctx, target, token)
    if not up.get("finished"):
        _transfer_all(adapter, ctx, up, token)
        _finish(adapter, ctx, up, token)
    ctx.mark_processing()
    info = _wait_ready(adapter, ctx, up["video_id"], token)
    video_id = up["video_id"]
    permalink = info.get("permalink_url") or f"/{target}/videos/{video_id}/"
    data = {"provider": "facebook", "object": "video", "video_id": video_id,
            "url": permalink if permalink.startswith("http") else WEB + permalink,
            "date_creation": email_date(up.get("created"))}
    if info.get("picture"):
        data["thumbnail_url"] = info["picture"]
    return PushOutcome({"video_id": video_id, **ids}, data)


def email_date(ts: float | None) -> str:
    return email.utils.formatdate(ts or time.time(), localtime=False)


def _save(ctx: PushContext, up: dict) -> None:
    ctx.progress["upload"] = up
    ctx.save_progress(ctx.progress)


def _start(adapter, ctx: PushContext, target: str, token: str) -> dict:
    body = adapter.graph("POST", f"/{target}/videos", token, ctx.kind,
                         data={"upload_phase": "start", "file_size": str(ctx.staged.size)})
    up = {"target": target, "video_id": str(body["video_id"]), "upload_session_id": str(body["upload_session_id"]),
          "start_offset": int(body["start_offset"]), "end_offset": int(body["end_offset"]), "created": time.time()}
    _save(ctx, up)
    return up


def _transfer_all(adapter, ctx: PushContext, up: dict, token: str) -> None:
    """Send each server-chosen window ``[start_offset, end_offset)`` until they meet."""
    staged, resyncs = ctx.staged, 0
    while up["start_offset"] < up["end_offset"]:
        start, end = up["start_offset"], up["end_offset"]
        chunk = staged.read(start, end - start)
        try:
            body = adapter.graph(
                "POST", f"/{up['target']}/videos", token, ctx.kind,
                data={"upload_phase": "transfer", "upload_session_id": up["upload_session_id"],
                      "start_offset": str(start)},
                files={"video_file_chunk": ("chunk", chunk, "application/octet-stream")})
        except InvalidInput as exc:
            body = (exc.details.get("error_data") or {}) if exc.details.get("error_subcode") == RESYNC_SUBCODE else None
            resyncs += 1
            if not body or resyncs > MAX_RESYNCS:
                raise
        up["start_offset"], up["end_offset"] = int(body["start_offset"]), int(body["end_offset"])
        _save(ctx, up)
        ctx.report_bytes(up["start_offset"])


def _finish(adapter, ctx: PushContext, up: dict, token: str) -> None:
    """``upload_phase=finish`` (the publish step). If its answer is lost, ask Facebook
    whether the upload was completed before calling it unknown."""
    p = ctx.payload
    form = {"upload_phase": "finish", "upload_session_id": up["upload_session_id"]}
    form.update({k: p[k] for k in ("title", "description") if p.get(k)})
    if not p.get("create_post", True):
        form["no_story"] = "true"
    if not (up.get("finishing") and _finished_at_provider(adapter, ctx, up["video_id"], token)):
        up["finishing"] = True
        _save(ctx, up)
        try:
            adapter.graph("POST", f"/{up['target']}/videos", token, ctx.kind, data=form,
                          publish=True)
        except OutcomeUnknown:
            if not _finished_at_provider(adapter, ctx, up["video_id"], token):
                raise
    up["finished"] = True
    _save(ctx, up)


#: ``publishing_phase.status`` values that prove ``finish`` ran (the upload phase
#: being complete only proves that every byte arrived).
FINISHED_PHASES = frozenset({"in_progress", "complete"})
PHASES = ("uploading_phase", "processing_phase", "publishing_phase")


def _finished_at_provider(adapter, ctx: PushContext, video_id: str, token: str) -> bool:
    """Whether ``finish`` reached Facebook: its ``publishing_phase`` started (a complete
    ``uploading_phase`` does not prove it: the bytes can all be there without a finish)."""
    try:
        body = adapter.graph("GET", f"/{video_id}?fields=status", token, ctx.kind)
    except TransientError:
        return False
    status = body.get("status") or {}
    phase = status.get("publishing_phase") or {}
    return phase.get("status") in FINISHED_PHASES or phase.get("publish_status") in ("published", "scheduled")


def _wait_ready(adapter, ctx: PushContext, video_id: str, token: str) -> dict:
    """Poll ``GET /{video_id}?fields=status,...`` until ``video_status`` is ready.

    Facebook reports intermediate values besides ``processing`` (``upload_complete``
    and others): only ``error``, or a phase whose status is ``error``, is a failure.
    """
    delay, deadline = 1.0, time.monotonic() + adapter.processing_timeout
    while True:
        body = adapter.graph("GET", f"/{video_id}?fields=status,permalink_url,picture", token, ctx.kind)
        status = body.get("status") or {}
        state = status.get("video_status")
        if state == "ready":
            return body
        failed = [name for name in PHASES if (status.get(name) or {}).get("status") == "error"]
        if state == "error" or failed:
            errors = [e for name in PHASES for e in ((status.get(name) or {}).get("errors") or [])]
            why = "; ".join(str(e.get("message")) for e in errors) or (
                f"the {failed[0].replace('_', ' ')} failed" if failed else "video status error")
            raise ProcessingFailed(f"Facebook could not process the video: {why}. Check the file (codec, "
                                   "length) and push it again.",
                                   reason="video_processing_failed", details={"status": status})
        if time.monotonic() > deadline:
            raise TransientError("Facebook is still processing the video; checking again later.",
                                 reason="processing_timeout")
        ctx.sleep(delay)
        delay = min(delay * 2, adapter.poll_max)


def list_comments(adapter, kind: str, provider_ids: dict, token: str, since: str | None) -> list[dict]:
    """All comments on the video (``filter=stream``, chronological, cursor paging), oldest first."""
    video_id = provider_ids.get("video_id")
    if not video_id:
        return []
    path: str | None = (f"/{video_id}/comments?fields=id,message,created_time,from{{id,name,picture}}"
                        "&filter=stream&order=chronological&limit=100")
    cutoff = _parse_time(since) if since else None
    out: list[dict] = []
    while path:
        body = adapter.graph("GET", path, token, kind)
        for c in body.get("data", []):
            created = _parse_time(c.get("created_time"))
            if cutoff is not None and created is not None and created <= cutoff:
                continue
            author = c.get("from") or {}
            # Only the picture URL Graph returns: /{id}/picture answers nothing without a token.
            picture = ((author.get("picture") or {}).get("data") or {}).get("url")
            out.append({"id": c.get("id"), "text": c.get("message", ""), "created_at": c.get("created_time"),
                        "author": {"name": author.get("name") or "Facebook user", "id": author.get("id"),
                                   "profile_image_url": picture}})
        path = (body.get("paging") or {}).get("next")
    return out


def _parse_time(value: str | None) -> dt.datetime | None:
    """Graph's ``2024-01-01T12:00:00+0000`` (or any ISO 8601) as an aware datetime."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("+0000", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
