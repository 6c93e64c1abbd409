"""Shared pieces of Pushwire's provider fakes (X, Facebook, LinkedIn, ...).

Public surface:

* ``serve(wsgi_app, host="127.0.0.1", port=0) -> ServerHandle``: run any WSGI app on
  a real port in a daemon thread; ``handle.url``, ``handle.port``, ``handle.stop()``.
* ``Faults`` / ``Fault``: per-endpoint queue of injected faults, thread-safe.
* ``CallLog``: every API request as ``(method, path, status)``; status 0 = reset.
* ``SandboxState``: base class of a fake's state (lock, faults, calls, clock).
* ``apply_fault(fault, work, refuse)``: run one view under a fault.
* ``reset_connection()``: abort the current TCP connection with an RST.
* ``DigestSink`` / ``DigestingRequest``: multipart file parts are hashed and counted
  while they stream in, instead of being spooled to disk.
* ``install_sandbox(app, state)``: call logging plus the ``/_sandbox/`` control
  endpoints every fake has (faults, calls, reset, clock, health).
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from flask import Blueprint, Flask, Request, Response, current_app, g, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

MiB = 1024 * 1024

#: Fault kinds every fake understands. A fake may add its own (``extra_fault_kinds``).
COMMON_FAULT_KINDS = frozenset(
    {"429", "500", "502", "503", "504", "reset", "reset_after_commit", "slow", "expired_token"}
)
SERVER_ERROR_KINDS = frozenset({"500", "502", "503", "504"})


# --------------------------------------------------------------------------- server


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print one access-log line per request."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass


@dataclass
class ServerHandle:
    """A fake running in a background thread. Call ``stop()`` when done."""

    server: Any
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.port)

    @property
    def url(self) -> str:
        host = self.server.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop accepting connections and wait for the serving thread to end."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(wsgi_app: Callable, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
    """Serve ``wsgi_app`` with a threaded werkzeug server; port 0 picks a free port.

    >>> handle = serve(create_app()); requests.get(handle.url + "/_sandbox/health")
    """
    server = make_server(host, port, wsgi_app, threaded=True, request_handler=_QuietHandler)
    # A short poll interval, so stop() returns quickly.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return ServerHandle(server, thread)


def reset_connection(environ: dict | None = None) -> Response:
    """Abort the client's TCP connection with an RST; return a response nobody reads.

    Why dup2 and not ``sock.close()``: werkzeug's ``rfile`` keeps the socket's fd open,
    so close() would not close it. dup2 swaps a dead socketpair end onto the same fd
    number: the kernel drops the TCP socket (SO_LINGER 0 turns that into an RST) and
    werkzeug's later writes fail with EPIPE, which it treats as a dropped client,
    while the fd number cannot be reused by another thread's connection. POSIX only.
    """
    environ = environ if environ is not None else request.environ
    # Log first: once the RST is out, a test may read the log before after_request ran.
    _record_call(0)
    sock = environ["werkzeug.socket"]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    dead, peer = socket.socketpair()
    os.dup2(dead.fileno(), sock.fileno())
    dead.close()
    peer.close()
    return Response(b"", status=500)


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """One injected fault: ``kind`` plus its ``params`` (e.g. ``delay``, ``retry_after``)."""

    endpoint: str
    kind: str
    params: dict = field(default_factory=dict)

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def as_dict(self) -> dict:
        return {"endpoint": self.endpoint, "kind": self.kind, **self.params}


class Faults:
    """Thread-safe FIFO of faults per endpoint name; ``"*"`` matches any endpoint.

    ``faults.add("append", "reset", count=2)`` queues two resets; each ``take("append")``
    consumes one (exact-endpoint faults before ``"*"`` ones) or returns None.
    Params: ``retry_after`` (429), ``delay`` (slow, seconds), ``after_commit`` (5xx:
    do the work, then answer the error).
    """

    def __init__(self, endpoints: Iterable[str] | None = None, extra_kinds: Iterable[str] = ()):
        self.endpoints = frozenset(endpoints) if endpoints is not None else None
        self.kinds = COMMON_FAULT_KINDS | frozenset(extra_kinds)
        self._queue: list[list] = []  # [Fault, remaining count]
        self._lock = threading.Lock()

    def add(self, endpoint: str, kind: str, count: int = 1, **params: Any) -> Fault:
        """Queue ``count`` faults of ``kind`` for ``endpoint``; ValueError if invalid."""
        kind = str(kind)
        if kind not in self.kinds:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(self.kinds)}")
        if endpoint != "*" and self.endpoints is not None and endpoint not in self.endpoints:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {sorted(self.endpoints)}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be an integer >= 1")
        for name in ("delay", "retry_after", "reset_in"):
            value = params.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"{name} must be a number >= 0")
        fault = Fault(endpoint, kind, dict(params))
        with self._lock:
            self._queue.append([fault, count])
        return fault

    def take(self, endpoint: str) -> Fault | None:
        """Consume and return the next fault for ``endpoint``, or None."""
        with self._lock:
            for wanted in (endpoint, "*"):
                for entry in self._queue:
                    if entry[0].endpoint == wanted:
                        entry[1] -= 1
                        if entry[1] == 0:
                            self._queue.remove(entry)
                        return entry[0]
        return None

    def pending(self) -> list[dict]:
        """Faults not yet taken, as dicts with a ``remaining`` count."""
        with self._lock:
            return [{**f.as_dict(), "remaining": n} for f, n in self._queue]

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


def apply_fault(fault: Fault | None, work: Callable[[], Response], refuse: Callable[[Fault], Response]) -> Response:
    """Run ``work()`` (the real view; must return a Response, never raise for API
    errors) under ``fault``. ``refuse(fault)`` renders the provider-shaped answer for
    kinds that replace the answer (429, 5xx, expired_token, provider extras).
    """
    if fault is None:
        return work()
    g.sandbox_fault = fault.kind
    if fault.kind == "slow":
        time.sleep(float(fault.param("delay", 1.0)))
        return work()
    if fault.kind == "reset":
        return reset_connection()
    if fault.kind == "reset_after_commit":
        work()
        return reset_connection()
    if fault.kind in SERVER_ERROR_KINDS and fault.param("after_commit"):
        work()  # the outcome-unknown case: stored, but the client sees a 5xx
    return refuse(fault)


# --------------------------------------------------------------------------- call log


class CallLog:
    """Every API request a fake answered, oldest first (control calls excluded)."""

    def __init__(self) -> None:
        self._records: list[dict] = []
        self._lock = threading.Lock()

    def record(self, method: str, path: str, status: int, endpoint: str | None = None, fault: str | None = None) -> None:
        entry = {"method": method, "path": path, "status": status, "endpoint": endpoint, "fault": fault}
        with self._lock:
            self._records.append(entry)

    def calls(self) -> list[tuple[str, str, int]]:
        """``[(method, path, status), ...]``; status 0 means the connection was reset."""
        with self._lock:
            return [(r["method"], r["path"], r["status"]) for r in self._records]

    def records(self) -> list[dict]:
        """Like ``calls()`` but dicts that also carry ``endpoint`` and ``fault``."""
        with self._lock:
            return [dict(r) for r in self._records]

    def count(self, **match: Any) -> int:
        """How many logged calls match every field given, e.g. ``count(endpoint="append")``."""
        return sum(all(r.get(k) == v for k, v in match.items()) for r in self.records())

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


# --------------------------------------------------------------------------- state


class SandboxState:
    """Base of a fake's state: ``lock``, ``faults``, ``calls`` and an overridable clock.

    Subclasses set ``provider``, ``fault_endpoints`` and ``extra_fault_kinds`` and
    extend ``reset()``. Tests may replace ``state.clock`` (e.g. ``lambda: 1e9``) or
    call ``state.advance(seconds)``; fakes read time only through ``state.now()``.
    """

    provider = "sandbox"
    fault_endpoints: frozenset[str] | None = None
    extra_fault_kinds: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock: Callable[[], float] = time.time
        self.clock_offset = 0.0
        self.faults = Faults(self.fault_endpoints, self.extra_fault_kinds)
        self.calls = CallLog()

    def now(self) -> float:
        return self.clock() + self.clock_offset

    def advance(self, seconds: float) -> float:
        """Move the fake's clock forward (tokens, media and rate windows age)."""
        with self.lock:
            self.clock_offset += float(seconds)
            return self.now()

    def reset(self) -> None:
        """Forget faults, calls and clock offset; subclasses also clear their data."""
        self.faults.clear()
        self.calls.clear()
        self.clock_offset = 0.0


