"""A hostile HTTP peer on a raw socket: it decides every byte and its timing.

Paths (the query picks figures):

* ``/huge?size=N``       200 with a Content-Length of N bytes, generated as sent (never held)
* ``/gzip?members=N``    200 ``Content-Encoding: gzip``: N gzip members of 1 MiB of zeros each
                         (about 1 KB on the wire, 1 MiB once decompressed)
* ``/drip?every=S``      200, Content-Length 100000, then one byte every S seconds
* ``/drip-headers?every=S``  the status line, then the headers one byte every S seconds
* ``/video-drip?every=S``    an MP4 signature, then one byte every S seconds
* ``/video-steady?bytes=B&every=S``  an MP4 signature, then B bytes every S seconds, forever
* ``/video?size=N``      a real MP4 (the sample clip, padded) of N bytes

``sent[path]`` counts body bytes written per path; ``requests`` keeps each
request's headers; ``closed[path]`` the monotonic time each connection ended.
"""

from __future__ import annotations

import gzip
import socket
import socketserver
import threading
import time
from urllib.parse import parse_qs, urlsplit

from sandbox.samples import padded_video
from tests.support.origin import MP4_HEAD

_ZEROS = bytes(1 << 16)
_MEMBER = gzip.compress(bytes(1 << 20))


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):  # noqa: C901 - one branch per attack
        peer: HostilePeer = self.server.peer
        sock: socket.socket = self.request
        sock.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(65536)
            if not data:
                return
            head += data
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        parts = urlsplit(target)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        peer.requests.append({"method": method, "path": path, "headers": headers, "at": time.monotonic()})
        every = float(query.get("every", 2))
        try:
            if path == "/huge":
                size = int(query["size"])
                sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
                left = size
                while left > 0:
                    n = sock.send(_ZEROS[:min(left, len(_ZEROS))])
                    left -= n
                    peer.count(path, n)
            elif path == "/gzip":
                members = int(query.get("members", 2000))
                sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                             f"Content-Length: {members * len(_MEMBER)}\r\n\r\n".encode())
                for _ in range(members):
                    sock.sendall(_MEMBER)
                    peer.count(path, len(_MEMBER))
            elif path == "/drip":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                self._drip(peer, path, sock, b"x" * 100000, every)
            elif path == "/drip-headers":
                sock.sendall(b"HTTP/1.1 200 OK\r\n")
                self._drip(peer, path, sock, b"X-Slow: " + b"y" * 5000 + b"\r\n\r\n", every)
            elif path == "/video-drip":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + MP4_HEAD)
                self._drip(peer, path, sock, bytes(10_000_000), every)
            elif path == "/video-steady":
                size = int(query.get("bytes", 4096))
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n" + MP4_HEAD)
                while not peer.stopping.is_set():
                    sock.sendall(bytes(size))
                    peer.count(path, size)
                    time.sleep(every)
            elif path == "/video":
                size = int(query.get("size", 200_000))
                body = padded_video(size)  # a playable file: the transcode stage probes it
                size = len(body)
                sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode() + body)
                peer.count(path, size)
            else:
                sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass  # the client hung up: what a bounded client does
        finally:
            peer.closed.setdefault(path, []).append(time.monotonic())

    @staticmethod
    def _drip(peer, path, sock, data: bytes, every: float) -> None:
        for i in range(len(data)):
            if peer.stopping.wait(every):
                return
            sock.sendall(data[i:i + 1])
            peer.count(path, 1)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class HostilePeer:
    def __init__(self):
        self.sent: dict[str, int] = {}
        self.requests: list[dict] = []
        self.closed: dict[str, list[float]] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.peer = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def count(self, path: str, n: int) -> None:
        with self._lock:
            self.sent[path] = self.sent.get(path, 0) + n

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
