"""Strict local fake of the Facebook Graph API (docs: docs/providers.md §2, §6).

``create_app(state=None, *, processing_polls, windows)`` builds the Flask app serving
both hosts' paths (graph. and graph-video.); ``FakeFacebook`` is its state and knobs.
Run standalone with ``python -m sandbox.facebook --host 127.0.0.1 --port 8102``.
"""

from .app import create_app
from .state import FakeFacebook

__all__ = ["FakeFacebook", "create_app"]