# --------------------------------------------------------------------------- uploads


class DigestSink:
    """Write-only file stand-in: counts bytes, hashes them (sha256) and keeps at most
    ``keep`` bytes. ``data`` is the whole content, or None when it was longer than
    ``keep`` (then only ``size``, ``hexdigest`` and ``head`` are known). ``view()``
    reads the kept bytes without a copy.
    """

    def __init__(self, keep: int = 5 * MiB, head_size: int = 64):
        self.keep = keep
        self.size = 0
        self._sha = hashlib.sha256()
        self._buf = bytearray()
        self._overflow = False
        self.head = b""
        self._head_size = head_size

    def write(self, data: bytes) -> int:
        self.size += len(data)
        self._sha.update(data)
        if len(self.head) < self._head_size:
            self.head = (self.head + bytes(data[: self._head_size]))[: self._head_size]
        if not self._overflow:
            if len(self._buf) + len(data) > self.keep:
                self._overflow = True
                self._buf = bytearray()  # drop it: we only promised size and hash
            else:
                self._buf += data
        return len(data)

    @property
    def complete(self) -> bool:
        """True when every byte was kept (size <= keep)."""
        return not self._overflow

    def view(self) -> memoryview:
        """The kept bytes without copying them (empty when not ``complete``)."""
        return memoryview(self._buf)

    @property
    def data(self) -> bytes | None:
        """A copy of the kept bytes, or None when not ``complete``."""
        return None if self._overflow else bytes(self._buf)

    @property
    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    # The file API werkzeug's form parser and FileStorage touch; the bytes are consumed.
    def seek(self, *args: Any) -> int:
        return 0

    def read(self, *args: Any) -> bytes:
        return b""

    readline = read

    def close(self) -> None:
        pass

    @classmethod
    def of(cls, data: bytes, keep: int = 5 * MiB) -> "DigestSink":
        """A sink already filled with ``data`` (for base64 JSON bodies)."""
        sink = cls(keep=keep)
        sink.write(data)
        return sink


