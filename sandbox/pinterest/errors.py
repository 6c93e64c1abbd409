"""Pinterest-shaped error answers: ``{"code": <int>, "message": "..."}`` (reference §4.4),
and the S3-style XML errors of the fake media-upload bucket.

Numeric ``code`` values other than 29 (the 403 seen in practice) are unconfirmed; the
adapter keys on the HTTP status and keeps ``code``/``message`` only as details.
"""

from __future__ import annotations

import secrets
from xml.sax.saxutils import escape

from flask import Response, jsonify


class PinterestError(Exception):
    """An API error; ``response()`` renders it (``headers`` e.g. an opt-in Retry-After)."""

    def __init__(self, status: int, code: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def response(self) -> Response:
        resp = jsonify({"code": self.code, "message": self.message})
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


def invalid(message: str) -> PinterestError:
    return PinterestError(400, 1, message)


def unauthorized() -> PinterestError:
    return PinterestError(401, 2, "Authentication failed.")


def forbidden(message: str = "You are not permitted to access that resource.") -> PinterestError:
    return PinterestError(403, 29, message)


def trial_in_production() -> PinterestError:
    """What an app with Trial access gets when it creates a Pin on the production host."""
    return PinterestError(403, 29, "Apps with Trial access may not create Pins in production "
                                   "https://api.pinterest.com - use API Sandbox https://api-sandbox.pinterest.com instead.")


def not_found(what: str) -> PinterestError:
    return PinterestError(404, 3, f"{what} not found.")


def rate_limited(message: str = "You have exceeded your rate limit. Try again later.",
                 retry_after: float | None = None) -> PinterestError:
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
    return PinterestError(429, 8, message, headers)


def server_error(status: int) -> PinterestError:
    return PinterestError(status, 0, "Something went wrong on our end. Sorry about that.")


def s3_error(status: int, code: str, message: str) -> Response:
    """An S3 POST-object error body as the real bucket sends it."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId><HostId>{secrets.token_urlsafe(24)}</HostId></Error>"
    )
    return Response(body, status=status, content_type="application/xml")
