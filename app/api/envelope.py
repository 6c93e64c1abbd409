"""The OneAll ``{"response": {"request": ..., "result": ...}}`` envelopes."""

from __future__ import annotations

import email.utils

from flask import Response, jsonify, request

SUCCESS_INFO = "Your request has been processed successfully"


def rfc2822_now() -> str:
    """The envelope's ``date``: RFC 2822 with the server's UTC offset."""
    return email.utils.formatdate(localtime=True)


def request_node(code: int, flag: str, info: str, resource: str | None = None, reason: str | None = None) -> dict:
    status = {"flag": flag, "code": code, "info": info}
    if reason:
        status["reason"] = reason
    return {
        "date": rfc2822_now(),
        "resource": resource if resource is not None else request.path,
        "status": status,
    }


def success(data: dict, code: int = 200, info: str = SUCCESS_INFO) -> Response:
    """A success envelope with ``result.data``."""
    body = {"response": {"request": request_node(code, "success", info), "result": {"data": data}}}
    resp = jsonify(body)
    resp.status_code = code
    return resp


def error(code: int, info: str, reason: str, headers: dict | None = None) -> Response:
    """An error envelope: flag error, the HTTP code, a sentence, a machine reason; no result."""
    body = {"response": {"request": request_node(code, "error", info, reason=reason)}}
    resp = jsonify(body)
    resp.status_code = code
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp
