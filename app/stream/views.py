"""``GET|POST /stream/api/``: a long-lived stream of a site's events.

Example::

    GET /stream/api/?token=<stream_key>&events=upload|delete&format=json&since=41
    -> 200, Content-Type: application/json, then, as they happen:
    {"id":42,"video":{"guid":"1850...","source":"My site",...,"user":{...}}}\\r\\n
    \\r\\n                                   (keep-alive when idle)
    {"id":43,"delete":{"guid":"1850...","username":"alice"}}\\r\\n

The key may instead come in a header (``Authorization: Bearer <stream_key>`` or
``X-Stream-Key``), which keeps it out of access logs. Errors come as one element
in the requested format, e.g. 401 with
``{"rsp": {"status": "fail", "err": {"code": 1001, "msg": "Invalid or expired token"}}}``.
Each stream holds one server thread while open (see README "Streams"); a write
the consumer does not accept within PUSHWIRE_STREAM_SEND_TIMEOUT drops it, and
PUSHWIRE_STREAM_MAX_PER_KEY / _PER_IP cap the open streams (error 1008).
"""

from __future__ import annotations

import logging
import math
import select as _select
import socket
import threading
import time
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError
from sqlalchemy import select

from app.crypto import hash_stream_key
from app.models import Site
from app.stream.hub import REPLACED, Connection, Hub
from app.stream.render import FORMATS, KEEPALIVE, content_type, error_line, error_status
from app.stream.replay import replay
from app.stream.services import StreamServices

if TYPE_CHECKING:
    from app.runtime import Runtime

bp = Blueprint("stream", __name__)
log = logging.getLogger(__name__)

EVENT_KINDS = frozenset({"upload", "delete", "comment"})
IDLE_CHECK = 1.0  # seconds between checks that an idle stream's client is still there
GONE = "client_gone"
UNAVAILABLE_RETRY_AFTER = 5  # seconds, on error 1010 (Redis down)


@bp.route("/stream/api/", methods=["GET", "POST"])
def stream_api():
    """Open a stream: parameters ``token``, ``events``, ``format``, ``since``."""
    rt = current_app.extensions["pushwire"]
    params = request.values
    fmt = params.get("format") or "json"
    render_fmt = fmt if fmt in FORMATS else "json"
    if not rt.settings.stream_enabled:
        return _error(1009, render_fmt)
    services = rt.stream
    ip = _client_ip(rt.settings)
    banned = services.limiter.attempt(ip)
    if banned is not None:
        return _error(1006, render_fmt, {"Retry-After": str(max(1, math.ceil(banned)))})
    if fmt not in FORMATS:
        return _error(1004, render_fmt)
    token = params.get("token") or _header_token()
    if not token:
        return _error(1002, fmt)
    kinds = parse_events(params.get("events"))
    if kinds is None:
        return _error(1003, fmt)
    since = parse_since(params.get("since"))
    if since is False:
        return _error(1007, fmt)
    with rt.db.session() as session:
        site_id = session.scalar(select(Site.id).where(Site.stream_key == hash_stream_key(token)))
    if site_id is None:
        return _error(1001, fmt)
    if not services.open.acquire(site_id, ip):
        return _error(1008, fmt)
    try:
        conn = services.hub.connect(site_id, kinds)
    except RedisError as exc:  # PUSHWIRE_REDIS_URL's Redis is down: no live events to give
        services.open.release(site_id, ip)
        log.warning("stream refused: Redis unavailable (%s)", exc)
        return _error(1010, fmt, {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)})
    body = stream_lines(services.hub, conn, fmt, since, rt, request.environ.get("gunicorn.socket"))
    resp = Response(body, status=200, headers={
        "Content-Type": content_type(fmt), "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
    })
    resp.call_on_close(_closer(services, conn, site_id, ip))
    return resp


