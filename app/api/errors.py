"""API exceptions: raise one anywhere in a view and the client gets the error envelope."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from app.api.envelope import error


class ApiError(Exception):
    """An error answer. ``info`` tells a person what is wrong and how to fix it."""

    def __init__(self, code: int, info: str, reason: str, headers: dict | None = None):
        super().__init__(info)
        self.code, self.info, self.reason, self.headers = code, info, reason, headers


def bad_request(info: str, reason: str = "invalid_request") -> ApiError:
    return ApiError(400, info, reason)


def not_found(info: str, reason: str = "not_found") -> ApiError:
    return ApiError(404, info, reason)


_HTTP_REASONS = {
    400: ("invalid_request", "The request could not be understood."),
    404: ("unknown_resource", "There is no resource at this address. Check the path against the API docs."),
    405: ("method_not_allowed", "This resource does not accept that HTTP method."),
    413: ("request_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the body as JSON (Content-Type: application/json)."),
}


def register_error_handlers(app: Flask) -> None:
    """Every error leaves the gateway as an envelope, never as an HTML page."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error(exc.code, exc.info, exc.reason, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        reason, info = _HTTP_REASONS.get(exc.code or 500, ("http_error", exc.description or "Error"))
        if exc.code == 413:
            info = f"The request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes."
        return error(exc.code or 500, info, reason)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error(500, "An internal error occurred; it has been logged. Please retry later.", "internal_error")
