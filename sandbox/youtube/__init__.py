"""Strict local fake of the YouTube Data API v3 (docs: docs/providers.md §5).

``create_app(state=None, *, client_id, client_secret, processing_seconds,
quota_model)`` builds the Flask app; ``FakeYouTube`` is its state and test knobs.
Run standalone with ``python -m sandbox.youtube --host 127.0.0.1 --port 8105``.
"""

from .app import create_app
from .state import FakeYouTube

__all__ = ["FakeYouTube", "create_app"]
