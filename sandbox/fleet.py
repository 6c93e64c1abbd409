"""All five provider fakes together, and the PUSHWIRE_* settings that point at them.

Used by the tests (``tests/support/fakes.py``) and by ``make run`` (``sandbox.demo``).
"""

from __future__ import annotations

import importlib

from sandbox.common import serve

FAKE_MODULES = {
    "twitter": "sandbox.twitter",
    "facebook": "sandbox.facebook",
    "linkedin": "sandbox.linkedin",
    "pinterest": "sandbox.pinterest",
    "youtube": "sandbox.youtube",
}

#: Where each fake serves its consent page (the connect flow's authorize URL).
AUTHORIZE_PATHS = {
    "twitter": "/i/oauth2/authorize",
    "facebook": "/v27.0/dialog/oauth",
    "linkedin": "/oauth/v2/authorization",
    "pinterest": "/oauth/",
    "youtube": "/o/oauth2/v2/auth",
}


def start_fakes(only: list[str] | None = None, ports: dict[str, int] | None = None,
                kwargs: dict[str, dict] | None = None) -> dict:
    """Serve each fake on loopback; provider -> ServerHandle with ``.state`` (the fake's knobs)."""
    handles = {}
    for provider, module_name in FAKE_MODULES.items():
        if only and provider not in only:
            continue
        module = importlib.import_module(module_name)
        app = module.create_app(**(kwargs or {}).get(provider, {}))
        handle = serve(app, port=(ports or {}).get(provider, 0))
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
        env[f"PUSHWIRE_{upper}_AUTHORIZE_URL"] = handle.url + AUTHORIZE_PATHS[provider]
    if "facebook" in handles:
        env["PUSHWIRE_FACEBOOK_APP_ID"] = "sandbox-app"
    if "linkedin" in handles:
        env["PUSHWIRE_LINKEDIN_OAUTH_URL"] = handles["linkedin"].url
    if "youtube" in handles:
        env["PUSHWIRE_YOUTUBE_TOKEN_URL"] = handles["youtube"].url + "/token"
    return env
