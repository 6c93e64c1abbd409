"""videos.insert over YouTube's resumable protocol (reference §5.2).

``ResumableUpload(adapter, ctx).run()`` returns the ``youtube#video`` resource.
The session URI is saved in ``ctx.progress`` before any byte is sent; a
redelivered task, or any network fault, first asks the session how much it
committed (``Content-Range: bytes */total``) and continues from there, so no
byte range is sent twice beyond an interruption. The final chunk is the publish
step: when its answer is lost, the status query decides (200/201 = done).
A 308 here means "resume incomplete", never a redirect: requests must not follow
its ``Location`` (that is the session's new URI for the next chunk). Every PUT
carries a fresh token from ``ctx.tokens``: a 401 on a chunk (nothing committed)
refreshes it and sends the chunk again, so an upload outlives any number of
hour-long Google tokens.
"""

from __future__ import annotations

import json

import requests

from app.providers.base import PushContext
from app.providers.errors import OutcomeUnknown, TransientError
from app.providers.youtube.errors import translate

QUANTUM = 256 * 1024
#: Network faults one task survives in place before it gives up and is retried.
MAX_RECOVERIES = 5
MAX_NEW_SESSIONS = 3


def clamp_chunk(size: int) -> int:
    """A chunk size YouTube accepts: a positive multiple of 256 KiB."""
    return max(QUANTUM, size // QUANTUM * QUANTUM)


class ResumableUpload:
    """One video's upload; state lives in ``ctx.progress`` (``session_uri``, ``session_total``)."""

    def __init__(self, adapter, ctx: PushContext):
        self.adapter, self.ctx = adapter, ctx
        self.staged = ctx.staged
        self.total = ctx.staged.size
        self.chunk = clamp_chunk(adapter.chunk_size)
        self.tokens = ctx.tokens  # every PUT asks it for a fresh token, refreshed on a 401
        self.recoveries = 0

    @property
    def uri(self) -> str:
        return self.ctx.progress["session_uri"]

    def run(self) -> dict:
        progress = self.ctx.progress
        state: int | dict | None = None
        if progress.get("session_uri") and progress.get("session_total") == self.total:
            state = self.query(publish=False)
        sessions = 0
        while not isinstance(state, dict):
            if state is None:  # no session yet, or YouTube forgot it (404/410)
                sessions += 1
                if sessions > MAX_NEW_SESSIONS:
                    raise TransientError("YouTube keeps losing the upload session; the upload will be retried.",
                                         reason="upload_session_lost")
                self.open()
                state = 0
            state = self.send_chunk(state)
        return state

    # -- protocol steps -------------------------------------------------------
    def open(self) -> None:
        """Step 1: open a session and remember its URI before sending bytes."""
        body = json.dumps(self.metadata()).encode()
        resp = self.adapter.request(
            "POST", "/upload/youtube/v3/videos", params={"uploadType": "resumable", "part": "snippet,status"},
            tokens=self.tokens, data=body, headers={"Content-Type": "application/json; charset=UTF-8",
                                "X-Upload-Content-Length": str(self.total),
                                "X-Upload-Content-Type": self.staged.mime_type or "video/*"},
        )
        if resp.status_code != 200:
            raise translate(resp, "the upload")
        location = resp.headers.get("Location")
        if not location:
            raise TransientError("YouTube opened no upload session (no Location); retrying.", reason="no_session")
        self._remember(location)

    def metadata(self) -> dict:
        payload = self.ctx.payload
        snippet = {"title": payload["title"]}
        for ours, theirs in (("description", "description"), ("tags", "tags"), ("category_id", "categoryId")):
            if payload.get(ours) is not None:
                snippet[theirs] = payload[ours]
        return {"snippet": snippet, "status": {"privacyStatus": payload.get("privacy_status") or "private"}}

    def send_chunk(self, offset: int) -> int | dict | None:
        """Step 2: PUT one chunk from ``offset``; returns the next state."""
        length = min(self.chunk, self.total - offset)
        final = offset + length == self.total
        data = self.staged.read(offset, length)
        headers = {"Content-Type": self.staged.mime_type or "video/*",
                   "Content-Range": f"bytes {offset}-{offset + length - 1}/{self.total}"}
        try:
            resp = self.adapter.request("PUT", self.uri, publish=final, data=data, headers=headers,
                                        allow_redirects=False, tokens=self.tokens)
        except (TransientError, OutcomeUnknown) as exc:
            return self._recover(final, exc)
        if final and resp.status_code >= 500:  # the publish step's outcome is unknown: ask first
            return self._recover(final, translate(resp, "the upload"))
        return self.interpret(resp)

    def query(self, publish: bool) -> int | dict | None:
        """Step 3: ask the session how much it has; after a lost publish, a fault is fatal."""
        headers = {"Content-Range": f"bytes */{self.total}"}
        try:
            resp = self.adapter.request("PUT", self.uri, data=b"", headers=headers, allow_redirects=False,
                                        tokens=self.tokens)
        except TransientError as exc:
            if publish:
                raise self._unknown() from exc
            raise
        if publish and resp.status_code >= 500:
            raise self._unknown()
        return self.interpret(resp)

    def interpret(self, resp: requests.Response) -> int | dict | None:
        """308 -> next offset; 200/201 -> the video; 404/410 -> None (session gone)."""
        if resp.status_code == 308:
            if resp.headers.get("Location"):
                self._remember(resp.headers["Location"])
            committed = _committed(resp.headers.get("Range"))
            self.ctx.report_bytes(committed)
            return committed
        if resp.status_code in (200, 201):
            return resp.json()
        if resp.status_code in (404, 410):
            self.ctx.progress.pop("session_uri", None)
            return None
        raise translate(resp, "the upload")

    # -- helpers ---------------------------------------------------------------
    def _recover(self, final: bool, exc: Exception) -> int | dict | None:
        self.recoveries += 1
        if self.recoveries > MAX_RECOVERIES:
            if final:
                raise self._unknown() from exc
            raise exc
        return self.query(publish=final)

    def _remember(self, uri: str) -> None:
        self.ctx.progress.update(session_uri=uri, session_total=self.total)
        self.ctx.save_progress(self.ctx.progress)

    def _unknown(self) -> OutcomeUnknown:
        return OutcomeUnknown("YouTube did not confirm the last chunk of the upload and could not be asked "
                              "whether the video was created; check the channel before pushing again.",
                              details={"session_uri": self.ctx.progress.get("session_uri")})


def _committed(header: str | None) -> int:
    """Bytes committed per a 308's ``Range: bytes=0-N`` (none without the header)."""
    if not header or "-" not in header:
        return 0
    return int(header.rsplit("-", 1)[1]) + 1
