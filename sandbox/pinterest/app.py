"""``create_app()``: the fake Pinterest as a Flask app (state in ``app.extensions["fake"]``)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from ..appkit import assemble_app
from . import api, control, oauth
from .errors import PinterestError
from .state import FakePinterest


def create_app(state: FakePinterest | None = None, *, client_id: str = "sandbox-client",
               client_secret: str = "sandbox-secret", processing_polls: int = 1,
               upload_ttl: int = 3600) -> Flask:
    """Build the fake Pinterest API v5 (and its upload bucket at ``POST /``).

    The keyword settings apply only when ``state`` is None.

    >>> app = create_app(); fake = app.extensions["fake"]
    >>> user = fake.add_user("1", "alice")   # tokens + a default board_id
    """
    if state is None:
        state = FakePinterest(client_id=client_id, client_secret=client_secret,
                              processing_polls=processing_polls, upload_ttl=upload_ttl)
    return assemble_app(__name__, state, [api.bp, control.bp, oauth.install], http_error=_http_error)


def _http_error(exc: HTTPException):
    """Unknown paths and wrong methods answer in Pinterest's ``{code, message}`` shape."""
    code = exc.code or 500
    return PinterestError(code, code, exc.description or exc.name).response()
