"""Strict local fake of the X (Twitter) API v2 (docs: docs/providers.md §1).

``create_app(state=None, *, client_id, client_secret, processing_polls,
check_after_secs)`` builds the Flask app; ``FakeX`` is its state and test knobs.
Run standalone with ``python -m sandbox.twitter --host 127.0.0.1 --port 8101``.
"""

from .app import create_app
from .state import FakeX

__all__ = ["FakeX", "create_app"]
