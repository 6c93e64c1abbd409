"""YouTube's error shapes: the Data API's ``{"error": {...}}`` and Google OAuth's.

``YouTubeError(code, reason, message)`` is raised by the fake's rules and rendered
by ``.response()`` exactly as Google renders API errors (reference §5.5)::

    {"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED",
               "errors": [{"message": "...", "domain": "youtube.quota", "reason": "quotaExceeded"}]}}
"""

from __future__ import annotations

from flask import Response, jsonify

STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 410: "NOT_FOUND", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

#: Domains Google puts on the well-known reasons; anything else is "youtube.<x>".
DOMAINS = {
    "quotaExceeded": "youtube.quota",
    "rateLimitExceeded": "usageLimits",
    "userRateLimitExceeded": "usageLimits",
    "dailyLimitExceeded": "usageLimits",
    "accessNotConfigured": "usageLimits",
    "authError": "global",
    "insufficientPermissions": "global",
    "backendError": "global",
    "badRequest": "global",
    "parseError": "global",
    "required": "global",
    "invalidParameter": "global",
}


class YouTubeError(Exception):
    """An API error answer; ``headers`` are added to the response (e.g. Retry-After)."""

    def __init__(self, code: int, reason: str, message: str, *, domain: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.domain = domain or DOMAINS.get(reason, "youtube.api")
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {
            "code": self.code,
            "message": self.message,
            "errors": [{"message": self.message, "domain": self.domain, "reason": self.reason}],
            "status": STATUS_NAMES.get(self.code, "UNKNOWN"),
        }}

    def response(self) -> Response:
        resp = jsonify(self.body())
        resp.status_code = self.code
        resp.headers.update(self.headers)
        return resp


def bad_request(reason: str, message: str) -> YouTubeError:
    return YouTubeError(400, reason, message)


def auth_error() -> YouTubeError:
    resp = YouTubeError(401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 "
                        "access token, login cookie or other valid authentication credential.")
    resp.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    return resp


def insufficient_scope() -> YouTubeError:
    return YouTubeError(403, "insufficientPermissions", "Request had insufficient authentication scopes.")


def quota_exceeded() -> YouTubeError:
    return YouTubeError(403, "quotaExceeded", "The request cannot be completed because you have exceeded "
                        'your <a href="/youtube/v3/getting-started#quota">quota</a>.')


def rate_limited(reason: str = "rateLimitExceeded", code: int = 403, retry_after: float | None = None) -> YouTubeError:
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else None
    message = "The request cannot be completed because you have exceeded your rate limit."
    return YouTubeError(code, reason, message, headers=headers)


def upload_limit() -> YouTubeError:
    return YouTubeError(400, "uploadLimitExceeded", "The user has exceeded the number of videos they may upload.")


def forbidden(message: str = "The request is not properly authorized.") -> YouTubeError:
    return YouTubeError(403, "forbidden", message)


def not_found(reason: str, message: str) -> YouTubeError:
    return YouTubeError(404, reason, message)


def server_error(code: int) -> YouTubeError:
    return YouTubeError(code, "backendError", "Backend Error")


def oauth_error(code: int, error: str, description: str) -> Response:
    """Google's token endpoint answers errors as plain OAuth JSON."""
    resp = jsonify({"error": error, "error_description": description})
    resp.status_code = code
    return resp
