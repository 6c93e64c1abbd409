"""Strict local fake of LinkedIn's Posts and Images APIs (docs: docs/providers.md §3).

``create_app(state=None, *, client_id, client_secret, partner, image_processing_secs)``
builds the Flask app; ``FakeLinkedIn`` is its state and test knobs. One server
answers for every LinkedIn host: ``api.linkedin.com`` (``/rest/...``, ``/v2/...``),
``www.linkedin.com`` (``/oauth/v2/accessToken``) and the upload host
(``/dms-uploads/...``). Run standalone with ``python -m sandbox.linkedin --port 8103``.
"""

from .app import create_app
from .state import FakeLinkedIn

__all__ = ["FakeLinkedIn", "create_app"]
