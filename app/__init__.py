"""Pushwire's Flask gateway.

``create_app(settings)`` builds the WSGI app; ``gunicorn 'app:create_app()'``
serves it with settings read from the environment.
"""

from __future__ import annotations

import logging

from flask import Flask

from app.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """The gateway: push, status and identity resources, all in OneAll envelopes."""
    from app.api.errors import register_error_handlers
    from app.identities.views import bp as identities_bp
    from app.push.views import bp as push_bp
    from app.runtime import Runtime
    from app.status.views import bp as status_bp

    settings = settings or Settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions["pushwire"] = Runtime(settings)
    register_error_handlers(app)
    app.register_blueprint(push_bp)
    app.register_blueprint(status_bp)
    app.register_blueprint(identities_bp)
    logging.getLogger("pushwire").setLevel(logging.INFO)
    return app