class DigestingRequest(Request):
    """Flask request whose multipart file parts land in a ``DigestSink`` (keeps
    ``sink_keep`` bytes) instead of werkzeug's spooled temporary file."""

    sink_keep = 5 * MiB

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return DigestSink(keep=self.sink_keep)


# --------------------------------------------------------------------------- control


def _json_body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _bad(message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), 400


control = Blueprint("sandbox", __name__, url_prefix="/_sandbox")


@control.route("/faults", methods=["GET", "POST", "DELETE"])
def faults():
    """POST ``{"endpoint": "append", "kind": "reset", "count": 1, ...params}`` -> 201;
    GET lists pending faults; DELETE drops them."""
    queue = current_app.extensions["fake"].faults
    if request.method == "DELETE":
        queue.clear()
    elif request.method == "POST":
        body = dict(_json_body())
        try:
            fault = queue.add(body.pop("endpoint", None), body.pop("kind", None), body.pop("count", 1), **body)
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return jsonify({"queued": fault.as_dict(), "pending": queue.pending()}), 201
    return jsonify({"pending": queue.pending()})


@control.route("/calls", methods=["GET", "DELETE"])
def calls():
    """GET ``{"calls": [{"method","path","status","endpoint","fault"}, ...]}``; DELETE clears."""
    log = current_app.extensions["fake"].calls
    if request.method == "DELETE":
        log.clear()
    return jsonify({"calls": log.records()})


@control.post("/reset")
def reset_state():
    """Clear all state of the fake (data, faults, calls, clock offset)."""
    current_app.extensions["fake"].reset()
    return jsonify({"reset": True})


@control.route("/clock", methods=["GET", "POST"])
def clock():
    """GET -> ``{"now"}``; POST ``{"advance": seconds}`` moves the clock forward."""
    state = current_app.extensions["fake"]
    if request.method == "POST":
        advance = _json_body().get("advance")
        if isinstance(advance, bool) or not isinstance(advance, (int, float)) or advance < 0:
            return _bad("advance must be a number of seconds >= 0")
        state.advance(advance)
    return jsonify({"now": state.now()})


@control.get("/health")
def health():
    return jsonify({"ok": True, "provider": current_app.extensions["fake"].provider})


def _record_call(status: int) -> None:
    """Log the current request once (API paths only); status 0 = connection reset."""
    if request.path.startswith("/_sandbox/") or g.get("sandbox_logged"):
        return
    g.sandbox_logged = True
    current_app.extensions["fake"].calls.record(
        request.method, request.path, status, g.get("sandbox_endpoint"), g.get("sandbox_fault")
    )


def _log_call(response: Response) -> Response:
    _record_call(response.status_code)
    return response


def install_sandbox(app: Flask, state: SandboxState) -> None:
    """Attach ``state`` as ``app.extensions["fake"]``, log calls, mount ``/_sandbox/``."""
    app.extensions["fake"] = state
    app.request_class = DigestingRequest
    app.after_request(_log_call)
    app.register_blueprint(control)
