"""``create_app()``: the fake Graph API as a Flask app (state in ``app.extensions["fake"]``)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from ..appkit import assemble_app
from ..common import DigestingRequest, MiB
from . import api, control, oauth
from .errors import GraphError
from .state import FakeFacebook


class GraphRequest(DigestingRequest):
    """Keeps whole transfer windows (up to 8 MiB) so the fake can hash the file in order."""

    sink_keep = 9 * MiB


def create_app(state: FakeFacebook | None = None, *, processing_polls: int = 1,
               windows: tuple[int, ...] = (1 * MiB, 3 * MiB, 2 * MiB), **kwargs) -> Flask:
    """Build the fake. Keyword settings apply only when ``state`` is None.

    >>> app = create_app(); fake = app.extensions["fake"]
    >>> user = fake.add_user("1", "alice")  # user token + one Page: user["page_id"]
    """
    if state is None:
        state = FakeFacebook(processing_polls=processing_polls, windows=windows, **kwargs)
    # oauth before api.bp: /<version>/dialog/oauth beats /<version>/<node>/<edge>
    return assemble_app(__name__, state, [control.bp, oauth.install, api.bp], http_error=_http_error,
                        request_class=GraphRequest)


def _http_error(exc: HTTPException):
    """Unknown paths and methods answer in the Graph error shape."""
    return GraphError(2500, f"Unknown path components: {exc.description}", status=exc.code or 400).response()
