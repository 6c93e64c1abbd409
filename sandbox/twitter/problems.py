"""X API v2 error bodies (problem JSON, reference §1.5) and OAuth token errors.

Views raise ``XProblem``; the API layer turns it into a response with
``problem.response()``. Builders: ``invalid_request``, ``unauthorized``, ``forbidden``,
``unsupported_authentication``, ``not_found``, ``too_many_requests``, ``usage_capped``,
``server_error``; ``oauth_error`` for ``/2/oauth2/token``.
"""

from __future__ import annotations

from flask import Response, jsonify

PROBLEMS = "https://api.twitter.com/2/problems/"

SERVER_ERROR_TITLES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class XProblem(Exception):
    """An X error answer: HTTP ``status`` plus a JSON ``body``."""

    def __init__(self, status: int, body: dict, headers: dict | None = None):
        super().__init__(body.get("detail") or body.get("error_description") or str(body))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> Response:
        resp = jsonify(self.body)
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


def _problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra) -> XProblem:
    return XProblem(status, {"title": title, "detail": detail, "type": type_, "status": status, **extra})


def invalid_request(message: str, **parameters) -> XProblem:
    """400 invalid-request naming the offending ``parameters`` (name -> value)."""
    params = {name: [str(value)] for name, value in parameters.items()}
    return _problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        PROBLEMS + "invalid-request",
        errors=[{"parameters": params, "message": message}],
    )


def unauthorized() -> XProblem:
    """401 as X sends it for a missing, unknown, expired or revoked token."""
    return _problem(401, "Unauthorized", "Unauthorized")


def forbidden(detail: str) -> XProblem:
    return _problem(403, "Forbidden", detail)


def unsupported_authentication() -> XProblem:
    """403 for an app-only Bearer token on a user-context endpoint."""
    return _problem(
        403,
        "Unsupported Authentication",
        "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
        "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        PROBLEMS + "unsupported-authentication",
    )


def not_found(resource_type: str, parameter: str, value: str) -> XProblem:
    """404 resource-not-found, with X's ``errors[]`` entry for the missing resource."""
    detail = f"Could not find {resource_type} with {parameter}: [{value}]."
    entry = {
        "value": value,
        "detail": detail,
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }
    return _problem(404, "Not Found Error", detail, PROBLEMS + "resource-not-found", errors=[entry])


def too_many_requests(headers: dict | None = None) -> XProblem:
    p = _problem(429, "Too Many Requests", "Too Many Requests")
    p.headers.update(headers or {})
    return p


def usage_capped(headers: dict | None = None) -> XProblem:
    """429 for an exhausted plan cap: waiting for the rate window does not help."""
    p = _problem(
        429,
        "UsageCapExceeded",
        "Usage cap exceeded: Monthly product cap",
        PROBLEMS + "usage-capped",
        period="Monthly",
        scope="Product",
    )
    p.headers.update(headers or {})
    return p


def server_error(status: int) -> XProblem:
    title = SERVER_ERROR_TITLES.get(status, "Internal Server Error")
    return _problem(status, title, title)


def route_not_found() -> XProblem:
    """X's answer for a path it does not serve (v1.1 shape, as X still sends it)."""
    return XProblem(404, {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]})


def oauth_error(status: int, error: str, description: str) -> XProblem:
    """``/2/oauth2/token`` errors use the OAuth shape, not problem JSON."""
    return XProblem(status, {"error": error, "error_description": description})


def invalid_token() -> XProblem:
    """A refresh token that is unknown, already spent or revoked."""
    return oauth_error(400, "invalid_request", "Value passed for the token was invalid.")
