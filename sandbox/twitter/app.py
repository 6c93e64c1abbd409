"""``create_app()``: the fake X as a Flask app (state in ``app.extensions["fake"]``)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException, NotFound

from ..appkit import assemble_app
from . import api, control, oauth, problems
from .state import FakeX


def create_app(
    state: FakeX | None = None,
    *,
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",
    processing_polls: int = 2,
    check_after_secs: int = 1,
) -> Flask:
    """Build the fake X API v2. The keyword settings apply only when ``state`` is None.

    >>> app = create_app(check_after_secs=0); fake = app.extensions["fake"]
    >>> tokens = fake.add_user("1", "alice")
    """
    if state is None:
        state = FakeX(
            client_id=client_id,
            client_secret=client_secret,
            processing_polls=processing_polls,
            check_after_secs=check_after_secs,
        )
    return assemble_app(__name__, state, [api.bp, control.bp, oauth.install], http_error=_http_error)


def _http_error(exc: HTTPException):
    """Unknown paths answer as X does; other HTTP errors as problem JSON."""
    if isinstance(exc, NotFound):
        return problems.route_not_found().response()
    code = exc.code or 500
    body = {"title": exc.name, "detail": exc.description, "type": "about:blank", "status": code}
    return problems.XProblem(code, body).response()
