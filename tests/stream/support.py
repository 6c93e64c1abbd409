"""A stream consumer for tests: reads a real HTTP stream incrementally in a thread."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
import xml.etree.ElementTree as ET

import requests


class StreamReader:
    """Opens ``/stream/api/`` with ``requests`` (``stream=True``) and collects lines.

    ``lines`` holds raw lines without ``\\r\\n`` ("" for keep-alives); ``elements``
    the parsed non-empty ones (dicts for JSON, Elements for XML).
    """

    def __init__(self, base_url: str, ip: str, method: str = "GET", **params):
        self.fmt = params.get("format", "json")
        self.resp = requests.request(method, base_url + "/stream/api/", stream=True, timeout=(5, 30),
                                     headers={"X-Forwarded-For": ip},
                                     **({"params": params} if method == "GET" else {"data": params}))
        self.lines: list[str] = []
        self.raw = bytearray()
        self.done = threading.Event()
        self._new = queue.Queue()
        if self.resp.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            offset = 0
            for chunk in self.resp.iter_content(chunk_size=None):
                self.raw.extend(chunk)
                while (end := self.raw.find(b"\r\n", offset)) >= 0:
                    self.lines.append(self.raw[offset:end].decode())
                    offset = end + 2
                    self._new.put(None)
        except (requests.RequestException, AttributeError, ValueError):
            pass
        finally:
            self.done.set()
            self._new.put(None)

    @property
    def elements(self) -> list:
        out = []
        for line in list(self.lines):
            if line:
                out.append(ET.fromstring(line) if self.fmt == "xml" else json.loads(line))
        return out

    def wait_for(self, predicate, timeout: float = 10.0):
        """Wait until ``predicate(elements)`` is truthy; returns the elements."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            elements = self.elements
            if predicate(elements):
                return elements
            if self.done.is_set():
                break
            try:
                self._new.get(timeout=0.2)
            except queue.Empty:
                pass
        raise AssertionError(f"stream never matched; lines so far: {self.lines!r}")

    def wait_count(self, n: int, timeout: float = 10.0) -> list:
        return self.wait_for(lambda els: len(els) >= n, timeout)

    def close(self) -> None:
        # Shut the socket down first: the reading thread holds the response's buffer
        # while it waits in recv, so a bare close() would block until the next
        # keep-alive (30 s on a stack with the default) or the read timeout.
        conn = getattr(self.resp.raw, "connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.resp.close()


def ids(elements: list) -> list[int]:
    return [int(e["id"]) if isinstance(e, dict) else int(e.get("id")) for e in elements]


def video(guid: str, text: str = "hello", **extra) -> dict:
    """A ``video`` body as ``emit_upload`` stores it."""
    node = {"guid": guid, "source": "site", "event": None, "longitude": None, "latitude": None,
            "thumbnail": None, "size": "1.00", "created_at": "Fri Nov 27 14:01:05 +0000 2009",
            "text": text, "url": f"https://x.com/i/videos/{guid}",
            "user": {"name": "alice", "location": "Paris", "profile_image_url": None,
                     "profile_background_image_url": None, "description": None, "num_followers": 3}}
    node.update(extra)
    return {"video": node}


def events_of(rt, push_id: int, kind: str) -> list:
    """The stream events of one push and kind, oldest first, as stored."""
    from app.models import Event

    with rt.db.session() as session:
        return session.query(Event).filter_by(request_id=push_id, kind=kind).order_by(Event.id).all()
