"""Strict local fake of the Pinterest API v5 (docs: docs/providers.md §4).

``create_app(state=None, *, client_id, client_secret, processing_polls, upload_ttl)``
builds the Flask app; ``FakePinterest`` is its state and test knobs. The API
(``/v5/...``) and the media-upload bucket (``POST /``) share one server.
Run standalone with ``python -m sandbox.pinterest --host 127.0.0.1 --port 8104``.
"""

from .app import create_app
from .state import FakePinterest

__all__ = ["FakePinterest", "create_app"]
