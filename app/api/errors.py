"""API exceptions: raise one anywhere in a view and the client gets the error envelope."""

from __future__ import annotations

import re

from flask import Flask, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app.api.envelope import error
from app.db import RETRY_AFTER_SECONDS, during_commit, unavailable


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


_JSON_NUL = re.compile(rb"(?<!\\)\\u0000")


def refuse_nul_bytes() -> None:
    """400 for NUL characters anywhere in the request: no database text column can store them."""
    raw_query = request.query_string
    if "\x00" in request.path or b"%00" in raw_query or b"\x00" in raw_query:
        raise ApiError(400, "The URL contains a NUL character, which no field accepts.", "invalid_character")
    if request.content_length and request.content_length <= (current_app.config["MAX_CONTENT_LENGTH"] or 0):
        body = request.get_data(cache=True)
        if b"\x00" in body or _JSON_NUL.search(body):
            raise ApiError(400, "The body contains a NUL character (\\u0000), which no field accepts.",
                           "invalid_character")


def register_error_handlers(app: Flask) -> None:
    """Every error leaves the gateway as an envelope, never as an HTML page."""
    app.before_request(refuse_nul_bytes)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error(exc.code, exc.info, exc.reason, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        reason, info = _HTTP_REASONS.get(exc.code or 500, ("http_error", exc.description or "Error"))
        if exc.code == 413:
            info = f"The request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes."
        return error(exc.code or 500, info, reason)

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError):
        if not unavailable(exc):
            return _unexpected(exc)
        return database_unavailable(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error(500, "An internal error occurred; it has been logged. Please retry later.", "internal_error")


def database_unavailable(exc: BaseException):
    """503 while the database is down or restarting (a passing outage, not a bug).

    A write whose COMMIT was cut off may have been applied: that answer says so and
    asks the client to look before repeating it. Otherwise nothing was stored.
    """
    current_app.logger.warning("database unavailable: %s", str(exc).splitlines()[0][:200])
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if during_commit(exc) and request.method not in ("GET", "HEAD"):
        return error(503, "Pushwire's database stopped answering while saving this request; it may have been "
                     "applied. Check its result (e.g. GET /push/requests.json) before sending it again.",
                     "outcome_unknown", headers)
    return error(503, f"Pushwire's database is unavailable for a moment; nothing was changed. Retry in "
                 f"{RETRY_AFTER_SECONDS} seconds.", "temporarily_unavailable", headers)
