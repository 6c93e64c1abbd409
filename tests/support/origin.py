"""A local HTTP origin serving generated sample videos, and a callback receiver."""

from __future__ import annotations

import json
import threading

from werkzeug.wrappers import Request, Response

from sandbox.common import serve
from sandbox.samples import padded_video

MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41\x00\x00\x00\x08free"


def make_video(size: int, seed: int = 0) -> bytes:
    """A real MP4 that fits every network (sandbox.samples), padded to ``size``
    bytes with a ``free`` box of pseudo-random filler (at least the clip itself)."""
    return padded_video(size, seed)


class Origin:
    """Serves registered files at /<name>; special names for fault cases."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.fake_lengths: dict[str, int] = {}
        self.unsized: set[str] = set()  # served without a Content-Length (until the connection closes)
        self.status: dict[str, int] = {}
        self.handle = serve(self.app)
        self.url = self.handle.url

    def add(self, name: str, data: bytes) -> str:
        self._forget(name)
        self.files[name] = data
        return f"{self.url}/{name}"

    def add_unsized(self, name: str, data: bytes) -> str:
        """A file served without a Content-Length: its size is known only as it streams."""
        self._forget(name)
        self.files[name] = data
        self.unsized.add(name)
        return f"{self.url}/{name}"

    def add_declared(self, name: str, declared_length: int) -> str:
        """A file whose Content-Length announces more bytes than it will send."""
        self._forget(name)
        self.fake_lengths[name] = declared_length
        return f"{self.url}/{name}"

    def add_status(self, name: str, status: int) -> str:
        self._forget(name)
        self.status[name] = status
        return f"{self.url}/{name}"

    def _forget(self, name: str) -> None:
        """A name registered again serves only what it was registered with last (the
        origin is shared by a whole session: another test may have used the name)."""
        self.files.pop(name, None)
        self.fake_lengths.pop(name, None)
        self.unsized.discard(name)
        self.status.pop(name, None)

    def app(self, environ, start_response):
        name = Request(environ).path.lstrip("/")
        if name in self.status:
            return Response("nope", status=self.status[name])(environ, start_response)
        if name in self.fake_lengths:
            resp = Response(iter([MP4_HEAD]), headers={"Content-Length": str(self.fake_lengths[name])})
            return resp(environ, start_response)
        if name not in self.files:
            return Response("not found", status=404)(environ, start_response)
        data = self.files[name]
        chunks = (data[i:i + 65536] for i in range(0, len(data), 65536))
        headers = {} if name in self.unsized else {"Content-Length": str(len(data))}
        resp = Response(chunks, headers=headers, content_type="video/mp4")
        return resp(environ, start_response)

    def stop(self):
        self.handle.stop()


class CallbackReceiver:
    """Records POSTed callbacks; ``fail_next`` answers 500 that many times first."""

    def __init__(self):
        self.received: list[dict] = []
        self.fail_next = 0
        self.lock = threading.Condition()
        self.handle = serve(self.app)
        self.url = self.handle.url + "/hook"

    def app(self, environ, start_response):
        req = Request(environ)
        body = req.get_data()
        with self.lock:
            failing = self.fail_next > 0
            if failing:
                self.fail_next -= 1
            self.received.append({"headers": dict(req.headers), "body": body, "status": 500 if failing else 204})
            self.lock.notify_all()
        return Response(status=500 if failing else 204)(environ, start_response)

    def wait_for(self, predicate, timeout: float = 60.0) -> list[dict]:
        """Block until ``predicate(received)`` is true; return the list."""
        with self.lock:
            if not self.lock.wait_for(lambda: predicate(self.received), timeout):
                raise AssertionError(f"callbacks not received in {timeout}s: {self.received}")
            return list(self.received)

    def delivered_for(self, token: str) -> list[dict]:
        return [c for c in self.received if c["status"] == 204 and token.encode() in c["body"]]

    def stop(self):
        self.handle.stop()


def decode(callback: dict) -> dict:
    return json.loads(callback["body"])


