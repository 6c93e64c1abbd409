"""Every sandbox provider fake, started once per test session on loopback.

Each fake module exposes ``create_app()`` (fast, test-friendly defaults) whose
state object is ``app.extensions["fake"]`` with ``add_user(user_id, username)``
returning at least ``access_token``, ``refresh_token`` and ``expires_in``.
"""

from __future__ import annotations

import importlib
import os

from sandbox.common import serve

FAKE_MODULES = {
    "twitter": "sandbox.twitter",
    "facebook": "sandbox.facebook",
    "linkedin": "sandbox.linkedin",
    "pinterest": "sandbox.pinterest",
    "youtube": "sandbox.youtube",
}

CREATE_KWARGS = {"twitter": {"check_after_secs": 1, "processing_polls": 2}}


def start_fakes() -> dict:
    """Start each fake whose module exists; returns provider -> ServerHandle (with .state).

    ``PUSHWIRE_TEST_FAKES=twitter,youtube`` limits a local run to some providers.
    """
    handles = {}
    only = [p for p in os.environ.get("PUSHWIRE_TEST_FAKES", "").split(",") if p]
    for provider, module_name in FAKE_MODULES.items():
        if only and provider not in only:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # that provider's fake is not written yet
        app = module.create_app(**CREATE_KWARGS.get(provider, {}))
        handle = serve(app)
        handle.state = app.extensions["fake"]
        handles[provider] = handle
    return handles


def provider_env(handles: dict) -> dict[str, str]:
    """PUSHWIRE_* variables pointing every provider setting at its fake."""
    env = {}
    for provider, handle in handles.items():
        upper = provider.upper()
        env[f"PUSHWIRE_{upper}_API_URL"] = handle.url
        env[f"PUSHWIRE_{upper}_CLIENT_ID"] = "sandbox-client"
        env[f"PUSHWIRE_{upper}_CLIENT_SECRET"] = "sandbox-secret"
    if "facebook" in handles:
        env["PUSHWIRE_FACEBOOK_VIDEO_API_URL"] = handles["facebook"].url
        env["PUSHWIRE_FACEBOOK_APP_ID"] = "sandbox-app"
    if "linkedin" in handles:
        env["PUSHWIRE_LINKEDIN_OAUTH_URL"] = handles["linkedin"].url
    if "youtube" in handles:
        env["PUSHWIRE_YOUTUBE_TOKEN_URL"] = handles["youtube"].url + "/token"
    for provider, path in AUTHORIZE_PATHS.items():  # the fakes' consent pages (connect flow)
        if provider in handles:
            env[f"PUSHWIRE_{provider.upper()}_AUTHORIZE_URL"] = handles[provider].url + path
    return env


AUTHORIZE_PATHS = {
    "twitter": "/i/oauth2/authorize",
    "facebook": "/v21.0/dialog/oauth",
    "linkedin": "/oauth/v2/authorization",
    "pinterest": "/oauth/",
    "youtube": "/o/oauth2/v2/auth",
}
