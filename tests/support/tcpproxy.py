"""A TCP proxy a test can cut: the server behind it looks stopped to its clients
(connections reset, new ones refused) while it keeps its data, as a real S3
outage would.

    proxy = TcpProxy("127.0.0.1", 9000).start()
    url = proxy.url             # point the client here
    proxy.stop()                # every connection dropped, new ones refused
    proxy.start()               # the same port again
"""

from __future__ import annotations

import socket
import threading

from tests.support.stack import free_port


class TcpProxy:
    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.forwarded = 0  # bytes passed in either direction
        self.cut = threading.Event()  # set when a cut_after() limit stopped the proxy
        self._cut_at: int | None = None

    def start(self) -> "TcpProxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut_after(self, nbytes: int) -> None:
        """Stop the proxy (as ``stop``) once ``nbytes`` more bytes have gone through."""
        self.cut.clear()
        self._cut_at = self.forwarded + nbytes

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, set()
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it, releasing the port
            except OSError:
                pass
            listener.close()
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for sock in (client, server):  # little buffered on the way: a cut cuts what is in flight
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 128 * 1024)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._conns |= {client, server}
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                self.forwarded += len(data)
                if self._cut_at is not None and self.forwarded >= self._cut_at:
                    self._cut_at = None
                    self.stop()
                    self.cut.set()
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            src.close()
