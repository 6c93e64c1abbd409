"""``create_app()``: the fake Graph API as a Flask app (state in ``app.extensions["fake"]``)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from ..common import DigestingRequest, MiB, install_sandbox
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
    app = Flask(__name__, static_folder=None)
    install_sandbox(app, state)
    app.request_class = GraphRequest
    app.register_blueprint(control.bp)
    oauth.install(app, state)  # before api.bp: /<version>/dialog/oauth beats /<version>/<node>/<edge>
    app.register_blueprint(api.bp)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _http_error(exc: HTTPException):
    """Unknown paths and methods answer in the Graph error shape."""
    return GraphError(2500, f"Unknown path components: {exc.description}", status=exc.code or 400).response()
