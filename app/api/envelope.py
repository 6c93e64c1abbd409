"""The OneAll ``{"response": {"request": ..., "result": ...}}`` envelopes."""

from __future__ import annotations

import email.utils
import json
import time

from flask import Response, current_app, request

SUCCESS_INFO = "Your request has been processed successfully"


_date_cache: tuple[int, str] = (0, "")


def rfc2822_now() -> str:
    """The envelope's ``date``: RFC 2822 with the server's UTC offset (formatted
    once per second: it has a resolution of seconds anyway)."""
    global _date_cache
    second = int(time.time())
    cached = _date_cache
    if cached[0] != second:
        cached = _date_cache = (second, email.utils.formatdate(second, localtime=True))
    return cached[1]


def _json(body: dict, code: int) -> Response:
    """``jsonify`` without its per-call provider lookups: the same compact, key-sorted
    JSON and the app's fallback for dates, UUIDs and dataclasses."""
    text = json.dumps(body, default=current_app.json.default, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)
    return Response(text + "\n", status=code, mimetype="application/json")


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
    resp = _json(body, code)
    return resp


def error(code: int, info: str, reason: str, headers: dict | None = None) -> Response:
    """An error envelope: flag error, the HTTP code, a sentence, a machine reason; no result."""
    body = {"response": {"request": request_node(code, "error", info, reason=reason)}}
    resp = _json(body, code)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp
