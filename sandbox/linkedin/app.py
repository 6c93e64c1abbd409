"""``create_app()``: the fake LinkedIn as a Flask app (state in ``app.extensions["fake"]``)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from ..appkit import assemble_app
from . import api, control, oauth
from .errors import LinkedInError
from .state import FakeLinkedIn


def create_app(
    state: FakeLinkedIn | None = None,
    *,
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",
    partner: bool = True,
    image_processing_secs: float = 0.0,
) -> Flask:
    """Build the fake. The keyword settings apply only when ``state`` is None.

    >>> app = create_app(); fake = app.extensions["fake"]
    >>> user = fake.add_user("abc123", "alice")   # tokens + a default organization_id
    """
    if state is None:
        state = FakeLinkedIn(
            client_id=client_id,
            client_secret=client_secret,
            partner=partner,
            image_processing_secs=image_processing_secs,
        )
    return assemble_app(__name__, state, [api.bp, control.bp, oauth.install], http_error=_http_error)


def _http_error(exc: HTTPException):
    """Unknown paths and methods answer in LinkedIn's error shape."""
    code = exc.code or 500
    return LinkedInError(code, exc.name, code=exc.name.upper().replace(" ", "_")).response()
