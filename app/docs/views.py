"""``GET /openapi.json`` and ``GET /docs``: public, no authentication.

Example::

    GET /openapi.json  -> {"openapi": "3.1.0", "paths": {"/push/identities/{identity_token}/twitter/video.json": ...}}
    GET /docs          -> text/html, every endpoint with fields, a curl example and an example answer
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from app.docs.openapi import build_spec
from app.docs.page import sections

bp = Blueprint("docs", __name__, template_folder="templates")


def _spec() -> dict:
    # Built once per process: the URL map does not change after start-up.
    cache = current_app.extensions.setdefault("pushwire_docs", {})
    if "spec" not in cache:
        cache["spec"] = build_spec(current_app)
    return cache["spec"]


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of every endpoint the gateway serves."""
    resp = jsonify(_spec())
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.get("/docs")
def docs():
    """The API documentation as one server-rendered HTML page."""
    spec = _spec()
    return render_template("docs/index.html", spec=spec, sections=sections(spec, request.host_url))
