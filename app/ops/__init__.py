"""Operability: health checks, Prometheus metrics, structured logs.

``install(app, settings)`` (called once by ``create_app``) configures logging
and adds request hooks that time every request, count it by URL rule (never
by raw path, so tokens in paths do not explode label sets) and bind a log
context for the request. The routes themselves live in ``app.ops.views``.
"""

from __future__ import annotations

import time

from flask import Flask, g, request


def install(app: Flask, settings) -> None:
    """Configure logging and per-request metrics/log context on ``app``."""
    from app.logs import configure_logging

    configure_logging(settings)
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(_teardown)


def _endpoint_label() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def _before() -> None:
    from app.logs import bind

    g._ops_started = time.perf_counter()
    args = request.view_args or {}
    g._ops_log = bind(http=f"{request.method} {_endpoint_label()}",
                      request_token=args.get("token") or args.get("request_token"))


def _after(response):
    from app.ops.metrics import HTTP_LATENCY, HTTP_REQUESTS

    started = g.pop("_ops_started", None)
    endpoint = _endpoint_label()
    HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    if started is not None:
        HTTP_LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
    return response


def _teardown(_exc) -> None:
    from app.logs import unbind

    token = g.pop("_ops_log", None)
    if token is not None:
        unbind(token)
