"""Pushwire's Flask gateway.

``create_app(settings)`` builds the WSGI app; ``gunicorn 'app:create_app()'``
serves it with settings read from the environment.
"""

from __future__ import annotations

import logging

from flask import Flask

from app.api.jsonbody import BoundedJSONProvider
from app.config import Settings


class Gateway(Flask):
    """Flask with a JSON decoder that refuses absurdly nested bodies."""

    json_provider_class = BoundedJSONProvider


#: Every resource module, each exposing a Blueprint ``bp``.
BLUEPRINTS = (
    "app.push.views",
    "app.status.views",
    "app.identities.views",
    "app.stream.views",
    "app.ops.views",
    "app.docs.views",
    "app.dashboard.views",
    "app.connect.views",
)


def create_app(settings: Settings | None = None) -> Flask:
    """The gateway: push, status and identity resources, all in OneAll envelopes."""
    import importlib

    from app.api.errors import register_error_handlers
    from app.runtime import Runtime

    settings = settings or Settings()
    app = Gateway(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions["pushwire"] = Runtime(settings)
    if settings.trusted_proxies > 0:  # scheme, host and client address as the proxy saw them
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    register_error_handlers(app)
    for module in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(module).bp)
    logging.getLogger("pushwire").setLevel(logging.INFO)
    from app.ops import install  # structured logs, request metrics

    install(app, settings)
    return app