def _closer(services: StreamServices, conn: Connection, site_id: int, ip: str):
    """Runs when the server closes the response, started or not: frees the slot."""
    done = threading.Lock()

    def close() -> None:
        if done.acquire(blocking=False):
            # The stream is over (its last bytes, if any, are written before the server
            # closes the body). Shut the socket now: a consumer that stopped reading
            # would otherwise hold the server's graceful close (gunicorn lingers up to
            # 2 s on its main thread waiting for the peer).
            conn.shutdown()
            conn.ended.set()
            services.hub.disconnect(conn)
            services.open.release(site_id, ip)

    return close


def _header_token() -> str | None:
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Stream-Key") or None


def stream_lines(hub: Hub, conn: Connection, fmt: str, since: int | None, rt: Runtime, sock=None):
    """The response body: a first keep-alive (so headers go out now), the replay,
    then live events until the client leaves or a newer connection replaces it.
    ``sock`` (gunicorn's client socket, when there is one) lets an idle stream
    notice a departed client within a second instead of at its next keep-alive."""
    settings = rt.settings
    if sock is not None:
        # Each write must be accepted within the send timeout (sendall's total, not
        # per send): a consumer that stops reading frees its thread instead of pinning it.
        sock.settimeout(settings.stream_send_timeout)
        conn.sock = sock
    try:
        yield KEEPALIVE
        replayed: set[int] = set()
        if since is not None:
            for event in replay(rt.db, conn.site_id, conn.kinds, since, settings.stream_replay_limit):
                if conn.reason is not None:
                    break
                replayed.add(event.id)
                yield event.line(fmt)
        while conn.reason is None:
            event = _next_or_idle(conn, settings.stream_keepalive, sock)
            if conn.reason is not None:
                break
            if event is None:
                yield KEEPALIVE
            elif event.id not in replayed:  # subscribed before replaying: skip the overlap
                yield event.line(fmt)
        if conn.reason == REPLACED:
            yield error_line(REPLACED, fmt)
    finally:
        conn.ended.set()
        hub.disconnect(conn)


def _next_or_idle(conn: Connection, keepalive: float, sock):
    """The next event, or None when ``keepalive`` seconds passed (or the client left,
    which closes ``conn``)."""
    deadline = time.monotonic() + keepalive
    while True:
        left = deadline - time.monotonic()
        event = conn.next(min(left, IDLE_CHECK) if sock is not None else left)
        if event is not None or conn.reason is not None or left <= IDLE_CHECK:
            return event
        if _client_gone(sock):
            conn.close(GONE)
            return None


def _client_gone(sock) -> bool:
    # An idle stream only learns of a closed client when it writes; peeking at the
    # socket frees the thread (and the key's slot) within IDLE_CHECK seconds.
    # poll(), not select(): select() refuses descriptors >= 1024, which a process
    # holding a thousand streams has, and that closed live streams as "gone".
    try:
        poller = _select.poll()
        poller.register(sock, _select.POLLIN | _select.POLLHUP | _select.POLLERR)
        if not poller.poll(0):
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True


def parse_events(value: str | None) -> frozenset[str] | None:
    """``upload|comment`` -> {"upload", "comment"}; empty means all; None if invalid."""
    if value is None or value == "":
        return EVENT_KINDS
    kinds = frozenset(part.strip() for part in value.split("|"))
    return kinds if kinds and kinds <= EVENT_KINDS else None


def parse_since(value: str | None) -> int | None | bool:
    """An event id, None when absent, False when not a whole number."""
    if value is None or value == "":
        return None
    try:
        since = int(value)
    except ValueError:
        return False
    return since if since >= 0 else False


def _error(code: int, fmt: str, headers: dict | None = None) -> Response:
    return Response(error_line(code, fmt), status=error_status(code),
                    headers={"Content-Type": content_type(fmt), "Cache-Control": "no-cache", **(headers or {})})


def _client_ip(settings) -> str:
    if settings.stream_trust_forwarded:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]  # the address our own proxy saw; earlier hops are client-supplied
    return request.remote_addr or "unknown"
