"""``create_app()``: the fake YouTube as a Flask app (state in ``app.extensions["fake"]``)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from ..appkit import assemble_app
from . import api, control, oauth, upload, videos
from .errors import YouTubeError
from .state import FakeYouTube


def create_app(state: FakeYouTube | None = None, *, client_id: str = "sandbox-client",
               client_secret: str = "sandbox-secret", processing_seconds: float = 1.0,
               quota_model: str = "current") -> Flask:
    """Build the fake YouTube Data API v3 (API, upload and token hosts on one server).

    >>> app = create_app(); fake = app.extensions["fake"]
    >>> tokens = fake.add_user("1", "alice")   # also has channel_id, playlist_id
    """
    if state is None:
        state = FakeYouTube(client_id=client_id, client_secret=client_secret,
                            processing_seconds=processing_seconds, quota_model=quota_model)
    return assemble_app(__name__, state, [upload.bp, videos.bp, api.bp, control.bp, oauth.install],
                        http_error=_http_error)


def _http_error(exc: HTTPException):
    """Unknown paths and methods answer in Google's error shape."""
    code = exc.code or 500
    reason = {404: "notFound", 405: "methodNotAllowed"}.get(code, "badRequest")
    return YouTubeError(code, reason, exc.description or exc.name, domain="global").response()
