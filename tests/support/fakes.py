"""Every sandbox provider fake, started once per test session on loopback.

Each fake module exposes ``create_app()`` (fast, test-friendly defaults) whose
state object is ``app.extensions["fake"]`` with ``add_user(user_id, username)``
returning at least ``access_token``, ``refresh_token`` and ``expires_in``.
"""

from __future__ import annotations

import os

from sandbox import fleet
from sandbox.fleet import AUTHORIZE_PATHS, FAKE_MODULES, provider_env  # noqa: F401  (re-exported)

CREATE_KWARGS = {"twitter": {"check_after_secs": 1, "processing_polls": 2}}


def start_fakes() -> dict:
    """Start the fakes; provider -> ServerHandle (with .state).

    ``PUSHWIRE_TEST_FAKES=twitter,youtube`` limits a local run to some providers.
    """
    only = [p for p in os.environ.get("PUSHWIRE_TEST_FAKES", "").split(",") if p]
    return fleet.start_fakes(only=only or None, kwargs=CREATE_KWARGS)


def served(app):
    """Serve one fake app for a fixture: ``yield from served(create_app())`` gives a
    ServerHandle whose ``.state`` is the fake's knobs, stopped when the fixture ends."""
    handle = fleet.serve(app)
    handle.state = app.extensions["fake"]
    yield handle
    handle.stop()
