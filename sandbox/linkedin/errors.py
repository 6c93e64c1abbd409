"""LinkedIn's error bodies (reference §3.5) and OAuth token errors.

Views raise ``LinkedInError``; ``error.response()`` renders
``{"status", "serviceErrorCode", "code", "message"}``. Builders below name the
cases the fake produces. ``serviceErrorCode`` values are unconfirmed (65600/65601
are seen in practice for token trouble).
"""

from __future__ import annotations

from flask import Response, jsonify


class LinkedInError(Exception):
    """One LinkedIn error answer: HTTP ``status`` plus a JSON body."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 service_code: int | None = None, headers: dict | None = None, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else {"status": status, "message": message}
        if body is None and code:
            self.body["code"] = code
        if body is None and service_code is not None:
            self.body["serviceErrorCode"] = service_code
        self.headers = dict(headers or {})

    def response(self) -> Response:
        resp = jsonify(self.body)
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


def bad_request(message: str, code: str = "BAD_REQUEST") -> LinkedInError:
    return LinkedInError(400, message, code=code, service_code=100)


def unprocessable(message: str, code: str = "UNPROCESSABLE_ENTITY") -> LinkedInError:
    return LinkedInError(422, message, code=code, service_code=100)


def version_missing() -> LinkedInError:
    return LinkedInError(400, "A version must be present. Please specify a version by adding the "
                         "LinkedIn-Version header.", code="VERSION_MISSING")


def restli_missing() -> LinkedInError:
    return LinkedInError(400, "X-Restli-Protocol-Version 2.0.0 header is required for this resource.",
                         code="RESTLI_PROTOCOL_VERSION_MISSING")


def version_sunset(version: str) -> LinkedInError:
    return LinkedInError(426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION")


def invalid_token() -> LinkedInError:
    return LinkedInError(401, "Invalid access token", code="INVALID_ACCESS_TOKEN", service_code=65600)


def expired_token() -> LinkedInError:
    return LinkedInError(401, "The token used in the request has expired", code="EXPIRED_ACCESS_TOKEN",
                         service_code=65601)


def forbidden(message: str) -> LinkedInError:
    return LinkedInError(403, message, code="ACCESS_DENIED", service_code=100)


def not_found(message: str = "Not Found") -> LinkedInError:
    return LinkedInError(404, message, code="NOT_FOUND", service_code=100)


def too_many(scope: str = "APPLICATION", headers: dict | None = None) -> LinkedInError:
    """429 for the daily limit (``scope`` APPLICATION or MEMBER), which resets at 00:00
    UTC: no rate-limit headers unless a test opts in."""
    return LinkedInError(429, f"Resource level throttle {scope} DAY limit for calls to this resource is reached.",
                         code="TOO_MANY_REQUESTS", service_code=101, headers=headers)


def throttled(headers: dict | None = None) -> LinkedInError:
    """429 of LinkedIn's infrastructure protection: not a daily limit, it clears
    within minutes (its rate-limit guide says service returns to normal by itself)."""
    return LinkedInError(429, "Too many requests; please slow down and retry later.", code="TOO_MANY_REQUESTS",
                         headers=headers)


def media_not_ready(urn: str, status: str) -> LinkedInError:
    """A post that uses an image LinkedIn has not finished processing."""
    return unprocessable(f"Media {urn} is not yet available (status {status}); it must be AVAILABLE before it is "
                         "used in a post", code="MEDIA_NOT_READY")


def duplicate(original: str) -> LinkedInError:
    return unprocessable(f"Content is a duplicate of {original}", code="DUPLICATE_POST")


def server_error(status: int) -> LinkedInError:
    names = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
    return LinkedInError(status, names.get(status, "Internal Server Error"))


def oauth_error(status: int, error: str, description: str) -> LinkedInError:
    """``/oauth/v2/accessToken`` errors use the OAuth shape."""
    return LinkedInError(status, description, body={"error": error, "error_description": description})


def invalid_grant() -> LinkedInError:
    return oauth_error(400, "invalid_request",
                       "The provided authorization grant or refresh token is invalid, expired or revoked")
